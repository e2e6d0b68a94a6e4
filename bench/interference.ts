/**
 * How much CPU the rest of the machine used while a scenario ran: the machine's busy time
 * (/proc/stat) minus that of the bench and its descendants (daemons, tools, rsync; reaped
 * children included through cutime/cstime). On a shared 2-core machine a test suite running
 * meanwhile skews latencies; the report shows this figure so such a run is recognised instead of
 * trusted. Kernel work (interrupts, and the loopback traffic the daemons cause) counts as other,
 * so a quiet machine shows a few percent.
 */
import { readFileSync } from 'node:fs';
import { clockTicks, treeCpuSeconds } from './proc.js';

/** Above this, other processes' CPU during a scenario (in % of one core) is flagged in the report. */
export const BUSY_PCT = 10;

/** Busy clock ticks of all CPUs together: everything but idle and iowait. */
function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return [user, nice, system, irq, softirq, steal].reduce((a: number, v) => a + (v ?? 0), 0);
}

/** CPU seconds of the bench and every descendant (each with its reaped children). */
function ourSeconds(): number {
  return treeCpuSeconds(process.pid) ?? 0;
}

export class OtherLoad {
  readonly #t0 = performance.now();
  readonly #busy0 = machineBusyTicks();
  readonly #ours0 = ourSeconds();

  /** CPU used outside the bench's process tree since construction, in % of one core. */
  pct(): number {
    const ticks = machineBusyTicks() - this.#busy0 - (ourSeconds() - this.#ours0) * clockTicks();
    const seconds = (performance.now() - this.#t0) / 1000;
    return seconds > 0 ? Math.max(0, Math.round((1000 * ticks) / clockTicks() / seconds) / 10) : 0;
  }
}
