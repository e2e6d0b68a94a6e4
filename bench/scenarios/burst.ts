/**
 * burst1000: node 1 rewrites N files (1 KiB each) back to back; the clock runs from the first
 * write until every peer holds every new file (md5), then until every node's API reports them
 * all aligned (the changes confirmed). Beside the cluster, the bare pipeline of the same stack
 * (bench/floor-node.ts) holds the same files, and the bursts are alternated between the two
 * (entangled 1, floor 1, entangled 2, …), by the same measurement (measureBurst) on the same
 * clock; see bench/floor-rounds.ts. Each burst writes new versions of every file, and the next
 * one starts only when the last has settled (every API aligned; the floor's peer drained).
 */
import { randomBytes } from 'node:crypto';
import { BenchCluster, isAligned, state } from '../cluster.js';
import { until, type ScenarioContext } from '../context.js';
import { DaemonLatencyProbe } from '../daemon-latency.js';
import { FloorPipeline } from '../floor-pipeline.js';
import { BURST_TARGET_FILES_PER_S, burstComparison, burstFigures, burstMedians, type BurstRoundsSoFar } from '../floor-rounds.js';
import { OtherLoad } from '../interference.js';
import { measureBurst } from '../measure.js';
import { CpuRounds } from '../proc.js';
import { fmt, meets, type Outcome, type Scenario } from '../scenario.js';
import type { BurstRoundFigures, Options } from '../types.js';

const SIZE = 1024;
const FLOOR_START_MS = 30_000;
const SETTLE_MS = 30_000;

export function fileNames(n: number, ext = 'conf'): string[] {
  const width = String(n - 1).length;
  return Array.from({ length: n }, (_, i) => `f${String(i).padStart(width, '0')}.${ext}`);
}

function content(name: string, tag: string): Buffer {
  const head = `${name} ${tag}\n`;
  return Buffer.from(head + 'x'.repeat(SIZE - head.length));
}

/** How long one burst may take to arrive everywhere. */
function burstDeadlineMs(n: number): number {
  return 30_000 + n * 30;
}

/** One side of the comparison: where its files are written and must arrive, its processes' CPU. */
interface Side {
  label: string;
  originFile: (name: string) => string;
  peers: { name: string; dir: string }[];
  cpu: CpuRounds;
  seen: { watch: number; poll: number };
  /** Waits until the side is quiet again after a burst (returns when). */
  settle: () => Promise<number>;
}

