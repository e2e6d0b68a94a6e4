/**
 * The single-change measurement shared by entangled's latency scenarios and the compared tools:
 * rewrite one file in the origin's folder, and time from the write returning until every peer
 * folder's copy holds the new bytes (md5), one change at a time, `gapMs` apart. The loop and the
 * contents are src/bench/measure.ts's, shared with `entangled bench`. And the burst measurement
 * (measureBurst): many files rewritten at once.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runChanges } from '../src/bench/measure.js';
import { md5 } from '../test/helpers/cluster.js';
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
  /**
   * A compared tool's change that does not arrive within `perSampleMs` is reported here (its
   * number, negative for a warm-up change) and the next change is made; without it, such a change
   * fails the run (entangled's own scenarios: every change must arrive).
   */
  onLost?: (i: number, reason: string) => void;
}

/** Runs the samples; throws (with the sample's number) when one does not arrive in time, unless `onLost` takes it. */
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
        const arrived = within(`${label} (${fmtBytes(run.size)}) to arrive at every peer`, arrivals, run.perSampleMs, run.signal);
        const lost = run.onLost;
        if (!lost) return () => arrived;
        return () =>
          arrived.catch((err: unknown) => {
            if (run.signal.aborted) throw err;
            lost(i, (err as Error).message);
            return null;
          });
      },
      write: (data) => writeFileSync(run.originFile, data),
      onSample: (_i, times, t0) => {
        if (times !== null) run.onSample(Math.max(...times) - t0);
      },
    });
  } finally {
    for (const w of watches) w.close();
  }
  return {
    seenByWatch: watches.reduce((a, w) => a + w.seen.watch, 0),
    seenByPoll: watches.reduce((a, w) => a + w.seen.poll, 0),
  };
}

export interface BurstRun {
  /** The origin's path of a listed name. */
  originFile: (name: string) => string;
  /** The folders that must receive every file, with a name for the error. */
  peers: { name: string; dir: string }[];
  /** Every file's new content, all of one size. */
  files: { name: string; data: Buffer }[];
  /** How long they may take to arrive everywhere. */
  timeoutMs: number;
  signal: AbortSignal;
  /** Called just before the first write, after the peers' copies are hashed (a CPU window starts here). */
  beforeWrites?: () => void;
}

/**
 * The burst measurement shared by burst1000 (entangled's bursts and the bare pipeline's) and
 * `bench/floor.ts --burst`: every file rewritten back to back on the origin, each peer folder
 * watched (FolderWatch, 100 ms polling fallback); returns the clock readings, from just before
 * the first write until every file was seen at every peer. Throws, saying how many files each
 * peer still lacked, when they do not all arrive in time.
 */
export async function measureBurst(run: BurstRun): Promise<{ t0: number; written: number; arrivals: number[]; seenByWatch: number; seenByPoll: number }> {
  const watches = run.peers.map((p) => new FolderWatch(p.dir, 100));
  try {
    const names = run.files.map((f) => f.name);
    for (const w of watches) w.prime(names);
    const arrivals = Promise.all(watches.flatMap((w) => run.files.map(({ name, data }) => w.expect(name, md5(data), data.length))));
    run.beforeWrites?.();
    const t0 = performance.now();
    for (const { name, data } of run.files) writeFileSync(run.originFile(name), data);
    const written = performance.now();
    let times: number[];
    try {
      times = await within(`all ${run.files.length} files to arrive at every peer`, arrivals, run.timeoutMs, run.signal);
    } catch (err) {
      const left = run.peers.map((p, i) => `${p.name} still lacked ${watches[i]!.pending} of ${run.files.length}`).join(', ');
      throw new Error(`${(err as Error).message} (${left})`);
    }
    return {
      t0,
      written,
      arrivals: times,
      seenByWatch: watches.reduce((a, w) => a + w.seen.watch, 0),
      seenByPoll: watches.reduce((a, w) => a + w.seen.poll, 0),
    };
  } finally {
    for (const w of watches) w.close();
  }
}
