/**
 * The single-change measurement loop shared by `entangled bench` and the harness in bench/:
 * write one new version of a file, wait for its arrivals, pause, write the next, one change at
 * a time. Where the arrivals are seen (a folder on this host, a node's event stream) is the
 * caller's; the loop only orders arming, writing and the clock (performance.now(), monotonic).
 */
import { createHash, randomBytes } from 'node:crypto';
import { markAt } from '../trace.js';

/** Contents of one size that differ at every sample: filler made once, a unique head each time. */
export class ContentMaker {
  readonly #buf: Buffer;

  /** `text`: printable lines of hex instead of random bytes (a probe file a person may open). */
  constructor(
    readonly size: number,
    text = false,
  ) {
    this.#buf = text ? textFiller(size) : randomBytes(size);
  }

  /** The next content and its md5 (the buffer is reused: write it before asking for the next). */
  next(i: number): { data: Buffer; md5: string } {
    const head = Buffer.from(`sample ${i} ${randomBytes(6).toString('hex')}\n`);
    head.copy(this.#buf, 0, 0, Math.min(head.length, this.size));
    return { data: this.#buf, md5: createHash('md5').update(this.#buf).digest('hex') };
  }
}

/** `size` bytes of 64-character lines of random hex, each ending in a newline. */
function textFiller(size: number): Buffer {
  const hex = Buffer.from(randomBytes(Math.ceil(size / 2)).toString('hex').slice(0, size));
  for (let i = 63; i < size; i += 64) hex[i] = 0x0a;
  if (size > 0) hex[size - 1] = 0x0a;
  return hex;
}

/** The shortest head ContentMaker writes in full, so that every sample's md5 is new. */
export const MIN_CONTENT_SIZE = 64;

/** The reason `signal` aborted with, as an Error. */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(String(r ?? 'aborted'));
}

/** Resolves after `ms`; rejects at once (with the abort reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ChangeLoop<T> {
  size: number;
  /** Counted changes. */
  samples: number;
  /** Changes made first and not counted (the JIT, the first connection's buffers). */
  warmup: number;
  /** The pause after a change is done, before the next one is written. */
  gapMs: number;
  /** A random 0..jitterMs is added to each gap (default 0). */
  jitterMs?: number;
  /** Printable content (see ContentMaker). */
  text?: boolean;
  signal?: AbortSignal;
  /**
   * Starts listening for change `i` (negative: a warm-up) before it is written; the function it
   * returns is called once the write returned, with the time it returned, and settles when the
   * change is done (with what the caller measured, or rejecting to stop the loop).
   */
  arm(md5: string, i: number): (t0: number) => Promise<T>;
  /** Writes the content (synchronously: the clock starts when it returns). */
  write(data: Buffer, i: number): void;
  /** Receives each counted change's result as soon as it is done. */
  onSample(i: number, result: T, t0: number): void;
  /** Called once the warm-up changes are done, before the first counted one. */
  afterWarmup?: () => Promise<void>;
}

/** Runs the changes one at a time; rejects with the first rejection of a change or of a pause. */
export async function runChanges<T>(run: ChangeLoop<T>): Promise<void> {
  const maker = new ContentMaker(run.size, run.text);
  for (let i = -run.warmup; i < run.samples; i++) {
    if (i === 0) await run.afterWarmup?.();
    const { data, md5 } = maker.next(i);
    const done = run.arm(md5, i);
    run.write(data, i);
    const t0 = performance.now();
    markAt(t0, 'write');
    const result = await done(t0);
    if (i >= 0) run.onSample(i, result, t0);
    await sleep(run.gapMs + Math.random() * (run.jitterMs ?? 0), run.signal);
  }
}
