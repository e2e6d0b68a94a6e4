/**
 * `npx tsx bench/steps.ts DIR`: the step table of single changes from the marks a traced run left
 * in DIR (`ENTANGLED_TRACE=DIR npm run bench -- --scenario latency-1k`, see src/trace.ts): per
 * change (a `write` mark of the bench), the first mark of each step after the one before it, in
 * the processes of the pipeline that carried it (entangled's daemons or the bare pipeline's
 * processes); then, per step, the median time since the step before and since the write, for
 * entangled and for the bare pipeline side by side. The first three changes of each pipeline
 * (the bench's warm-up) are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { quantile } from '../src/bench/stats.js';

/** The steps of one change, in order; the sides that do not have one skip it. */
export const STEPS = ['write', 'watched', 'read', 'send', 'received', 'decoded', 'decided', 'durable', 'checked', 'renamed', 'arrived'] as const;
/** Steps taken on the receiving side (the others are the origin's, the bench's write and arrival aside). */
const PEER_STEPS = new Set(['received', 'decoded', 'decided', 'durable', 'checked', 'renamed']);
const WARM_UP = 3;

interface Mark {
  readonly ns: number;
  readonly step: string;
  /** The process: its role and pid (the file name). */
  readonly proc: string;
}

export type Side = 'entangled' | 'floor';

/** One change: when each step was first reached (ns), by the side that carried it. */
export interface Change {
  readonly side: Side;
  readonly at: Partial<Record<(typeof STEPS)[number], number>>;
  /** µs of garbage-collection pauses in the origin and the peer between the write and the arrival. */
  readonly gcUs: number;
}

export function readMarks(dir: string): Mark[] {
  const marks: Mark[] = [];
  for (const name of readdirSync(dir)) {
    for (const line of readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0) marks.push({ ns: Number(line.slice(0, sp)), step: line.slice(sp + 1), proc: name });
    }
  }
  return marks.sort((a, b) => a.ns - b.ns);
}

/**
 * Splits the marks into changes at each `write`. The side is that of the process which renamed
 * the file in; the origin is the process with the first `read` after the write, the peer the
 * one with the first `decoded` of that side, and each step is taken from the process it belongs to.
 */
export function changesOf(marks: readonly Mark[]): Change[] {
  const writes = marks.map((m, i) => (m.step === 'write' ? i : -1)).filter((i) => i >= 0);
  const out: Change[] = [];
  for (let w = 0; w < writes.length; w++) {
    const from = writes[w]!;
    const to = writes[w + 1] ?? marks.length;
    const window = marks.slice(from, to);
    const origin = window.find((m) => m.step === 'read')?.proc;
    const peer = window.find((m) => m.step === 'decoded' && m.proc !== origin)?.proc;
    if (origin === undefined || peer === undefined || origin.split('.')[0] !== peer.split('.')[0]) continue;
    const at: Partial<Record<(typeof STEPS)[number], number>> = { write: marks[from]!.ns };
    let since = marks[from]!.ns;
    for (const step of STEPS.slice(1)) {
      // The rename's inotify event reaches the bench while the rename is still returning
      // (replacing a file frees the old one's blocks first): the arrival may precede `renamed`.
      if (step === 'arrived') since = at.checked ?? since;
      const proc = step === 'arrived' ? undefined : PEER_STEPS.has(step) ? peer : origin;
      const ours = (m: Mark) => m.step === step && m.ns >= since && (proc === undefined ? m.proc.startsWith('bench') : m.proc === proc);
      // `received` marks every frame (heartbeats too): the change's is the last one before its `decoded`.
      const decodedAt = window.find((m) => m.step === 'decoded' && m.proc === peer && m.ns >= since)?.ns ?? -1;
      const hit = step === 'received' ? window.filter((m) => ours(m) && m.ns <= decodedAt).at(-1) : window.find(ours);
      if (!hit) continue;
      at[step] = hit.ns;
      since = hit.ns;
    }
    const end = at.arrived ?? at.renamed ?? Infinity;
    const gcUs = window
      .filter((m) => m.step.startsWith('gc ') && (m.proc === origin || m.proc === peer) && m.ns < end)
      .reduce((sum, m) => sum + Number(m.step.slice(3)), 0);
    out.push({ side: origin.startsWith('floor') ? 'floor' : 'entangled', at, gcUs });
  }
  const seen: Record<Side, number> = { entangled: 0, floor: 0 };
  return out.filter((c) => ++seen[c.side] > WARM_UP);
}

