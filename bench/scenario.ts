/** What a scenario is, and the running record it fills in as it goes (kept even when it fails). */
import type { ScenarioContext } from './context.js';
import type { DaemonLatency, Options, ScenarioResult, Summary } from './types.js';

export interface Outcome {
  params: Record<string, number | string>;
  figures: Record<string, number | null>;
  samplesMs?: number[];
  latency?: Summary;
  daemon?: DaemonLatency[];
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

/** "1 KiB", "16 MiB", "286.1 MiB". */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[u]}`;
}

/** A figure for the table: '-' when unknown, else rounded sensibly. */
export function fmt(n: number | null | undefined, unit = ''): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  const s = Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
  return `${s}${unit}`;
}

/** "alpha 153, beta 123": the peakRssMiB_<node> figures of a scenario, in MiB. */
export function peakRss(figures: Record<string, number | null | undefined>): string {
  return Object.entries(figures)
    .filter(([k]) => k.startsWith('peakRssMiB_'))
    .map(([k, v]) => `${k.slice('peakRssMiB_'.length)} ${fmt(v)}`)
    .join(', ');
}
