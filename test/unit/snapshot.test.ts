import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cachedMd5, FileTooLarge, md5Of, NotRegularFile, readRange, readSnapshot, readSnapshotSync, SMALL_FILE_BYTES } from '../../src/io/snapshot.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULE = path.join(HERE, '../../src/io/snapshot.ts');

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
    await assert.rejects(readSnapshot(dir), NotRegularFile, 'a folder is not a file');
    assert.ok((await readRange(large, 10, 100)).equals(largeData.subarray(10, 110)));
    assert.equal((await readRange(small, 5, 100)).length, smallData.length - 5);
  });

  test('a FIFO, or a link to one, never blocks a read: the FIFO is refused, the link reads as absent (its link is the problem)', () => {
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    symlinkSync('pipe', path.join(dir, 'to-pipe'));
    // In a child process with a deadline: a read that blocks would block this test's own timers too.
    const script = `
      const { readSnapshot, readSnapshotSync } = await import(${JSON.stringify(MODULE)});
      const out = [];
      for (const f of ${JSON.stringify([fifo, path.join(dir, 'to-pipe')])}) {
        for (const read of [async () => readSnapshotSync(f), () => readSnapshot(f)]) {
          try { out.push(String(await read())); } catch (err) { out.push(err.name + ': ' + err.message); }
        }
      }
      console.log(JSON.stringify(out));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.join(HERE, '../..'), timeout: 10_000 });
    const refused = `NotRegularFile: ${fifo} is a FIFO, not a regular file: it is neither read nor written until it is one again`;
    assert.deepEqual(JSON.parse(out.toString()), [refused, refused, 'null', 'null']);
  });

  test('a file over maxBytes is refused from its size, sparse or not, on both paths; at the cap it is read', async () => {
    const sparse = path.join(dir, 'sparse.img');
    writeFileSync(sparse, '');
    truncateSync(sparse, 2 * 1024 ** 3);
    const cap = 1024 ** 3;
    assert.throws(() => readSnapshotSync(sparse, cap), (err: unknown) => err instanceof FileTooLarge && err.size === 2 * 1024 ** 3 && err.message === `${sparse} is 2147483648 bytes, over maxBytes (1073741824): it is not sent (raise maxBytes to replicate it)`);
    await assert.rejects(readSnapshot(sparse, null, cap), FileTooLarge);
    assert.throws(() => readSnapshotSync(small, smallData.length - 1), FileTooLarge);
    assert.equal(readSnapshotSync(small, smallData.length)?.md5, md5Of(smallData));
    // (An earlier test appended to it.)
    const largeSize = statSync(large).size;
    await assert.rejects(readSnapshot(large, null, largeSize - 1), FileTooLarge);
    assert.equal((await readSnapshot(large, null, largeSize))?.size, largeSize);
  });
});
