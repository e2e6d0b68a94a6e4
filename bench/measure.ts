/**
 * The single-change measurement shared by entangled's latency scenarios and the compared tools:
 * rewrite one file in the origin's folder, and time from the write returning until every peer
 * folder's copy holds the new bytes (md5), one change at a time, `gapMs` apart. The loop and the
 * contents are src/bench/measure.ts's, shared with `entangled bench`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runChanges } from '../src/bench/measure.js';
import { FolderWatch } from './arrival.js';
import { within } from './context.js';
import { fmtBytes } from './scenario.js';

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
  try {
    await runChanges({
      size: run.size,
      samples: run.samples,
      warmup: run.warmup,
      gapMs: run.gapMs,
      jitterMs: run.jitterMs,
      signal: run.signal,
      afterWarmup: run.afterWarmup,
      arm: (md5, i) => {
        const arrivals = Promise.all(watches.map((w) => w.expect(name, md5, run.size)));
        const label = i < 0 ? `warm-up change ${i + run.warmup + 1}/${run.warmup}` : `change ${i + 1}/${run.samples}`;
        return () => within(`${label} (${fmtBytes(run.size)}) to arrive at every peer`, arrivals, run.perSampleMs, run.signal);
      },
      write: (data) => writeFileSync(run.originFile, data),
      onSample: (_i, times, t0) => run.onSample(Math.max(...times) - t0),
    });
  } finally {
    for (const w of watches) w.close();
  }
  return {
    seenByWatch: watches.reduce((a, w) => a + w.seen.watch, 0),
    seenByPoll: watches.reduce((a, w) => a + w.seen.poll, 0),
  };
}
