import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defineCluster, md5, md5File, startCluster, startNode, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';

const MiB = 1024 * 1024;

function save(path: string, data: Buffer): void {
  writeFileSync(`${path}.new`, data);
  renameSync(`${path}.new`, path);
}

describe('large files travel in chunks', () => {
  it('a 12 MiB file replicates both ways, and force pull/push move large versions', async () => {
    const { root, nodes } = await defineCluster({ files: { 'big.bin': 'small at first\n', 'big2.bin': 'x\n' } });
    const [a, b0] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    let b = b0;
    /** Both copies changed while beta was down: a split-brain found at its restart. */
    const splitBrain = async (file: string, mine: Buffer, theirs: Buffer | null) => {
      await b.stop('SIGKILL');
      save(a.file(file), mine);
      if (theirs) save(b.file(file), theirs);
      await waitFor('alpha hashed its change', async () => (await a.state()).files.find((f) => f.name === file)!.md5 === md5(mine));
      b = await startNode(nodes[1]!);
      await a.waitStatus(file, 'split-brain');
      await b.waitStatus(file, 'split-brain');
    };
    try {
      const v1 = randomBytes(12 * MiB + 123);
      save(a.file('big.bin'), v1);
      await waitFor('beta holds v1', () => md5File(b.file('big.bin')) === md5(v1), 20000, 20);
      await a.waitStatus('big.bin', 'aligned');

      const v2 = Buffer.concat([v1, randomBytes(5 * MiB)]);
      save(b.file('big.bin'), v2);
      await waitFor('alpha holds v2', () => md5File(a.file('big.bin')) === md5(v2), 20000, 20);
      await b.waitStatus('big.bin', 'aligned');
      const st = (await a.state()).files.find((f) => f.name === 'big.bin')!;
      assert.equal(st.size, v2.length);
      assert.equal(st.md5, md5(v2));

      // A split-brain on a large file, resolved by force pull and then force push.
      const mine = randomBytes(3 * MiB);
      const theirs = randomBytes(6 * MiB);
      await splitBrain('big2.bin', mine, theirs);
      const pulled = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ files: ['big2.bin'] }) });
      assert.equal(pulled.status, 200);
      const report = (await pulled.json()) as { results: { result: string; md5: string }[] };
      assert.deepEqual(report.results.map((r) => [r.result, r.md5]), [['updated', md5(theirs)]]);
      assert.ok(readFileSync(a.file('big2.bin')).equals(theirs));
      await a.waitStatus('big2.bin', 'aligned');
      await b.waitStatus('big2.bin', 'aligned');

      const diff = await fetch(`${a.api}/api/1/diff?file=big.bin`);
      assert.equal(diff.status, 200, 'a 17 MiB file is too large to diff: an answer without one');
      const d = (await diff.json()) as { diff: string | null; tooLarge?: boolean };
      assert.deepEqual([d.diff, d.tooLarge], [null, true]);

      const pushed = randomBytes(5 * MiB);
      await splitBrain('big2.bin', pushed, null);
      const push = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ files: ['big2.bin'], direction: 'push' }) });
      assert.equal(push.status, 200);
      assert.equal(md5File(b.file('big2.bin')), md5(pushed));
      await b.waitStatus('big2.bin', 'aligned');
    } finally {
      await stopAll([a, b], root);
    }
  });
});
