/** The run's report: Markdown tables for stdout (and the README), the JSON and plot files. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compactJson } from '../src/bench/format.js';
import { BUSY_PCT } from './interference.js';
import { fmt, fmtBytes } from './scenario.js';
import type { BurstComparison, CompareResult, FloorComparison, RunReport, ScenarioResult } from './types.js';

function table(head: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

function status(r: { status: string }): string {
  return r.status === 'ok' ? 'ok' : r.status.toUpperCase();
}

function target(r: ScenarioResult): string {
  if (!r.target) return '-';
  const verdict = r.target.met === null ? 'n/a' : r.target.met ? 'met' : 'missed';
  return `${r.target.text}: ${verdict}`;
}

function latencyTable(rs: ScenarioResult[]): string {
  const rows = rs.map((r) => {
    const l = r.latency;
    const d = r.daemon?.[0];
    const own = d ? `${fmt(d.p50)} / ${fmt(d.p95)} (${d.source}, n=${d.count})` : '-';
    return [fmtBytes(Number(r.params.size ?? 0)), String(l?.count ?? 0), fmt(l?.p50), fmt(l?.p95), fmt(l?.p99), fmt(l?.max), own, fmt(r.figures.daemonsCpuPct, '%'), fmt(r.figures.benchCpuPct, '%'), fmt(r.figures.otherCpuPct, '%'), target(r), status(r)];
  });
  return table(['size', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', "daemon's own p50 / p95 ms", 'daemons CPU', 'bench CPU', 'others CPU', 'target', 'status'], rows);
}

/** A latency scenario's comparison with the bare pipeline, when it ran one round at least. */
function latencyFloor(r: ScenarioResult): FloorComparison | null {
  return r.floor && r.floor.kind !== 'burst' && r.floor.perRound.length > 0 ? r.floor : null;
}

/** burst1000's comparison with the bare pipeline, when it ran one burst at least. */
function burstFloor(r: ScenarioResult): BurstComparison | null {
  return r.floor?.kind === 'burst' && r.floor.perRound.length > 0 ? r.floor : null;
}

function floorTarget(f: FloorComparison): string {
  const t = f.targets;
  if (!t) return 'none set: n/a';
  const text = `p50 <= ${t.p50}×, p99 <= ${t.p99}× (median of >= ${t.minRounds} rounds)`;
  if (f.met === null) return `${text}: n/a`;
  const p50 = f.entangledP50! <= t.p50 * f.floorP50! ? 'met' : 'missed';
  const p99 = f.entangledP99! <= t.p99 * f.floorP99! ? 'met' : 'missed';
  return `${text}: p50 ${p50}, p99 ${p99}`;
}

/** The highest others' CPU over a comparison's rounds, either side. */
function worstOthers(rounds: readonly { entangled: { otherCpuPct: number }; floor: { otherCpuPct: number } | null }[]): number {
  return Math.max(...rounds.flatMap((p) => [p.entangled.otherCpuPct, p.floor?.otherCpuPct ?? 0]));
}

/** One row per size: the bare pipeline's p50/p99 and entangled's, each the median of its rounds, and the ratios. */
function floorTable(rs: ScenarioResult[]): string {
  const rows = rs.map((r) => {
    const f = latencyFloor(r)!;
    const others = worstOthers(f.perRound);
    return [
      fmtBytes(Number(r.params.size ?? 0)),
      `${f.perRound.filter((p) => p.floor).length} of ${f.rounds} × ${f.samplesPerRound.join('/')}`,
      fmt(f.floorP50),
      fmt(f.floorP99),
      fmt(f.entangledP50),
      fmt(f.entangledP99),
      fmt(f.ratioP50, '×'),
      fmt(f.ratioP99, '×'),
      fmt(f.floorCpuPct, '%'),
      fmt(f.daemonsCpuPct, '%'),
      fmt(f.perRound.length ? others : null, '%'),
      r.target ? floorTarget(f) : '-',
      status(r),
    ];
  });
  return table(['size', 'rounds × samples', 'bare p50 ms', 'bare p99 ms', 'entangled p50 ms', 'entangled p99 ms', 'p50 ratio', 'p99 ratio', 'bare CPU', 'daemons CPU', 'others CPU (worst round)', 'target', 'status'], rows);
}

