/**
 * The single-change measurement shared by entangled's latency scenarios and the compared tools:
 * rewrite one file in the origin's folder, and time from the write returning until every peer
 * folder's copy holds the new bytes (md5), one change at a time, `gapMs` apart.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FolderWatch } from './arrival.js';
import { sleep, within } from './context.js';
import { fmtBytes } from './scenario.js';

/** Contents of one size that differ at every sample: random filler made once, a unique head each time. */
export class ContentMaker {
  readonly #buf: Buffer;

  constructor(readonly size: number) {
    this.#buf = randomBytes(size);
  }

  /** The next content and its md5 (the buffer is reused: write it before asking for the next). */
  next(i: number): { data: Buffer; md5: string } {
    const head = Buffer.from(`sample ${i} ${randomBytes(6).toString('hex')}\n`);
    head.copy(this.#buf, 0, 0, Math.min(head.length, this.size));
    return { data: this.#buf, md5: createHash('md5').update(this.#buf).digest('hex') };
  }
}

export interface ChangeRun {
  /** The file written, in the origin's folder. */
  originFile: string;
  /** The folders whose copy of the same name must follow. */
  peerDirs: string[];
  size: number;
  samples: number;
  /** Changes made first and not counted (the JIT, the first connection's buffers). */
  warmup: number;
  gapMs: number;
  /** A random 0..jitterMs is added to each gap (default 0). */
  jitterMs?: number;
  /** How long one change may take to arrive everywhere. */
  perSampleMs: number;
  signal: AbortSignal;
  /** Receives each counted sample as soon as it is taken (so a failure keeps those before it). */
  onSample: (ms: number) => void;
  /** Called once the warm-up changes are done, before the first counted one. */
  afterWarmup?: () => Promise<void>;
  pollMs?: number;
}

/** Runs the samples; throws (with the sample's number) when one does not arrive in time. */
export async function measureChanges(run: ChangeRun): Promise<{ seenByWatch: number; seenByPoll: number }> {
  const name = path.basename(run.originFile);
  const watches = run.peerDirs.map((d) => new FolderWatch(d, run.pollMs ?? 5));
  const maker = new ContentMaker(run.size);
  try {
    for (let i = -run.warmup; i < run.samples; i++) {
      if (i === 0) await run.afterWarmup?.();
      const { data, md5 } = maker.next(i);
      const arrivals = Promise.all(watches.map((w) => w.expect(name, md5, run.size)));
      writeFileSync(run.originFile, data);
      const t0 = performance.now();
      const label = i < 0 ? `warm-up change ${i + run.warmup + 1}/${run.warmup}` : `change ${i + 1}/${run.samples}`;
      const times = await within(`${label} (${fmtBytes(run.size)}) to arrive at every peer`, arrivals, run.perSampleMs, run.signal);
      if (i >= 0) run.onSample(Math.max(...times) - t0);
      await sleep(run.gapMs + Math.random() * (run.jitterMs ?? 0), run.signal);
    }
  } finally {
    for (const w of watches) w.close();
  }
  return {
    seenByWatch: watches.reduce((a, w) => a + w.seen.watch, 0),
    seenByPoll: watches.reduce((a, w) => a + w.seen.poll, 0),
  };
}
