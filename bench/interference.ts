/**
 * How much CPU the rest of the machine used while a scenario ran: the machine's busy time
 * (/proc/stat) minus that of the bench and its descendants (daemons, tools, rsync; reaped
 * children included through cutime/cstime). On a shared 2-core machine a test suite running
 * meanwhile skews latencies; the report shows this figure so such a run is recognised instead of
 * trusted. Kernel work (interrupts, and the loopback traffic the daemons cause) counts as other,
 * so a quiet machine shows a few percent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicks } from './proc.js';

/** Above this, other processes' CPU during a scenario (in % of one core) is flagged in the report. */
export const BUSY_PCT = 10;

/** Busy clock ticks of all CPUs together: everything but idle and iowait. */
function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return [user, nice, system, irq, softirq, steal].reduce((a: number, v) => a + (v ?? 0), 0);
}

/** CPU ticks of the bench and every descendant: utime + stime + cutime + cstime. */
function ourTicks(): number {
  const procs: { pid: number; ppid: number; ticks: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After the command name: f[0] is field 3 (state), ppid field 4, utime 14 … cstime 17.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    procs.push({ pid: Number(name), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
  }
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const mine = new Set<number>();
  const todo = [process.pid];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (mine.has(pid)) continue;
    mine.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return procs.filter((p) => mine.has(p.pid)).reduce((a, p) => a + p.ticks, 0);
}

export class OtherLoad {
  readonly #t0 = performance.now();
  readonly #busy0 = machineBusyTicks();
  readonly #ours0 = ourTicks();

  /** CPU used outside the bench's process tree since construction, in % of one core. */
  pct(): number {
    const ticks = machineBusyTicks() - this.#busy0 - (ourTicks() - this.#ours0);
    const seconds = (performance.now() - this.#t0) / 1000;
    return seconds > 0 ? Math.max(0, Math.round((1000 * ticks) / clockTicks() / seconds) / 10) : 0;
  }
}
