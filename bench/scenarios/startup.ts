/**
 * startup10k: every node lists N small files (identical everywhere). The clock starts when the
 * processes are spawned (all at once) and stops when every node's GET /api/1/state shows every
 * peer connected and every file aligned; peak RSS is each process's VmHWM at that point.
 */
import type { RunningNode } from '../../test/helpers/cluster.js';
import { BenchCluster, isAligned, state } from '../cluster.js';
import { until, type ScenarioContext } from '../context.js';
import { memory } from '../proc.js';
import { fmt, peakRss, meets, type Outcome, type Scenario } from '../scenario.js';
import { round } from '../../src/bench/stats.js';
import { fileNames } from './burst.js';

const POLL_MS = 100;

export const startup: Scenario = {
  id: 'startup10k',
  title: 'start-up with many monitored files',
  budgetMs: (o) => 60_000 + o.startupFiles * 15,
  async run(ctx: ScenarioContext, out: Outcome) {
    const n = ctx.opts.startupFiles;
    out.params = { files: n, nodes: ctx.opts.nodes, pollMs: POLL_MS };
    const names = fileNames(n);
    const cluster = await BenchCluster.define(ctx, { files: Object.fromEntries(names.map((f) => [f, `${f}: listen ${n}\n`])) });
    ctx.progress(`${n} files on each of ${ctx.opts.nodes} nodes; starting them`);

    const t0 = performance.now();
    cluster.spawnAll();
    const answered = new Map<RunningNode, number>();
    const aligned = new Map<RunningNode, number>();
    const peaks = () => {
      for (const r of cluster.running) {
        const m = memory(r.proc.pid!);
        if (m) out.figures[`peakRssMiB_${r.def.name}`] = round(m.peakMiB, 1);
      }
    };
    // Each node is polled until it is seen aligned (an aligned node stays so: nothing changes).
    await until(
      `every node to report all ${n} files aligned`,
      async () => {
        let failure: unknown = null;
        for (const r of cluster.running) {
          if (aligned.has(r)) continue;
          try {
            const s = await state(r, 20_000);
            const now = performance.now();
            if (!answered.has(r)) answered.set(r, now - t0);
            if (isAligned(s)) aligned.set(r, now - t0);
          } catch (err) {
            failure = err; // not answering yet; the other nodes are still polled
          }
        }
        peaks();
        if (failure && aligned.size < cluster.running.length) throw failure;
        return aligned.size === cluster.running.length;
      },
      { timeoutMs: 30_000 + n * 10, everyMs: POLL_MS, signal: ctx.signal },
    );
    peaks();
    for (const r of cluster.running) {
      out.figures[`apiMs_${r.def.name}`] = round(answered.get(r) ?? NaN, 0);
      out.figures[`alignedMs_${r.def.name}`] = round(aligned.get(r) ?? NaN, 0);
    }
    out.figures.alignedMs = round(Math.max(...aligned.values()), 0);
    out.figures.maxPeakRssMiB = Math.max(...cluster.running.map((r) => out.figures[`peakRssMiB_${r.def.name}`] ?? 0));
  },
  describe(r) {
    const f = r.figures;
    const rss = peakRss(f);
    return `${r.params.files} files: all aligned on every node ${fmt(f.alignedMs)} ms after spawn (state polled every ${r.params.pollMs} ms); peak RSS MiB: ${rss || '-'}`;
  },
  target(r) {
    const met = r.status === 'ok' ? meets([r.figures.alignedMs, (v) => v <= 2000], [r.figures.maxPeakRssMiB, (v) => v <= 200]) : false;
    return { text: 'aligned <= 2 s, peak RSS <= 200 MiB per node', met };
  },
};
