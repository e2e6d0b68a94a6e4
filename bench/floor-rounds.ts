/**
 * The figures of an alternated run of entangled and the bare pipeline (bench/floor-node.ts):
 * how the samples are split into rounds, each round's quantiles, and the row the report prints,
 * each side's p50 and p99 as the median of its rounds and the ratios entangled / floor, judged
 * against the ceilings for 1 KiB (p50 <= 1.1×, p99 <= 1.5×, over at least 3 rounds).
 */
import { LIMITS } from '../src/core/frame.js';
import { round, summarize } from '../src/bench/stats.js';
import type { FloorComparison, RoundFigures } from './types.js';

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
  const perRound = r.entangled.map((e, i) => {
    const f = r.floor[i] ?? null;
    return { entangled: e, floor: f, ratioP50: ratio(e.p50, f?.p50), ratioP99: ratio(e.p99, f?.p99) };
  });
  const complete = perRound.filter((p) => p.floor !== null);
  const med = (pick: (p: (typeof complete)[number]) => number) => {
    const m = median(complete.map(pick));
    return m === null ? null : round(m);
  };
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
