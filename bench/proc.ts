/** A process's CPU time and memory as Linux reports them in /proc/<pid>. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;
export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU seconds used by `pid` so far: utime + stime, plus cutime + cstime (its children that it
 * has waited for, e.g. lsyncd's rsync runs) when `children` is set. Null when the process is gone.
 */
export function cpuSeconds(pid: number, children = false): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(fields[i] ?? 0);
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  const ticks = n(11) + n(12) + (children ? n(13) + n(14) : 0);
  return ticks / clockTicks();
}

/**
 * CPU seconds used by `root` and every live descendant, each with its reaped children: a child
 * that exits and is waited for moves from the sum of its own into its parent's, so the sum is
 * steady. Null when `root` is gone. A child reaped without a wait (its parent ignores SIGCHLD, as
 * csync2's daemon does) takes its time with it.
 */
export function treeCpuSeconds(root: number): number | null {
  const own = cpuSeconds(root, true);
  if (own === null) return null;
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  let sum = own;
  const todo = [...(children.get(root) ?? [])];
  const seen = new Set([root]);
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    sum += cpuSeconds(pid, true) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return sum;
}

/** VmRSS (now) and VmHWM (peak resident set since start) in MiB; null when the process is gone. */
export function memory(pid: number): { rssMiB: number; peakMiB: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

/** Samples VmRSS of some processes every `everyMs` and keeps the highest seen per pid. */
export class RssSampler {
  readonly max = new Map<number, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly pids: number[],
    everyMs = 1000,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    for (const pid of this.pids) {
      const m = memory(pid);
      if (m) this.max.set(pid, Math.max(this.max.get(pid) ?? 0, m.rssMiB));
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
}

/**
 * CPU used over a stretch of time, in % of one core: by some processes together (their reaped
 * children too when `children`; with 'tree', their whole process trees), and by the bench's own
 * process.
 */
export class CpuWindow {
  readonly #t0 = performance.now();
  readonly #bench0 = process.cpuUsage();
  readonly #cpu0: (number | null)[];

  constructor(
    readonly pids: number[],
    readonly children: boolean | 'tree' = false,
  ) {
    this.#cpu0 = pids.map((p) => this.#seconds(p));
  }

  #seconds(pid: number): number | null {
    return this.children === 'tree' ? treeCpuSeconds(pid) : cpuSeconds(pid, this.children);
  }

  /** null when a process is gone (its CPU time with it). */
  processesPct(): number | null {
    const wallS = (performance.now() - this.#t0) / 1000;
    let used = 0;
    for (const [i, pid] of this.pids.entries()) {
      const now = this.#seconds(pid);
      const then = this.#cpu0[i];
      if (now === null || then === null || then === undefined) return null;
      used += now - then;
    }
    return wallS > 0 ? Math.round((1000 * used) / wallS) / 10 : null;
  }

  benchPct(): number {
    const used = process.cpuUsage(this.#bench0);
    const wallUs = (performance.now() - this.#t0) * 1000;
    return wallUs > 0 ? Math.round((1000 * (used.user + used.system)) / wallUs) / 10 : 0;
  }
}

/**
 * CPU of some processes over several stretches of time (the rounds of one side of an
 * alternated run), in % of one core over those stretches' wall time together; the bench's own
 * process too.
 */
export class CpuRounds {
  #used = 0;
  #bench = 0;
  #wallS = 0;
  #lost = false;
  #open: { t0: number; cpu0: (number | null)[]; bench0: NodeJS.CpuUsage } | null = null;

  constructor(readonly pids: number[]) {}

  start(): void {
    this.#open = { t0: performance.now(), cpu0: this.pids.map((p) => cpuSeconds(p)), bench0: process.cpuUsage() };
  }

  /** Ends the stretch started last; returns its figure alone (null when a process is gone). */
  stop(): number | null {
    const o = this.#open;
    if (!o) return null;
    this.#open = null;
    const wallS = (performance.now() - o.t0) / 1000;
    let used = 0;
    for (const [i, pid] of this.pids.entries()) {
      const now = cpuSeconds(pid);
      const then = o.cpu0[i];
      if (now === null || then === null || then === undefined) {
        this.#lost = true;
        return null;
      }
      used += now - then;
    }
    const bench = process.cpuUsage(o.bench0);
    this.#used += used;
    this.#bench += (bench.user + bench.system) / 1e6;
    this.#wallS += wallS;
    return wallS > 0 ? Math.round((1000 * used) / wallS) / 10 : null;
  }

  /** Over every stretch stopped so far; null when none, or when a process was gone at one. */
  processesPct(): number | null {
    return this.#lost || this.#wallS === 0 ? null : Math.round((1000 * this.#used) / this.#wallS) / 10;
  }

  benchPct(): number | null {
    return this.#wallS === 0 ? null : Math.round((1000 * this.#bench) / this.#wallS) / 10;
  }
}