/** "- 1 KiB: 1: 1.61 / 4.20 | 1.35 / 3.10 (1.19×; others 2.0% | 3.1%); 2: …": each round's pair. */
function floorRounds(r: ScenarioResult): string {
  const f = latencyFloor(r)!;
  const pair = (x: { p50: number; p99: number } | null) => (x ? `${fmt(x.p50)} / ${fmt(x.p99)}` : '-');
  const others = (p: (typeof f.perRound)[number]) => `others ${fmt(p.entangled.otherCpuPct, '%')} | ${fmt(p.floor?.otherCpuPct, '%')}`;
  const rounds = f.perRound.map((p, i) => `${i + 1}: ${pair(p.entangled)} | ${pair(p.floor)} (${fmt(p.ratioP50, '×')}; ${others(p)})`);
  return `- ${fmtBytes(Number(r.params.size ?? 0))}: ${rounds.join('; ')}`;
}

/** ">= 3000 files/s: missed (the bare pipeline: 2410 files/s, below it too)": the verdict beside the stack's own speed. */
function burstTarget(f: BurstComparison): string {
  const text = `>= ${f.target.filesPerS} files/s`;
  if (f.met === null || f.floorMet === null) return `${text}: n/a (the bare pipeline: ${fmt(f.floorFilesPerS)} files/s)`;
  const bare = f.floorMet ? 'meets it' : f.met ? 'below it' : 'below it too';
  return `${text}: ${f.met ? 'met' : 'missed'} (the bare pipeline: ${fmt(f.floorFilesPerS)} files/s, ${bare})`;
}

/** One row: each side's files/s and time (medians of its bursts), the ratio of the files/s, CPU, the target. */
function burstTable(rs: ScenarioResult[]): string {
  const rows = rs.map((r) => {
    const f = burstFloor(r)!;
    const others = worstOthers(f.perRound);
    return [
      String(f.files),
      `${f.perRound.filter((p) => p.floor).length} of ${f.rounds}`,
      fmt(f.floorFilesPerS),
      fmt(f.floorMs),
      fmt(f.entangledFilesPerS),
      fmt(f.entangledMs),
      fmt(f.ratio, '×'),
      fmt(f.floorCpuPct, '%'),
      fmt(f.daemonsCpuPct, '%'),
      fmt(others, '%'),
      r.target ? burstTarget(f) : '-',
      status(r),
    ];
  });
  return table(['files', 'bursts', 'bare files/s', 'bare ms', 'entangled files/s', 'entangled ms', 'ratio', 'bare CPU', 'daemons CPU', 'others CPU (worst burst)', 'target', 'status'], rows);
}

/** "- 1000 files: 1: 1234 files/s, 810 ms (writes 70.2) | 2401 files/s, 416 ms (writes 65.0) (0.51×; others 2.0% | 3.1%); 2: …": each burst's pair. */
function burstRounds(r: ScenarioResult): string {
  const f = burstFloor(r)!;
  const one = (x: { filesPerS: number; ms: number; writeMs: number } | null) => (x ? `${fmt(x.filesPerS)} files/s, ${fmt(x.ms)} ms (writes ${fmt(x.writeMs)})` : '-');
  const rounds = f.perRound.map((p, i) => `${i + 1}: ${one(p.entangled)} | ${one(p.floor)} (${fmt(p.ratio, '×')}; others ${fmt(p.entangled.otherCpuPct, '%')} | ${fmt(p.floor?.otherCpuPct, '%')})`);
  return `- ${f.files} files: ${rounds.join('; ')}`;
}

function otherTable(rs: ScenarioResult[]): string {
  return table(
    ['scenario', 'what', 'result', 'others CPU', 'target', 'status'],
    rs.map((r) => [r.id, r.title, r.summary, fmt(r.figures.otherCpuPct, '%'), target(r), status(r)]),
  );
}

function compareTable(entangled: ScenarioResult | undefined, cs: CompareResult[]): string {
  const l = entangled?.latency;
  const rows = [
    ['entangled', `${entangled?.params.nodes ?? '?'} nodes, ZeroMQ on loopback`, String(l?.count ?? 0), fmt(l?.p50), fmt(l?.p95), fmt(l?.p99), fmt(entangled?.figures.daemonsCpuPct, '%'), fmt(entangled?.figures.otherCpuPct, '%'), '1', '1', entangled ? status(entangled) : 'not run'],
    ...cs.map((c) => [
      `${c.tool}${c.version ? ` ${c.version}` : ''}`,
      c.command,
      `${c.latency?.count ?? 0}${c.lost ? ` (${c.lost} lost)` : ''}`,
      fmt(c.latency?.p50),
      fmt(c.latency?.p95),
      fmt(c.latency?.p99),
      fmt(c.cpuPct, '%'),
      fmt(c.otherCpuPct, '%'),
      fmt(c.ratioP50, '×'),
      fmt(c.ratioP95, '×'),
      status(c),
    ]),
  ];
  return table(['tool', 'how it ran', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'CPU', 'others CPU', 'p50 vs entangled', 'p95 vs entangled', 'status'], rows);
}

