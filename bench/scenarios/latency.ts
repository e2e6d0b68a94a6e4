/**
 * Single-change latency for one file size: node 1 rewrites the file in place (writeFileSync),
 * the clock runs from the write returning until every other node's copy holds the new bytes.
 * Up to 1 MiB, the bare pipeline of the same stack (bench/floor-node.ts) runs beside the
 * cluster, and the samples are taken in rounds alternated between the two (entangled 1, floor
 * 1, entangled 2, …), by the same loop on the same clock; see bench/floor-rounds.ts.
 */
import { BenchCluster } from '../cluster.js';
import type { ScenarioContext } from '../context.js';
import { DaemonLatencyProbe } from '../daemon-latency.js';
import { FloorPipeline } from '../floor-pipeline.js';
import { FLOOR_MAX_BYTES, FLOOR_TARGET_BYTES, floorComparison, roundFigures, splitSamples, type RoundsSoFar } from '../floor-rounds.js';
import { OtherLoad } from '../interference.js';
import { measureChanges } from '../measure.js';
import { CpuRounds } from '../proc.js';
import { fmt, fmtBytes, meets, type Check, type Outcome, type Scenario } from '../scenario.js';
import { round, summarize } from '../../src/bench/stats.js';
import type { Options, RoundFigures } from '../types.js';

export const FILE = 'bench.dat';
const WARMUP = 3;
const FLOOR_START_MS = 30_000;

/** The issue's targets (2-core machine, loopback): p50 and optionally p99, in ms. */
const TARGETS: Record<number, { p50: number; p99?: number }> = {
  [1024]: { p50: 1.5, p99: 5 },
  [64 * 1024]: { p50: 2.2 },
  [1024 * 1024]: { p50: 10 },
};

/** How long one change may take before the scenario is failed: 10 s, plus 0.5 s per MB. */
function perSampleMs(size: number): number {
  return 10_000 + (size / 1e6) * 500;
}

function withFloor(o: Options, size: number): boolean {
  return o.floor && size <= FLOOR_MAX_BYTES;
}

/** One side's measurement: its origin file and peer folders, its processes' CPU over its rounds. */
interface Side {
  originFile: string;
  peerDirs: string[];
  cpu: CpuRounds;
  samples: number[];
  /** Called before the first counted change of round 1 (after the warm-up). */
  onCounted?: () => Promise<void>;
}

export function latencyScenario(id: string, size: number): Scenario {
  return {
    id,
    title: `single change, ${fmtBytes(size)}`,
    budgetMs: (o: Options) => {
      const sides = withFloor(o, size) ? 2 : 1;
      return 60_000 + (withFloor(o, size) ? FLOOR_START_MS : 0) + sides * (o.samples + WARMUP) * (o.gapMs + 500 + size / 5e3);
    },
    async run(ctx: ScenarioContext, out: Outcome) {
      const { opts } = ctx;
      const floorOn = withFloor(opts, size);
      const plan = splitSamples(opts.samples, floorOn ? opts.rounds : 1);
      out.params = { size, samples: opts.samples, warmup: WARMUP, gapMs: opts.gapMs, nodes: opts.nodes, rounds: plan.length };
      const samples: number[] = [];
      out.samplesMs = samples;
      const cluster = await BenchCluster.start(ctx, { files: { [FILE]: 'x'.repeat(size) } });
      let floor: FloorPipeline | null = null;
      if (floorOn) {
        floor = await FloorPipeline.start({ files: { [FILE]: 'x'.repeat(size) }, timeoutMs: FLOOR_START_MS, signal: ctx.signal, onExit: (reason) => ctx.fail(new Error(reason)) });
        const f = floor;
        ctx.defer(() => f.stop());
      }
      ctx.progress(
        `${opts.nodes} nodes aligned${floor ? ', bare pipeline up' : ''}; ${opts.samples} changes of ${fmtBytes(size)}, ${opts.gapMs} ms apart` +
          (floor ? `, in ${plan.length} rounds (${plan.join(', ')}) alternated with as many of the bare pipeline` : ''),
      );
      const counted: { probe?: DaemonLatencyProbe } = {};
      const ent: Side = {
        originFile: cluster.origin.file(FILE),
        peerDirs: cluster.peers.map((p) => p.def.dir),
        cpu: new CpuRounds(cluster.pids),
        samples,
        // The daemons' own figure covers every counted change: they are idle during the floor's rounds.
        onCounted: async () => {
          counted.probe = await DaemonLatencyProbe.start(cluster.running);
        },
      };
      const bare: Side | null = floor ? { originFile: floor.originFile(FILE), peerDirs: [floor.peerDir], cpu: new CpuRounds(floor.pids), samples: [] } : null;
      const so: RoundsSoFar = { samplesPerRound: plan, entangled: [], floor: [], floorSamplesMs: bare?.samples ?? [], floorCpuPct: null, daemonsCpuPct: null, targeted: size === FLOOR_TARGET_BYTES, judged: !opts.quick };
      const seen = { watch: 0, poll: 0 };

      /**
       * Round `r` of one side: warm-up changes before round 1 only; the CPU and others' CPU over
       * the counted changes. A round that did not finish has no figures (its samples are kept).
       */
      const oneRound = async (side: Side, r: number, label: string): Promise<RoundFigures | null> => {
        const taken: number[] = [];
        const load: { other?: OtherLoad } = {};
        ctx.progress(`${label}, round ${r + 1}/${plan.length}: ${plan[r]} changes`);
        try {
          const s = await measureChanges({
            originFile: side.originFile,
            peerDirs: side.peerDirs,
            size,
            samples: plan[r]!,
            warmup: r === 0 ? WARMUP : 0,
            gapMs: opts.gapMs,
            perSampleMs: perSampleMs(size),
            signal: ctx.signal,
            afterWarmup: async () => {
              if (r === 0) await side.onCounted?.();
              side.cpu.start();
              load.other = new OtherLoad();
            },
            onSample: (ms) => {
              taken.push(round(ms));
              side.samples.push(round(ms));
              if (side === ent) out.latency = summarize(samples);
            },
          });
          if (side === ent) [seen.watch, seen.poll] = [seen.watch + s.seenByWatch, seen.poll + s.seenByPoll];
        } catch (err) {
          side.cpu.stop();
          throw err;
        }
        return roundFigures(taken, side.cpu.stop(), load.other?.pct() ?? 0);
      };

      const update = () => {
        so.daemonsCpuPct = ent.cpu.processesPct();
        so.floorCpuPct = bare?.cpu.processesPct() ?? null;
        out.floor = floorComparison(so);
      };
      try {
        for (let r = 0; r < plan.length; r++) {
          const e = await oneRound(ent, r, 'entangled');
          if (!bare) continue;
          so.entangled.push(e!);
          const f = await oneRound(bare, r, 'bare pipeline');
          so.floor.push(f!);
          update();
        }
        out.figures.seenByWatch = seen.watch;
        out.figures.seenByPoll = seen.poll;
      } finally {
        // CPU over the counted changes of entangled's rounds (gaps included), in % of one core, all daemons together.
        out.figures.daemonsCpuPct = ent.cpu.processesPct();
        out.figures.benchCpuPct = ent.cpu.benchPct();
        if (bare) {
          out.figures.floorCpuPct = bare.cpu.processesPct();
          if (so.entangled.length > 0) update();
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
