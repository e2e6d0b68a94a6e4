/**
 * Step marks for the bench's step table (bench/README.md, "Where the time goes"): with
 * `ENTANGLED_TRACE=DIR` in the environment, each process appends `<ns> <step>` lines to
 * `DIR/<role>.<pid>` once a second, the time from the monotonic clock (the same in every process
 * of the machine, so steps of the origin, the peer and the bench line up) once it called
 * `traceAs`. Otherwise (a process that never names itself, e.g. `entangled bench`), `mark` is a
 * call that returns at once and nothing is kept. Nothing a user runs sets it; it is a developer's instrument.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';

const dir = process.env.ENTANGLED_TRACE || null;
let file: string | null = null;
const times: number[] = [];
const steps: string[] = [];

/** Names this process in the trace (`entangled`, `floor`, `bench`) and starts its marks. */
export function traceAs(role: string): void {
  if (dir === null || file !== null) return;
  mkdirSync(dir, { recursive: true });
  file = path.join(dir, `${role}.${process.pid}`);
  setInterval(flush, 1000).unref();
  process.once('exit', flush);
  // Garbage collections as steps too: `gc <µs>` at the pause's start.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) markAt(e.startTime, `gc ${Math.round(e.duration * 1000)}`);
  }).observe({ entryTypes: ['gc'] });
}

/** Notes that this process reached `step` now. */
export function mark(step: string): void {
  if (file === null) return;
  times.push(Number(process.hrtime.bigint()));
  steps.push(step);
}

/** Notes `step` at `at`, a performance.now() time of this process. */
export function markAt(at: number, step: string): void {
  if (file === null) return;
  times.push(Number(process.hrtime.bigint()) - Math.round((performance.now() - at) * 1e6));
  steps.push(step);
}

function flush(): void {
  if (file === null || times.length === 0) return;
  appendFileSync(file, times.map((t, i) => `${t} ${steps[i]}\n`).join(''));
  times.length = 0;
  steps.length = 0;
}