/** Per step: median µs since the side's previous step and since the write, and how many changes had it. */
export function stepTable(changes: readonly Change[], side: Side): { step: string; fromPrev: number; fromWrite: number; n: number }[] {
  const mine = changes.filter((c) => c.side === side);
  const rows = [];
  let prev: (typeof STEPS)[number] = 'write';
  for (const step of STEPS.slice(1)) {
    // The arrival is timed from the rename's start (see changesOf).
    if (step === 'arrived') prev = 'checked';
    const have = mine.filter((c) => c.at[step] !== undefined && c.at[prev] !== undefined);
    if (have.length < mine.length / 2) continue;
    const median = (from: (typeof STEPS)[number]) => quantile(have.map((c) => (c.at[step]! - c.at[from]!) / 1000).sort((a, b) => a - b), 0.5);
    rows.push({
      step,
      fromPrev: median(prev),
      fromWrite: median('write'),
      n: have.length,
    });
    prev = step;
  }
  return rows;
}

/** How many changes had a GC pause on their way (write → arrival), and the median write → arrival with and without one (µs). */
export function gcShare(changes: readonly Change[], side: Side): { n: number; withGc: number; medianWith: number; medianWithout: number } {
  const mine = changes.filter((c) => c.side === side && c.at.arrived !== undefined);
  const total = (c: Change) => (c.at.arrived! - c.at.write!) / 1000;
  const med = (cs: Change[]) => quantile(cs.map(total).sort((a, b) => a - b), 0.5);
  const withGc = mine.filter((c) => c.gcUs > 0);
  return { n: mine.length, withGc: withGc.length, medianWith: med(withGc), medianWithout: med(mine.filter((c) => c.gcUs === 0)) };
}

/** The slowest `share` of one side's changes (write → arrival), at least one when it has any. */
export function slowest(changes: readonly Change[], side: Side, share: number): Change[] {
  const total = (c: Change) => c.at.arrived! - c.at.write!;
  const mine = changes.filter((c) => c.side === side && c.at.arrived !== undefined).sort((a, b) => total(b) - total(a));
  return mine.slice(0, Math.max(mine.length > 0 ? 1 : 0, Math.round(mine.length * share)));
}

function printTable(title: string, changes: readonly Change[]): void {
  const tables = { entangled: stepTable(changes, 'entangled'), floor: stepTable(changes, 'floor') };
  const n = (s: Side) => changes.filter((c) => c.side === s).length;
  console.log(`${title}: entangled ${n('entangled')} changes, bare pipeline ${n('floor')} (medians, µs)\n`);
  console.log('| step | entangled: since the step before | since the write | bare pipeline: since the step before | since the write |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const step of STEPS.slice(1)) {
    const e = tables.entangled.find((r) => r.step === step);
    const f = tables.floor.find((r) => r.step === step);
    if (!e && !f) continue;
    const cell = (r: typeof e) => (r ? [r.fromPrev.toFixed(0), r.fromWrite.toFixed(0)] : ['—', '—']);
    console.log(`| ${step === 'arrived' ? 'arrived (since checked)' : step} | ${[...cell(e), ...cell(f)].join(' | ')} |`);
  }
  console.log('');
}

function main(): void {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx bench/steps.ts DIR (the ENTANGLED_TRACE folder of a traced run)');
    process.exit(2);
  }
  const changes = changesOf(readMarks(dir));
  printTable('All changes', changes);
  // The tail: which steps the slowest changes lost their time in.
  printTable('The slowest 5% of each side', [...slowest(changes, 'entangled', 0.05), ...slowest(changes, 'floor', 0.05)]);
  for (const side of ['entangled', 'floor'] as const) {
    const g = gcShare(changes, side);
    if (g.n === 0) continue;
    const us = (v: number) => (Number.isNaN(v) ? '—' : `${v.toFixed(0)} µs`);
    console.log(`${side === 'floor' ? 'bare pipeline' : side}: ${g.withGc} of ${g.n} changes had a GC pause on their way (write → arrival ${us(g.medianWith)} median, the others ${us(g.medianWithout)})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
