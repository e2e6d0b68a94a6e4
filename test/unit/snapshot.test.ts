import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { cachedMd5, md5Of, readRange, readSnapshot, readSnapshotSync, SMALL_FILE_BYTES } from '../../src/io/snapshot.js';

describe('snapshot (real files)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'entangled-snap-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const small = path.join(dir, 'small.conf');
  const large = path.join(dir, 'large.bin');
  const smallData = Buffer.from('listen 80\n');
  const largeData = randomBytes(SMALL_FILE_BYTES + 12345);
  writeFileSync(small, smallData);
  writeFileSync(large, largeData);

  test('a small file comes whole, with its md5 and identity', async () => {
    const s = await readSnapshot(small);
    assert.ok(s);
    assert.equal(s.md5, md5Of(smallData));
    assert.ok(s.data?.equals(smallData));
    assert.equal(s.size, smallData.length);
    assert.match(s.sig, /^\d+:\d+:\d+:\d+$/);
  });

  test('a read is settled only when the file\'s ctime was 20 ms old; then its md5 is reused until the identity moves', async () => {
    const f = path.join(dir, 'settle.conf');
    writeFileSync(f, 'v1\n');
    const fresh = readSnapshotSync(f)!;
    // Read at once after the write: a change in the same clock tick could keep this identity.
    if (Date.now() - statSync(f).ctimeMs < 15) assert.equal(fresh.settled, false);
    const ctime = statSync(f).ctimeMs;
    while (Date.now() - ctime < 30) await new Promise((r) => setTimeout(r, 5));
    const old = readSnapshotSync(f)!;
    assert.equal(old.settled, true);
    const cache = { sig: old.sig, md5: old.md5 };
    assert.equal(cachedMd5(f, cache), md5Of(Buffer.from('v1\n')));
    writeFileSync(f, 'v2\n'); // same size, same inode: only the times move
    assert.equal(cachedMd5(f, cache), undefined);
    assert.equal(cachedMd5(f, null), undefined);
  });

  test('a large file is hashed while streaming and never held', async () => {
    assert.equal(readSnapshotSync(large), undefined);
    const s = await readSnapshot(large);
    assert.ok(s);
    assert.equal(s.data, null);
    assert.equal(s.size, largeData.length);
    assert.equal(s.md5, md5Of(largeData));
  });

  test('the hash cache is used while the identity is unchanged, and dropped when it moves', async () => {
    const s = (await readSnapshot(large))!;
    const fake = { sig: s.sig, md5: '0'.repeat(32) };
    assert.equal((await readSnapshot(large, fake))!.md5, fake.md5, 'an unchanged file is not read again');
    appendFileSync(large, 'x');
    assert.equal((await readSnapshot(large, fake))!.md5, md5Of(Buffer.concat([largeData, Buffer.from('x')])));
  });

  test('absent files are null; ranges read what is there', async () => {
    assert.equal(await readSnapshot(path.join(dir, 'nope')), null);
    assert.equal(readSnapshotSync(path.join(dir, 'nope')), null);
    assert.equal(await readSnapshot(dir), null, 'a folder is not a file');
    assert.ok((await readRange(large, 10, 100)).equals(largeData.subarray(10, 110)));
    assert.equal((await readRange(small, 5, 100)).length, smallData.length - 5);
  });
});
