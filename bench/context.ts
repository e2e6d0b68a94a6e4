/**
 * What a scenario runs inside: an abort signal (its time budget, or a daemon that died), a stack
 * of clean-ups that always run, and bounded waits that observe the signal.
 */
import { abortError, sleep } from '../src/bench/measure.js';
import type { Options } from './types.js';

export { sleep };

export class ScenarioContext {
  readonly #controller = new AbortController();
  readonly #cleanups: (() => unknown)[] = [];
  readonly #diagnostics: (() => string | Promise<string>)[] = [];
  readonly notes: string[] = [];

  constructor(
    readonly id: string,
    readonly opts: Options,
  ) {}

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Stops the scenario: every wait rejects with `err`. The first reason wins. */
  fail(err: Error): void {
    if (!this.signal.aborted) this.#controller.abort(err);
  }

  /** Registers a clean-up; they run in reverse order when the scenario ends, whatever happened. */
  defer(fn: () => unknown): void {
    this.#cleanups.push(fn);
  }

  /** Registers something worth saying when the scenario fails (a daemon's last log lines). */
  diagnose(fn: () => string | Promise<string>): void {
    this.#diagnostics.push(fn);
  }

  async diagnostics(): Promise<string> {
    const said = await Promise.all(this.#diagnostics.map(async (fn) => fn()));
    return said.filter(Boolean).join('; ');
  }

  async cleanup(): Promise<void> {
    while (this.#cleanups.length > 0) {
      const fn = this.#cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        this.progress(`clean-up failed: ${String(err)}`);
      }
    }
  }

  progress(msg: string): void {
    process.stderr.write(`[bench] ${this.id}: ${msg}\n`);
  }
}

/** Settles like `promise`, or rejects with "timed out after … waiting for `what`", or with the abort reason. */
export function within<T>(what: string, promise: Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${fmtSeconds(timeoutMs)} waiting for ${what}`));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        done();
        resolve(v);
      },
      (err: unknown) => {
        done();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Calls `fn` every `everyMs` until it returns a truthy value; bounded by `timeoutMs` and `signal`. */
export async function until<T>(
  what: string,
  fn: () => T | Promise<T>,
  opts: { timeoutMs: number; everyMs: number; signal?: AbortSignal },
): Promise<NonNullable<T>> {
  const deadline = performance.now() + opts.timeoutMs;
  let last: unknown = null;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${fmtSeconds(opts.timeoutMs)} waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await sleep(opts.everyMs, opts.signal);
  }
}

export function fmtSeconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