export const burst: Scenario = {
  id: 'burst1000',
  title: 'files changed at once',
  budgetMs: (o: Options) => {
    const bursts = o.floor ? 2 * o.rounds : 1;
    return 60_000 + (o.floor ? FLOOR_START_MS : 0) + bursts * (o.burstFiles * 60 + 5_000);
  },
  async run(ctx: ScenarioContext, out: Outcome) {
    const { opts } = ctx;
    const n = opts.burstFiles;
    const rounds = opts.floor ? opts.rounds : 1;
    out.params = { files: n, fileBytes: SIZE, nodes: opts.nodes, rounds };
    const names = fileNames(n);
    const initial = Object.fromEntries(names.map((f) => [f, content(f, 'initial').toString()]));
    const cluster = await BenchCluster.start(ctx, { files: initial }, 60_000);
    let floor: FloorPipeline | null = null;
    if (opts.floor) {
      floor = await FloorPipeline.start({ files: initial, timeoutMs: FLOOR_START_MS, signal: ctx.signal, onExit: (reason) => ctx.fail(new Error(reason)) });
      const f = floor;
      ctx.defer(() => f.stop());
    }
    ctx.progress(
      `${opts.nodes} nodes aligned on ${n} files${floor ? ', bare pipeline up' : ''}; changing all of them at once` +
        (floor ? `, ${rounds} times alternated with as many bursts of the bare pipeline` : ''),
    );

    const ent: Side = {
      label: 'entangled',
      originFile: (f) => cluster.origin.file(f),
      peers: cluster.peers.map((p) => ({ name: p.def.name, dir: p.def.dir })),
      cpu: new CpuRounds(cluster.pids),
      seen: { watch: 0, poll: 0 },
      settle: async () => {
        await until('every node to report every file aligned', async () => (await Promise.all(cluster.running.map((r) => state(r)))).every(isAligned), {
          timeoutMs: SETTLE_MS,
          everyMs: 20,
          signal: ctx.signal,
        });
        return performance.now();
      },
    };
    const bare: Side | null = floor && {
      label: 'bare pipeline',
      originFile: (f) => floor.originFile(f),
      peers: [{ name: "the bare pipeline's peer", dir: floor.peerDir }],
      cpu: new CpuRounds(floor.pids),
      seen: { watch: 0, poll: 0 },
      settle: async () => {
        await floor.drained(SETTLE_MS, ctx.signal);
        return performance.now();
      },
    };
    const so: BurstRoundsSoFar = { rounds, files: n, entangled: [], floor: [], floorCpuPct: null, daemonsCpuPct: null, judged: !opts.quick };

    /** Burst `r` of one side: new versions of every file; its figures once it has arrived everywhere and settled. */
    const oneBurst = async (side: Side, r: number): Promise<BurstRoundFigures> => {
      if (rounds > 1) ctx.progress(`${side.label}, burst ${r + 1}/${rounds}`);
      const tag = `${r + 1} ${randomBytes(6).toString('hex')}`;
      const files = names.map((name) => ({ name, data: content(name, tag) }));
      const window: { load?: OtherLoad } = {};
      let m;
      try {
        m = await measureBurst({
          originFile: side.originFile,
          peers: side.peers,
          files,
          timeoutMs: burstDeadlineMs(n),
          signal: ctx.signal,
          beforeWrites: () => {
            window.load = new OtherLoad();
            side.cpu.start();
          },
        });
      } catch (err) {
        side.cpu.stop();
        throw err;
      }
      const fig = burstFigures(n, m.t0, m.written, m.arrivals, side.cpu.stop(), window.load?.pct() ?? 0);
      side.seen.watch += m.seenByWatch;
      side.seen.poll += m.seenByPoll;
      const settled = await side.settle();
      return side === ent ? { ...fig, apiAlignedMs: Math.round(settled - m.t0) } : fig;
    };

    /** The figures so far (kept when a later burst fails): medians of entangled's bursts, the comparison. */
    const update = () => {
      so.daemonsCpuPct = ent.cpu.processesPct();
      so.floorCpuPct = bare?.cpu.processesPct() ?? null;
      Object.assign(out.figures, burstMedians(so.entangled), { daemonsCpuPct: so.daemonsCpuPct, benchCpuPct: ent.cpu.benchPct(), seenByWatch: ent.seen.watch, seenByPoll: ent.seen.poll });
      if (!bare) return;
      const cmp = burstComparison(so);
      out.floor = cmp;
      Object.assign(out.figures, { floorFilesPerS: cmp.floorFilesPerS, floorCpuPct: so.floorCpuPct });
    };
    // The daemons' own figure covers every entangled burst: they are idle during the floor's.
    const probe = await DaemonLatencyProbe.start(cluster.running);
    try {
      for (let r = 0; r < rounds; r++) {
        so.entangled.push(await oneBurst(ent, r));
        update();
        if (!bare) continue;
        so.floor.push(await oneBurst(bare, r));
        update();
      }
    } finally {
      out.daemon = await probe.finish();
    }
  },
  describe(r) {
    const f = r.figures;
    const bursts = r.floor?.kind === 'burst' ? r.floor.perRound.length : 1;
    const of = bursts > 1 ? ` (medians of ${bursts} bursts)` : '';
    return `${r.params.files} files of 1 KiB${of}: all at every peer ${fmt(f.convergedMs)} ms after the first write (${fmt(f.filesPerS)} files/s; writing them took ${fmt(f.writeMs)} ms); API all aligned at ${fmt(f.apiAlignedMs)} ms; CPU meanwhile: daemons ${fmt(f.daemonsCpuPct, '%')}, bench ${fmt(f.benchCpuPct, '%')}`;
  },
  target(r) {
    const f = r.floor?.kind === 'burst' ? r.floor : null;
    const bare = f && f.floorFilesPerS !== null ? ` (the bare pipeline: ${fmt(f.floorFilesPerS)} files/s)` : '';
    const met = r.status !== 'ok' ? false : f ? f.met : meets([r.figures.filesPerS, (v) => v >= BURST_TARGET_FILES_PER_S]);
    return { text: `>= ${BURST_TARGET_FILES_PER_S} files/s${bare}`, met };
  },
};
