/**
 * --compare: the 1 KiB single-change measurement (the same code as entangled's) through other
 * tools, each variant in its own temp folders (A → B), started by the bench and stopped by its
 * processes' group ids, within the same time budget rules as a scenario. A tool that is not
 * installed (or cannot run here, its preflight says why) is reported missing, never measured by
 * anything else.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ScenarioContext } from './context.js';
import { measureChanges } from './measure.js';
import { CpuWindow } from './proc.js';
import { runScenario } from './runner.js';
import type { Outcome, Scenario } from './scenario.js';
import { round, summarize } from '../src/bench/stats.js';
import { DEBIAN_PACKAGE, VARIANTS, version, which, type ToolVariant } from './tools.js';
import type { CompareResult, Options, ScenarioResult } from './types.js';

const FILE = 'bench.dat';
const SIZE = 1024;
const WARMUP = 3;
const PER_SAMPLE_MS = 15_000;

function toolScenario(v: ToolVariant, bins: Map<string, string>): Scenario {
  return {
    id: `compare ${v.tool} (${v.variant})`,
    title: `1 KiB single change through ${v.tool}`,
    // 60 s for a start-up and its wait until ready (syncthing's two instances connecting and idle).
    budgetMs: (o) => 60_000 + (o.compareSamples + WARMUP) * (Math.max(o.gapMs, v.minGapMs) + v.jitterMs + 3000),
    async run(ctx: ScenarioContext, out: Outcome) {
      const root = mkdtempSync(path.join(tmpdir(), `entangled-bench-${v.tool}-`));
      ctx.defer(() => rmSync(root, { recursive: true, force: true }));
      const [a, b] = [path.join(root, 'A'), path.join(root, 'B')];
      for (const d of [a, b]) {
        mkdirSync(d);
        writeFileSync(path.join(d, FILE), 'x'.repeat(SIZE));
      }
      ctx.progress(`starting ${v.tool}`);
      const pids = await v.start({ ctx, root, a, b, bin: (name) => bins.get(name)! });
      const samples: number[] = [];
      out.samplesMs = samples;
      const gapMs = Math.max(ctx.opts.gapMs, v.minGapMs);
      out.params = { size: SIZE, samples: ctx.opts.compareSamples, warmup: WARMUP, gapMs, jitterMs: v.jitterMs };
      if (v.note) ctx.notes.push(v.note);
      const counted: { cpu?: CpuWindow } = {};
      // A tool that loses a change is not stopped there: the change is counted as lost, the next made.
      let lost = 0;
      let lostWarmup = 0;
      let firstLoss: Promise<string> | null = null;
      try {
        await measureChanges({
          originFile: path.join(a, FILE),
          peerDirs: [b],
          size: SIZE,
          samples: ctx.opts.compareSamples,
          warmup: WARMUP,
          gapMs,
          jitterMs: v.jitterMs,
          perSampleMs: PER_SAMPLE_MS,
          signal: ctx.signal,
          afterWarmup: async () => {
            counted.cpu = new CpuWindow(pids, 'tree');
          },
          onSample: (ms) => {
            samples.push(round(ms));
            out.latency = summarize(samples);
          },
          onLost: (i, reason) => {
            if (i < 0) lostWarmup++;
            else lost++;
            out.figures.lost = lost;
            // What the tool said at the moment of its first loss.
            firstLoss ??= ctx.diagnostics().then((said) => (said ? `${reason}; ${said}` : reason));
          },
        });
      } finally {
        if (counted.cpu) out.figures.cpuPct = counted.cpu.processesPct();
      }
      if (lost + lostWarmup > 0) {
        const first = await firstLoss;
        ctx.notes.push(`${v.tool} (${v.variant}): ${lost} of ${ctx.opts.compareSamples} counted changes${lostWarmup > 0 ? ` and ${lostWarmup} of ${WARMUP} warm-up changes` : ''} never arrived within ${PER_SAMPLE_MS / 1000} s (the next change was made; the figures are over the changes that arrived); the first: ${first}`);
      }
    },
    describe: () => '',
  };
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b > 0 ? round(a / b, 2) : null;
}

/** "not installed: csync2, inotifywait (not on PATH; apt-get install csync2 inotify-tools)". */
function notInstalled(absent: string[]): string {
  return `not installed: ${absent.join(', ')} (not on PATH; apt-get install ${absent.map((b) => DEBIAN_PACKAGE[b] ?? b).join(' ')})`;
}

/** Runs every variant of the `opts.compare` tools in order; none starts once `stopped()` (Ctrl-C). */
export async function compareTools(opts: Options, entangled: ScenarioResult | undefined, stopped: () => boolean = () => false): Promise<CompareResult[]> {
  const results: CompareResult[] = [];
  for (const tool of opts.compare) {
    const binPath = which(tool);
    const ver = binPath ? version(tool, binPath) : null;
    for (const v of VARIANTS[tool] ?? []) {
      if (stopped()) return results;
      const base = { tool, variant: v.variant, command: v.shown, version: ver, notes: [], cpuPct: null, otherCpuPct: null, ratioP50: null, ratioP95: null };
      const programs = [v.binary, ...v.needs];
      const bins = new Map<string, string>();
      for (const b of programs) {
        const found = which(b);
        if (found) bins.set(b, found);
      }
      const absent = programs.filter((b) => !bins.has(b));
      const reason = absent.length > 0 ? notInstalled(absent) : ((await v.preflight?.()) ?? null);
      if (reason !== null) {
        results.push({ ...base, status: 'missing', reason });
        process.stderr.write(`[bench] compare: ${tool} (${v.variant}) ${reason}; reported as missing\n`);
        continue;
      }
      const r = await runScenario(toolScenario(v, bins), opts);
      const c: CompareResult = { ...base, status: r.status === 'ok' ? 'ok' : 'failed', reason: r.reason, notes: r.notes, cpuPct: r.figures.cpuPct ?? null, otherCpuPct: r.figures.otherCpuPct ?? null };
      if (r.samplesMs) c.samplesMs = r.samplesMs;
      if (typeof r.figures.lost === 'number') c.lost = r.figures.lost;
      if (r.latency) c.latency = r.latency;
      c.ratioP50 = ratio(r.latency?.p50, entangled?.latency?.p50);
      c.ratioP95 = ratio(r.latency?.p95, entangled?.latency?.p95);
      results.push(c);
    }
  }
  return results;
}
