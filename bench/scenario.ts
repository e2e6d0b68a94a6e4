/** What a scenario is, and the running record it fills in as it goes (kept even when it fails). */
import { fmt } from '../src/bench/format.js';
import type { ScenarioContext } from './context.js';
import type { BurstComparison, DaemonLatency, FloorComparison, Options, ScenarioResult, Summary } from './types.js';

export { fmt, fmtBytes } from '../src/bench/format.js';

export interface Outcome {
  params: Record<string, number | string>;
  figures: Record<string, number | null>;
  samplesMs?: number[];
  latency?: Summary;
  daemon?: DaemonLatency[];
  floor?: FloorComparison | BurstComparison;
}

export interface Scenario {
  id: string;
  title: string;
  /** The most it may take, all waits included; past it the scenario is stopped and reported failed. */
  budgetMs(opts: Options): number;
  /** Runs it, writing figures into `out` as soon as they are known. */
  run(ctx: ScenarioContext, out: Outcome): Promise<void>;
  /** The key figures in one short line for the table. */
  describe(r: ScenarioResult): string;
  /** The target, checked against a result (met is null when the figure is missing). */
  target?(r: ScenarioResult): { text: string; met: boolean | null };
}

/** A figure and the test it must pass. */
export type Check = [number | null | undefined, (v: number) => boolean];

/** met when every figure is known and passes; null when one is missing. */
export function meets(...checks: Check[]): boolean | null {
  if (checks.some(([v]) => v === null || v === undefined || Number.isNaN(v))) return null;
  return checks.every(([v, ok]) => ok(v!));
}

/** "alpha 153, beta 123": the peakRssMiB_<node> figures of a scenario, in MiB. */
export function peakRss(figures: Record<string, number | null | undefined>): string {
  return Object.entries(figures)
    .filter(([k]) => k.startsWith('peakRssMiB_'))
    .map(([k, v]) => `${k.slice('peakRssMiB_'.length)} ${fmt(v)}`)
    .join(', ');
}
