/**
 * Single-change latency for one file size: node 1 rewrites the file in place (writeFileSync),
 * the clock runs from the write returning until every other node's copy holds the new bytes.
 */
import { BenchCluster } from '../cluster.js';
import type { ScenarioContext } from '../context.js';
import { DaemonLatencyProbe } from '../daemon-latency.js';
import { measureChanges } from '../measure.js';
import { CpuWindow } from '../proc.js';
import { fmt, fmtBytes, meets, type Check, type Outcome, type Scenario } from '../scenario.js';
import { round, summarize } from '../../src/bench/stats.js';
import type { Options } from '../types.js';

export const FILE = 'bench.dat';
const WARMUP = 3;

/** The issue's targets (2-core machine, loopback): p50 and optionally p99, in ms. */
const TARGETS: Record<number, { p50: number; p99?: number }> = {
  [1024]: { p50: 1.5, p99: 5 },
  [64 * 1024]: { p50: 2.5 },
  [1024 * 1024]: { p50: 12 },
};

/** How long one change may take before the scenario is failed: 10 s, plus 0.5 s per MB. */
function perSampleMs(size: number): number {
  return 10_000 + (size / 1e6) * 500;
}

export function latencyScenario(id: string, size: number): Scenario {
  return {
    id,
    title: `single change, ${fmtBytes(size)}`,
    budgetMs: (o: Options) => 60_000 + (o.samples + WARMUP) * (o.gapMs + 500 + size / 5e3),
    async run(ctx: ScenarioContext, out: Outcome) {
      const { opts } = ctx;
      out.params = { size, samples: opts.samples, warmup: WARMUP, gapMs: opts.gapMs, nodes: opts.nodes };
      const samples: number[] = [];
      out.samplesMs = samples;
      const cluster = await BenchCluster.start(ctx, { files: { [FILE]: 'x'.repeat(size) } });
      ctx.progress(`${opts.nodes} nodes aligned; ${opts.samples} changes of ${fmtBytes(size)}, ${opts.gapMs} ms apart`);
      // Started once the warm-up changes are done: the daemons' own figure and the CPU used.
      const counted: { probe?: DaemonLatencyProbe; cpu?: CpuWindow } = {};
      try {
        const seen = await measureChanges({
          originFile: cluster.origin.file(FILE),
          peerDirs: cluster.peers.map((p) => p.def.dir),
          size,
          samples: opts.samples,
          warmup: WARMUP,
          gapMs: opts.gapMs,
          perSampleMs: perSampleMs(size),
          signal: ctx.signal,
          afterWarmup: async () => {
            counted.probe = await DaemonLatencyProbe.start(cluster.running);
            counted.cpu = new CpuWindow(cluster.pids);
          },
          onSample: (ms) => {
            samples.push(round(ms));
            out.latency = summarize(samples);
          },
        });
        out.figures.seenByWatch = seen.seenByWatch;
        out.figures.seenByPoll = seen.seenByPoll;
      } finally {
        // CPU over the counted changes (gaps included), in % of one core, all daemons together.
        if (counted.cpu) {
          out.figures.daemonsCpuPct = counted.cpu.processesPct();
          out.figures.benchCpuPct = counted.cpu.benchPct();
        }
        if (counted.probe) out.daemon = await counted.probe.finish();
      }
    },
    describe(r) {
      const d = r.daemon?.[0];
      const own = d ? `; daemon (${d.source}) p50 ${fmt(d.p50)} p95 ${fmt(d.p95)} ms` : '';
      return `CPU while sampling: daemons ${fmt(r.figures.daemonsCpuPct, '%')}, bench ${fmt(r.figures.benchCpuPct, '%')} of a core${own}`;
    },
    target(r) {
      const t = TARGETS[size];
      if (!t) return { text: 'none set', met: null };
      const checks: Check[] = [[r.latency?.p50, (v) => v <= t.p50]];
      const p99 = t.p99;
      if (p99 !== undefined) checks.push([r.latency?.p99, (v) => v <= p99]);
      const text = `p50 <= ${t.p50} ms${p99 !== undefined ? `, p99 <= ${p99} ms` : ''}`;
      return { text, met: r.status === 'ok' ? meets(...checks) : false };
    },
  };
}
