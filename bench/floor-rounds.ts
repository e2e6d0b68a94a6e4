/**
 * The figures of an alternated run of entangled and the bare pipeline (bench/floor-node.ts).
 * Latency: how the samples are split into rounds, each round's quantiles, and the row the report
 * prints, each side's p50 and p99 as the median of its rounds and the ratios entangled / floor,
 * judged against the ceilings for 1 KiB (p50 <= 1.1×, p99 <= 1.5×, over at least 3
 * rounds). Burst: each burst's figures from its clock readings, each side's files/s and time as
 * the median of its bursts, the ratio of the files/s, and the 3,000 files/s judged for both.
 */
import { LIMITS } from '../src/core/frame.js';
import { round, summarize } from '../src/bench/stats.js';
import type { BurstComparison, BurstRoundFigures, FloorComparison, RoundFigures } from './types.js';

export const FLOOR_TARGETS = { p50: 1.1, p99: 1.5, minRounds: 3 } as const;
/** The size the issue sets them for. */
export const FLOOR_TARGET_BYTES = 1024;

/** Up to this size entangled sends the content in the change frame, as the bare pipeline does; above it, it pulls chunks. */
export const FLOOR_MAX_BYTES = LIMITS.inline;

export const FLOOR_WHAT =
  'bench/floor-node.ts, two processes: chokidar on the file (raw event) → read + md5 → msgpackr → zeromq PUB/SUB → temp file, write, fsync, close, rename, folder fsync; no checks, decisions, backups, acknowledgement or logs';

