import { compactJson, fmt, fmtBytes } from '../bench/format.js';
import { renderHistogram } from '../bench/histogram.js';
import { summarize, type Summary } from '../bench/stats.js';
import type { Measure } from './bench-probe.js';

/** One peer and measure: every sample in order, in ms, null for a lost one. */
export interface Series {
  readonly peer: string;
  readonly measure: Measure;
  readonly samplesMs: (number | null)[];
}

/** What a run was and what it measured: the JSON file's content, less the derived summaries. */
export interface BenchRun {
  readonly date: string;
  readonly api: string;
  readonly node: string;
  readonly file: string;
  readonly path: string;
  readonly size: number;
  readonly samples: number;
  readonly gapMs: number;
  readonly timeoutMs: number;
  readonly series: readonly Series[];
}

export const MEASURE_LABEL: Record<Measure, string> = { 'round-trip': 'round trip', 'one-way': 'one way' };

export function lostOf(s: Series): number {
  return s.samplesMs.filter((v) => v === null).length;
}

function summaryOf(s: Series): Summary | undefined {
  return summarize(s.samplesMs.filter((v): v is number => v !== null));
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Names and labels to the left, figures to the right.
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The report on stdout: the run, the p50/p95/p99/max table, what each measure is, a histogram per series. */
export function renderBench(run: BenchRun): string {
  const out: string[] = [];
  out.push(`entangled bench: ${run.file} on ${run.node} (${run.api}), ${run.samples} samples of ${fmtBytes(run.size)}, ${run.gapMs} ms apart`, '');
  const rows = run.series.map((s) => {
    const sum = summaryOf(s);
    return [s.peer, MEASURE_LABEL[s.measure], String(sum?.count ?? 0), String(lostOf(s)), fmt(sum?.p50), fmt(sum?.p95), fmt(sum?.p99), fmt(sum?.max)];
  });
  out.push(...table(['peer', 'measure', 'samples', 'lost', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'], rows), '');
  out.push(`round trip: from the write returning until ${run.node} reports the peer aligned on the new version (${run.node}'s events; one clock, this host's)`);
  if (run.series.some((s) => s.measure === 'one-way')) {
    out.push("one way: from the write returning until the peer's own API reports the new md5 (its events, timed on this host: that API's hop here included)");
  }
  out.push(`lost: no confirmation within ${run.timeoutMs} ms`);
  for (const s of run.series) {
    const lines = renderHistogram(s.samplesMs.filter((v): v is number => v !== null));
    if (lines.length) out.push('', `${s.peer}, ${MEASURE_LABEL[s.measure]}:`, ...lines.map((l) => `  ${l}`));
  }
  return `${out.join('\n')}\n`;
}

/** The `--json` document: the run, and per series its summary, lost count and every sample. */
export function benchJson(run: BenchRun): string {
  const doc = {
    version: 1,
    ...run,
    series: run.series.map((s) => ({ peer: s.peer, measure: s.measure, lost: lostOf(s), summary: summaryOf(s) ?? null, samplesMs: s.samplesMs })),
  };
  return `${compactJson(doc)}\n`;
}

/** A progress bar on stderr, redrawn after each sample; nothing unless stderr is a terminal. */
export class Progress {
  readonly #tty = process.stderr.isTTY === true;

  constructor(readonly total: number) {}

  update(done: number, note: string): void {
    if (!this.#tty) return;
    const width = 30;
    const full = Math.round((done / this.total) * width);
    process.stderr.write(`\r\x1b[K[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${this.total}  ${note}`);
  }

  clear(): void {
    if (this.#tty) process.stderr.write('\r\x1b[K');
  }
}
