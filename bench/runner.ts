/**
 * Runs one scenario inside its time budget and turns whatever happened into a result: figures
 * when it finished, the reason (and the daemons' last words) when it failed or timed out. Its
 * processes are stopped and its folders removed either way.
 */
import { fmtSeconds, ScenarioContext } from './context.js';
import type { Outcome, Scenario } from './scenario.js';
import { BUSY_PCT, OtherLoad } from './interference.js';
import { round } from '../src/bench/stats.js';
import type { Options, ScenarioResult } from './types.js';

let current: ScenarioContext | null = null;

/** Stops the scenario running now (Ctrl-C): it fails with `reason` and cleans up. */
export function interruptCurrent(reason: string): void {
  current?.fail(new Error(reason));
}

export async function runScenario(s: Scenario, opts: Options): Promise<ScenarioResult> {
  const ctx = new ScenarioContext(s.id, opts);
  current = ctx;
  const out: Outcome = { params: {}, figures: {} };
  const started = performance.now();
  const budget = s.budgetMs(opts);
  const timer = setTimeout(() => ctx.fail(new Error(`the scenario's time budget of ${fmtSeconds(budget)} ran out`)), budget);
  ctx.progress(`started (budget ${fmtSeconds(budget)})`);
  const otherLoad = new OtherLoad();
  let reason: string | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason)));
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      s.run(ctx, out).then(resolve, reject);
    });
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err);
    const diag = await ctx.diagnostics();
    if (diag) reason += `; ${diag}`;
  } finally {
    out.figures.otherCpuPct = otherLoad.pct();
    clearTimeout(timer);
    ctx.fail(new Error('the scenario ended')); // whatever is still waiting stops now
    await ctx.cleanup();
    current = null;
  }
  const durationMs = round(performance.now() - started, 0);
  ctx.progress(reason ? `FAILED after ${fmtSeconds(durationMs)}: ${reason}` : `done in ${fmtSeconds(durationMs)}`);
  if ((out.figures.otherCpuPct ?? 0) > BUSY_PCT) ctx.progress(`other processes used ${out.figures.otherCpuPct}% of a core meanwhile: its figures are disturbed`);
  const result: ScenarioResult = {
    id: s.id,
    title: s.title,
    status: reason ? 'failed' : 'ok',
    reason,
    durationMs,
    params: out.params,
    figures: out.figures,
    summary: '',
    notes: ctx.notes,
  };
  if (out.samplesMs) result.samplesMs = out.samplesMs;
  if (out.latency) result.latency = out.latency;
  if (out.daemon) result.daemon = out.daemon;
  if (out.floor) result.floor = out.floor;
  result.summary = s.describe(result);
  // Quick runs use small sizes and counts: the targets do not apply to them.
  if (s.target && !opts.quick) result.target = s.target(result);
  return result;
}