export function renderReport(r: RunReport): string {
  const out: string[] = [];
  const commit = r.git.commit ? `${r.git.commit.slice(0, 10)}${r.git.dirty ? ' (src/ has uncommitted changes)' : ''}` : 'unknown commit';
  out.push(`entangled bench, ${r.mode} run, ${r.date}, ${r.options.nodes} nodes, ${commit}`);
  out.push(`machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, ${r.machine.kernel}, Node ${r.machine.node}; load average ${r.load.start.join(' ')} at the start, ${r.load.end.join(' ')} at the end; took ${fmt(r.totalMs / 1000)} s`);
  const busy = [...r.scenarios.map((s) => [s.id, s.figures.otherCpuPct] as const), ...r.compare.map((c) => [`${c.tool} (${c.variant})`, c.otherCpuPct] as const)].filter(
    ([, pct]) => (pct ?? 0) > BUSY_PCT,
  );
  if (busy.length) {
    out.push(`warning: other processes used more than ${BUSY_PCT}% of a core during ${busy.map(([id, pct]) => `${id} (${pct}%)`).join(', ')}: those figures are disturbed`);
  }
  const lat = r.scenarios.filter((s) => s.id.startsWith('latency-'));
  const other = r.scenarios.filter((s) => !s.id.startsWith('latency-'));
  if (lat.length) {
    out.push('', "Single change: from the origin's write returning until every peer's copy holds the new bytes (md5)", '', latencyTable(lat));
  }
  const floors = lat.filter((s) => latencyFloor(s) !== null);
  if (floors.length) {
    out.push(
      '',
      "Against the bare pipeline of the same stack (bench/floor-node.ts: chokidar → read + md5 → msgpackr → PUB/SUB → temp, fsync, rename, folder fsync), in alternated rounds (entangled 1, bare 1, entangled 2, …), the same loop and clock; each p50 / p99 is the median of that side's rounds, a ratio is entangled's / the bare pipeline's",
      '',
      floorTable(floors),
      '',
      'Per round, p50 / p99 ms, entangled | bare (p50 ratio; CPU of other processes during each, % of a core):',
      ...floors.map(floorRounds),
    );
  }
  if (other.length) out.push('', 'Throughput, scale and idle cost', '', otherTable(other));
  const bursts = other.filter((s) => burstFloor(s) !== null);
  if (bursts.length) {
    out.push(
      '',
      "Files changed at once against the bare pipeline of the same stack (its peer writes a burst through the thread pool, the folder's fsync shared), in alternated bursts (entangled 1, bare 1, entangled 2, …) of new versions of the same files, the same arrival check and clock (from the first write until every peer holds every file); each files/s and time is the median of that side's bursts, the ratio is entangled's files/s / the bare pipeline's",
      '',
      burstTable(bursts),
      '',
      "Per burst, files/s and time (and how long the origin's writes took, within it), entangled | bare (ratio; CPU of other processes during each, % of a core):",
      ...bursts.map(burstRounds),
    );
  }
  if (r.compare.length) {
    out.push('', 'Compared: the same 1 KiB single change, the same measurement', '', compareTable(lat.find((s) => s.id === 'latency-1k'), r.compare));
  }
  const failures = [...r.scenarios.filter((s) => s.status === 'failed').map((s) => [s.id, s.reason]), ...r.compare.filter((c) => c.status !== 'ok').map((c) => [`${c.tool} (${c.variant})`, c.reason])];
  const notes = r.compare.flatMap((c) => c.notes.map((n) => `- ${c.tool} (${c.variant}): ${n}`));
  if (notes.length) out.push('', 'Notes:', ...notes);
  if (failures.length) {
    out.push('', 'Failed or missing:', ...failures.map(([id, why]) => `- ${id}: ${why}`));
  }
  return out.join('\n');
}

/** "2026-11-23T01-02-03Z": the run's date, safe in a file name. */
export function stamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Writes <stamp>.json and <stamp>-latency-cdf.svg, and copies them to latest.json / latest-latency-cdf.svg. */
export function writeResults(r: RunReport, svg: string): { json: string; svg: string } {
  mkdirSync(r.options.outDir, { recursive: true });
  const base = path.join(r.options.outDir, stamp(r.date));
  const files = { json: `${base}.json`, svg: `${base}-latency-cdf.svg` };
  // Arrays of numbers (the samples) on one line each: the file stays readable.
  writeFileSync(files.json, `${compactJson(r)}\n`);
  writeFileSync(files.svg, svg);
  copyFileSync(files.json, path.join(r.options.outDir, 'latest.json'));
  copyFileSync(files.svg, path.join(r.options.outDir, 'latest-latency-cdf.svg'));
  return files;
}