/** `total` samples in `rounds` rounds, as even as can be, the larger first: 200 in 3 → 67, 67, 66. */
export function splitSamples(total: number, rounds: number): number[] {
  const n = Math.max(1, Math.min(rounds, total));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/** The median; the mean of the two middle values for an even count; null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a !== null && a !== undefined && b !== null && b !== undefined && b > 0 ? round(a / b, 2) : null;
}

/** Each entangled round with the floor round that followed it (null while that one has not finished). */
function paired<T>(entangled: readonly T[], floor: readonly T[]): { entangled: T; floor: T | null }[] {
  return entangled.map((e, i) => ({ entangled: e, floor: floor[i] ?? null }));
}

/** The median of a figure over some rounds, unrounded; null for none. */
function medianOf<T>(rounds: readonly T[], pick: (r: T) => number): number | null {
  return median(rounds.map(pick));
}

function rounded(v: number | null, digits?: number): number | null {
  return v === null ? null : round(v, digits);
}

/** One round's figures from its samples; null when it has none. */
export function roundFigures(samples: readonly number[], cpuPct: number | null, otherCpuPct: number): RoundFigures | null {
  const s = summarize(samples);
  return s ? { count: s.count, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max, cpuPct, otherCpuPct } : null;
}

export interface RoundsSoFar {
  samplesPerRound: number[];
  entangled: RoundFigures[];
  floor: RoundFigures[];
  floorSamplesMs: number[];
  floorCpuPct: number | null;
  daemonsCpuPct: number | null;
  /** Whether the issue sets the ratio target for this size (1 KiB only). */
  targeted: boolean;
  /** False in a quick run: the ratios are shown, not judged. */
  judged: boolean;
}

/** The comparison over the rounds that finished (a floor round pairs with the entangled round before it). */
export function floorComparison(r: RoundsSoFar): FloorComparison {
  const perRound = paired(r.entangled, r.floor).map(({ entangled: e, floor: f }) => ({ entangled: e, floor: f, ratioP50: ratio(e.p50, f?.p50), ratioP99: ratio(e.p99, f?.p99) }));
  const complete = perRound.filter((p) => p.floor !== null);
  const med = (pick: (p: (typeof complete)[number]) => number) => rounded(medianOf(complete, pick));
  const entangledP50 = med((p) => p.entangled.p50);
  const entangledP99 = med((p) => p.entangled.p99);
  const floorP50 = med((p) => p.floor!.p50);
  const floorP99 = med((p) => p.floor!.p99);
  const ratioP50 = ratio(entangledP50, floorP50);
  const ratioP99 = ratio(entangledP99, floorP99);
  const judgeable = r.targeted && r.judged && complete.length === r.samplesPerRound.length && complete.length >= FLOOR_TARGETS.minRounds && ratioP50 !== null && ratioP99 !== null;
  // Judged on the unrounded ratios: 1.104 is not within 1.1.
  const within = () => entangledP50! <= FLOOR_TARGETS.p50 * floorP50! && entangledP99! <= FLOOR_TARGETS.p99 * floorP99!;
  return {
    what: FLOOR_WHAT,
    rounds: r.samplesPerRound.length,
    samplesPerRound: r.samplesPerRound,
    perRound,
    floorP50,
    floorP99,
    entangledP50,
    entangledP99,
    ratioP50,
    ratioP99,
    targets: r.targeted ? { ...FLOOR_TARGETS } : null,
    met: judgeable ? within() : null,
    samplesMs: r.floorSamplesMs,
    floorCpuPct: r.floorCpuPct,
    daemonsCpuPct: r.daemonsCpuPct,
  };
}

/** The target for a burst of 1,000 files (absolute: it does not depend on the floor). */
export const BURST_TARGET_FILES_PER_S = 3000;

export const FLOOR_BURST_WHAT = `${FLOOR_WHAT}; in a burst the peer writes through the thread pool, the fsyncs overlapping and the folder's fsync shared, as entangled does`;

/** files per second of a burst that took `ms`; null for no time. */
function rate(files: number, ms: number): number | null {
  return ms > 0 ? (files * 1000) / ms : null;
}

/**
 * One burst's figures from its performance.now() readings: `t0` just before the first write,
 * `written` after the last, `arrivals` when each file was seen at each peer (at least one).
 */
export function burstFigures(files: number, t0: number, written: number, arrivals: readonly number[], cpuPct: number | null, otherCpuPct: number): BurstRoundFigures {
  const last = Math.max(...arrivals);
  const first = Math.min(...arrivals);
  return {
    files,
    ms: round(last - t0, 1),
    filesPerS: round(rate(files, last - t0) ?? 0, 0),
    writeMs: round(written - t0, 1),
    firstArrivalMs: round(first - t0, 1),
    afterLastWriteMs: round(last - written, 1),
    cpuPct,
    otherCpuPct,
  };
}

/** The median of each burst figure over some bursts (what the scenario's own row shows); null figures for none. */
export function burstMedians(bursts: readonly BurstRoundFigures[]): Record<'convergedMs' | 'filesPerS' | 'writeMs' | 'firstArrivalMs' | 'afterLastWriteMs' | 'apiAlignedMs', number | null> {
  const withApi = bursts.filter((b) => b.apiAlignedMs !== undefined);
  return {
    convergedMs: rounded(medianOf(bursts, (b) => b.ms), 1),
    filesPerS: rounded(medianOf(bursts, (b) => rate(b.files, b.ms) ?? 0), 0),
    writeMs: rounded(medianOf(bursts, (b) => b.writeMs), 1),
    firstArrivalMs: rounded(medianOf(bursts, (b) => b.firstArrivalMs), 1),
    afterLastWriteMs: rounded(medianOf(bursts, (b) => b.afterLastWriteMs), 1),
    apiAlignedMs: rounded(medianOf(withApi, (b) => b.apiAlignedMs!), 0),
  };
}

export interface BurstRoundsSoFar {
  rounds: number;
  files: number;
  entangled: BurstRoundFigures[];
  floor: BurstRoundFigures[];
  floorCpuPct: number | null;
  daemonsCpuPct: number | null;
  /** False in a quick run: the figures are shown, the target not judged. */
  judged: boolean;
}

/**
 * The burst comparison over the rounds that finished (a floor burst pairs with the entangled one
 * before it). The medians of files/s are taken of each burst's unrounded rate (files over its
 * time) and judged on it: 2,999.6 files/s does not meet 3,000.
 */
export function burstComparison(r: BurstRoundsSoFar): BurstComparison {
  const perRound = paired(r.entangled, r.floor).map(({ entangled: e, floor: f }) => ({ entangled: e, floor: f, ratio: ratio(rate(e.files, e.ms), f ? rate(f.files, f.ms) : null) }));
  const complete = perRound.filter((p) => p.floor !== null);
  const entangledRate = medianOf(complete, (p) => rate(p.entangled.files, p.entangled.ms) ?? 0);
  const floorRate = medianOf(complete, (p) => rate(p.floor!.files, p.floor!.ms) ?? 0);
  const judgeable = r.judged && complete.length === r.rounds && entangledRate !== null && floorRate !== null;
  return {
    kind: 'burst',
    what: FLOOR_BURST_WHAT,
    rounds: r.rounds,
    files: r.files,
    perRound,
    floorFilesPerS: rounded(floorRate, 0),
    floorMs: rounded(medianOf(complete, (p) => p.floor!.ms), 1),
    entangledFilesPerS: rounded(entangledRate, 0),
    entangledMs: rounded(medianOf(complete, (p) => p.entangled.ms), 1),
    ratio: ratio(entangledRate, floorRate),
    target: { filesPerS: BURST_TARGET_FILES_PER_S },
    met: judgeable ? entangledRate >= BURST_TARGET_FILES_PER_S : null,
    floorMet: judgeable ? floorRate >= BURST_TARGET_FILES_PER_S : null,
    floorCpuPct: r.floorCpuPct,
    daemonsCpuPct: r.daemonsCpuPct,
  };
}
