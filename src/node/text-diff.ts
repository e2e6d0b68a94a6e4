import { Worker } from 'node:worker_threads';

export interface DiffSide {
  readonly label: string;
  /** The bytes, or null when that side has no such file (diffed as empty). */
  readonly data: Uint8Array | null;
}

/** A diff's outcome: the patch, or null with `binary` (not text) or `tooLarge` (not computed in time or past the edit limit). */
export interface DiffOutcome {
  readonly binary: boolean;
  readonly diff: string | null;
  readonly tooLarge?: true;
}

/** Changed lines past which a diff is not computed: no one reads it, and its cost grows with their square. */
export const DIFF_MAX_EDITS = 2000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `data`, or null when it is not UTF-8 text (binary: NUL bytes or invalid UTF-8). */
function asText(data: Uint8Array | null): string | null {
  if (data === null) return '';
  if (data.includes(0)) return null;
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

// The worker's code: the `diff` package, loaded by the URL the main thread resolved (this file
// runs from dist/ and, in tests, from src/ through tsx: no worker file to point at in both).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.diffUrl).then(({ createTwoFilesPatch }) => {
  parentPort.once('message', (m) => {
    const patch = createTwoFilesPatch(m.a.label, m.b.label, m.a.text, m.b.text, undefined, undefined, { context: 3, timeout: m.timeoutMs, maxEditLength: m.maxEdits });
    parentPort.postMessage(patch === undefined ? null : patch);
  });
});
`;
const DIFF_URL = import.meta.resolve('diff');

/** One diff worker at a time: a second request waits for it (within its own deadline), so diffs never take both cores. */
let busy: Promise<void> = Promise.resolve();

/**
 * A unified diff from `a` (---) to `b` (+++), null with `binary` when either is not text; computed
 * on a worker thread with at most DIFF_MAX_EDITS changed lines, and answered by `deadline` (a `performance.now()` time) at the
 * latest: past it the worker is stopped and the answer is `tooLarge`. The node's own thread
 * never runs the diff, so replication and the API go on meanwhile.
 */
export async function unifiedDiffWithin(a: DiffSide, b: DiffSide, deadline: number): Promise<DiffOutcome> {
  const ta = asText(a.data);
  const tb = asText(b.data);
  if (ta === null || tb === null) return { binary: true, diff: null };
  const tooLarge: DiffOutcome = { binary: false, diff: null, tooLarge: true };
  const before = busy;
  let release!: () => void;
  busy = new Promise((r) => (release = r));
  let holding = false;
  try {
    holding = await Promise.race([before.then(() => true), sleepUntil(deadline).then(() => false)]);
    const left = deadline - performance.now();
    if (!holding || left <= 0) return tooLarge;
    const patch = await runWorker({ a: { label: a.label, text: ta }, b: { label: b.label, text: tb }, timeoutMs: Math.max(1, left - 50), maxEdits: DIFF_MAX_EDITS }, left);
    return patch === null ? tooLarge : { binary: false, diff: patch.replace(/^=+\n/, '') };
  } finally {
    // A request that gave up waiting passes its turn on only once the one before it is done.
    if (holding) release();
    else void before.then(release);
  }
}

function sleepUntil(deadline: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())).unref());
}

/** The worker's patch, or null when it gave up, failed, or was still at work after `ms` (it is then stopped). */
function runWorker(job: unknown, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { diffUrl: DIFF_URL }, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    let done = false;
    const finish = (patch: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(patch);
    };
    const timer = setTimeout(() => finish(null), ms);
    worker.once('message', (patch: string | null) => finish(patch));
    worker.once('error', () => finish(null));
    worker.once('exit', () => finish(null));
    worker.postMessage(job);
  });
}
