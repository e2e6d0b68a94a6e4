/** The shapes every part of the harness shares: options, scenario results, comparison results. */
import type { Summary } from '../src/bench/stats.js';

export type { Summary };

export interface Options {
  quick: boolean;
  /** Exit 1 when a scenario fails (always on with --quick). */
  strict: boolean;
  nodes: number;
  scenarios: string[];
  samples: number;
  gapMs: number;
  compare: string[];
  compareSamples: number;
  /** Alternated rounds of entangled and the bare pipeline per latency size (the samples split across them), and bursts of each in burst1000. */
  rounds: number;
  /** Run the bare pipeline beside entangled in the latency scenarios and burst1000 (off: --no-floor). */
  floor: boolean;
  burstFiles: number;
  startupFiles: number;
  bigBytes: number;
  idleFiles: number;
  idleSeconds: number;
  logLevel: string;
  outDir: string;
  /** When set, the daemons run under `node --cpu-prof` and write their profiles here. */
  cpuProfDir: string | null;
}

/** The daemons' own latency figure: their Prometheus histogram when /metrics answers, else their log lines. */
export interface DaemonLatency {
  source: 'metrics' | 'logs';
  /** What was read: the metric name (and its help text) or the log message. */
  what: string;
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export type Status = 'ok' | 'failed' | 'skipped';

export interface ScenarioResult {
  id: string;
  title: string;
  status: Status;
  /** Why it failed (timeouts, a daemon that exited, a wrong file), never empty when failed. */
  reason: string | null;
  durationMs: number;
  /** What it was run with: sizes, counts, node count. */
  params: Record<string, number | string>;
  /** The scenario's figures (flat, units in the key: Ms, MBps, MiB, Pct, S). */
  figures: Record<string, number | null>;
  /** Outside-measured latency of every sample (ms), for latency scenarios (the CDF). */
  samplesMs?: number[];
  latency?: Summary;
  /** The daemons' own figures, one per source that answered (metrics first). */
  daemon?: DaemonLatency[];
  /** The comparison with the bare pipeline, run in alternated rounds: the latency scenarios' and burst1000's. */
  floor?: FloorComparison | BurstComparison;
  /** The target for this scenario and whether this run met it (null: not measured). */
  target?: { text: string; met: boolean | null };
  /** The key figures in one line, as the table shows them. */
  summary: string;
  notes: string[];
}

/** One round of one pipeline: its counted samples and the CPU meanwhile. */
export interface RoundFigures {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** CPU of its processes (entangled's daemons, or the bare pipeline's two) over the round, % of one core. */
  cpuPct: number | null;
  /** CPU of everything outside the bench's process tree over the round, % of one core. */
  otherCpuPct: number;
}

/**
 * entangled against the bare pipeline of its stack (bench/floor-node.ts), one size: rounds
 * alternated (entangled 1, floor 1, entangled 2, …), the same loop and clock; each side's p50
 * and p99 is the median of its rounds' figures, and the ratios are entangled's over the floor's.
 */
export interface FloorComparison {
  /** Absent: a latency scenario's (burst1000's is a BurstComparison). */
  kind?: undefined;
  /** How the bare pipeline ran. */
  what: string;
  rounds: number;
  /** Counted samples per round (the same for both), warm-up changes only before round 1. */
  samplesPerRound: number[];
  /** Each pair in the order they ran; a round that did not finish is missing. */
  perRound: { entangled: RoundFigures; floor: RoundFigures | null; ratioP50: number | null; ratioP99: number | null }[];
  floorP50: number | null;
  floorP99: number | null;
  entangledP50: number | null;
  entangledP99: number | null;
  /** entangledP50 / floorP50 and entangledP99 / floorP99: 1 is the floor's speed. */
  ratioP50: number | null;
  ratioP99: number | null;
  /** The ceilings for the ratios, and the least rounds they are judged on; null for a size it sets none for. */
  targets: { p50: number; p99: number; minRounds: number } | null;
  /** Whether both ratios are within them; null when not judged (quick run, too few rounds, a round missing). */
  met: boolean | null;
  /** Every counted sample of the bare pipeline (ms), for the CDF. */
  samplesMs: number[];
  /** CPU over all rounds of each side, % of one core. */
  floorCpuPct: number | null;
  daemonsCpuPct: number | null;
}

/** One burst of one pipeline: every file rewritten at once on the origin. */
export interface BurstRoundFigures {
  files: number;
  /** From the first write until every peer holds every file (ms). */
  ms: number;
  /** files / ms, per second. */
  filesPerS: number;
  /** How long writing them all took on the origin. */
  writeMs: number;
  firstArrivalMs: number;
  afterLastWriteMs: number;
  /** CPU of its processes over the burst (the first write to the last arrival), % of one core. */
  cpuPct: number | null;
  /** CPU of everything outside the bench's process tree meanwhile, % of one core. */
  otherCpuPct: number;
  /** entangled's only: from the first write until every node's API reports every file aligned. */
  apiAlignedMs?: number;
}

/**
 * burst1000 against the bare pipeline: bursts of the same files alternated (entangled 1, floor 1,
 * entangled 2, …), the same arrival check and clock; each side's figure is the median of its
 * rounds, the ratio entangled's files/s over the floor's (below 1: entangled is slower).
 */
export interface BurstComparison {
  kind: 'burst';
  what: string;
  rounds: number;
  /** Files in each burst (the same for both sides). */
  files: number;
  /** Each pair in the order they ran; a round that did not finish is missing. */
  perRound: { entangled: BurstRoundFigures; floor: BurstRoundFigures | null; ratio: number | null }[];
  floorFilesPerS: number | null;
  floorMs: number | null;
  entangledFilesPerS: number | null;
  entangledMs: number | null;
  /** entangledFilesPerS / floorFilesPerS: 1 is the floor's speed. */
  ratio: number | null;
  /** The absolute target. */
  target: { filesPerS: number };
  /** Whether entangled's median meets it, and whether the bare pipeline's does; null when not judged (quick run, a round missing). */
  met: boolean | null;
  floorMet: boolean | null;
  /** CPU over all rounds of each side, % of one core. */
  floorCpuPct: number | null;
  daemonsCpuPct: number | null;
}

export interface CompareResult {
  tool: string;
  variant: string;
  /** The exact command line that ran. */
  command: string;
  status: 'ok' | 'failed' | 'missing';
  reason: string | null;
  version: string | null;
  /** How its run differed from entangled's (spacing), and why. */
  notes: string[];
  samplesMs?: number[];
  latency?: Summary;
  /** Counted changes that never arrived (within the per-change limit): not in the samples; the run went on. */
  lost?: number;
  /** CPU of the tool (and its reaped children) while the samples ran, in % of one core. */
  cpuPct: number | null;
  /** CPU of every process outside the bench's tree meanwhile, in % of one core (disturbance). */
  otherCpuPct: number | null;
  /** Tool p50 / entangled p50 and p95 / p95 (1 KiB): above 1 means entangled is faster. */
  ratioP50: number | null;
  ratioP95: number | null;
}

export interface RunReport {
  version: 1;
  date: string;
  mode: 'full' | 'quick';
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string };
  git: { commit: string | null; dirty: boolean | null };
  /** The machine's 1/5/15-minute load averages when the run started and ended (other work disturbs the figures). */
  load: { start: number[]; end: number[] };
  options: Options;
  totalMs: number;
  scenarios: ScenarioResult[];
  compare: CompareResult[];
}
