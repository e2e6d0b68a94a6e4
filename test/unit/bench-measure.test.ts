import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { measureChanges } from '../../bench/measure.js';

const root = mkdtempSync(path.join(tmpdir(), 'entangled-bench-measure-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A "tool" that copies A/f to B/f on every new content, except the `skip`-th (1-based): that change is lost. */
function lossyCopier(a: string, b: string, skip: number): () => void {
  let last = '';
  let seen = 0;
  const w = watch(a, () => {
    let now: string;
    try {
      now = readFileSync(path.join(a, 'f')).toString('hex');
    } catch {
      return;
    }
    // A write in place shows an empty file for a moment (the truncate): not a version.
    if (now === last || now.length === 0) return;
    last = now;
    if (++seen === skip) return;
    copyFileSync(path.join(a, 'f'), path.join(b, 'f'));
  });
  return () => w.close();
}

describe('bench/measure.ts: measureChanges', () => {
  for (const [what, onLost] of [
    ['without onLost, a change that never arrives fails the run (entangled\'s scenarios)', false],
    ['with onLost, it is reported by number and the next change is made (a compared tool)', true],
  ] as const) {
    test(what, async () => {
      const dir = mkdtempSync(path.join(root, 'run-'));
      const [a, b] = [path.join(dir, 'A'), path.join(dir, 'B')];
      mkdirSync(a);
      mkdirSync(b);
      writeFileSync(path.join(a, 'f'), 'x'.repeat(64));
      writeFileSync(path.join(b, 'f'), 'x'.repeat(64));
      // Warm-up change 1, then counted changes 1, 2, 3: the third new content (counted change 2) is lost.
      const stop = lossyCopier(a, b, 3);
      const samples: number[] = [];
      const lost: number[] = [];
      const run = measureChanges({
        originFile: path.join(a, 'f'),
        peerDirs: [b],
        size: 64,
        samples: 3,
        warmup: 1,
        gapMs: 20,
        perSampleMs: 1000,
        signal: new AbortController().signal,
        onSample: (ms) => samples.push(ms),
        ...(onLost ? { onLost: (i: number) => lost.push(i) } : {}),
      });
      try {
        if (!onLost) {
          await assert.rejects(run, /change 2\/3 \(64 B\) to arrive at every peer/);
          assert.equal(samples.length, 1);
        } else {
          await run;
          assert.deepEqual(lost, [1]);
          assert.equal(samples.length, 2);
        }
      } finally {
        stop();
      }
    });
  }
});
