import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { BackupStore } from '../../src/io/backups.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function fixture(limit: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'entangled-backups-'));
  dirs.push(dir);
  const file = path.join(dir, 'app.conf');
  const store = new BackupStore(path.join(dir, 'state'), limit);
  /** Writes `content` as the file's new inode (as a rename-over would) after keeping the old. */
  const replace = (content: string, now: number) => {
    const old = readFileSync(file, 'utf8');
    store.keep('conf/app.conf', file, md5(old), old.length, now);
    rmSync(file);
    writeFileSync(file, content);
  };
  return { dir, file, store, replace };
}

describe('BackupStore', () => {
  test('keeps the replaced versions newest first, at most `limit`, with md5, size and time', async () => {
    const { file, store, replace } = fixture(2);
    writeFileSync(file, 'v0\n');
    replace('v1 is longer\n', 1_000_000_000_000);
    replace('v2\n', 1_000_000_000_001);
    replace('v3\n', 1_000_000_000_002);
    const kept = await store.list('conf/app.conf');
    assert.deepEqual(
      kept.map(({ md5: m, size, savedAt }) => ({ m, size, savedAt })),
      [
        { m: md5('v2\n'), size: 3, savedAt: new Date(1_000_000_000_002).toISOString() },
        { m: md5('v1 is longer\n'), size: 13, savedAt: new Date(1_000_000_000_001).toISOString() },
      ],
    );
    assert.equal(readFileSync(kept[1]!.path, 'utf8'), 'v1 is longer\n');
    assert.equal(statSync(path.dirname(kept[0]!.path)).mode & 0o777, 0o700);
  });

  test('a version kept again replaces its older copy instead of taking a second place', async () => {
    const { file, store, replace } = fixture(3);
    writeFileSync(file, 'a\n');
    replace('b\n', 1_000_000_000_000);
    replace('a\n', 1_000_000_000_001);
    replace('b\n', 1_000_000_000_002);
    assert.deepEqual((await store.list('conf/app.conf')).map((k) => k.md5), [md5('a\n'), md5('b\n')]);
  });

  test('files with similar names get separate keys; an unknown name lists nothing', async () => {
    const { store } = fixture(1);
    assert.notEqual(store.keyFor('a/b.conf'), store.keyFor('a_b.conf'));
    assert.ok(store.keyFor(`${'x'.repeat(4000)}.conf`).length < 100);
    assert.deepEqual(await store.list('never.conf'), []);
  });

  test('all files share one folder: each listing holds only its own file, in time order', async () => {
    const { dir, store } = fixture(5);
    const a = path.join(dir, 'a.conf');
    const b = path.join(dir, 'b.conf');
    writeFileSync(a, 'a0\n');
    writeFileSync(b, 'b0\n');
    store.keep('a.conf', a, md5('a0\n'), 3, 999_999_999_999);
    store.keep('b.conf', b, md5('b0\n'), 3, 1_000_000_000_000);
    rmSync(a);
    writeFileSync(a, 'a1\n');
    store.keep('a.conf', a, md5('a1\n'), 3, 10_000_000_000_000);
    assert.deepEqual((await store.list('a.conf')).map((k) => k.md5), [md5('a1\n'), md5('a0\n')]);
    assert.deepEqual((await store.list('b.conf')).map((k) => k.md5), [md5('b0\n')]);
    assert.deepEqual(readdirSync(path.join(dir, 'state')), ['backups']);
    assert.equal(readdirSync(path.join(dir, 'state', 'backups')).length, 3);
  });

  test('versions kept by the older one-folder-per-file layout are moved in and still count', async () => {
    const { dir, file, store, replace } = fixture(2);
    const old = path.join(dir, 'state', 'backups', store.keyFor('conf/app.conf'));
    mkdirSync(old, { recursive: true });
    writeFileSync(path.join(old, `0999999999999-${md5('old\n')}`), 'old\n');
    writeFileSync(file, 'v0\n');
    replace('v1\n', 1_000_000_000_000);
    const kept = await store.list('conf/app.conf');
    assert.deepEqual(kept.map((k) => k.md5), [md5('v0\n'), md5('old\n')]);
    assert.equal(readFileSync(kept[1]!.path, 'utf8'), 'old\n');
    assert.equal(existsSync(old), false);
    replace('v2\n', 1_000_000_000_001);
    assert.deepEqual((await store.list('conf/app.conf')).map((k) => k.md5), [md5('v1\n'), md5('v0\n')]);
  });

  test('limit 0 keeps nothing', async () => {
    const { file, store } = fixture(0);
    writeFileSync(file, 'v0\n');
    assert.equal(store.enabled, false);
    store.keep('conf/app.conf', file, md5('v0\n'), 3);
    assert.deepEqual(await store.list('conf/app.conf'), []);
  });

  test('a missing file cannot be kept: keep throws ENOENT', () => {
    const { dir, store } = fixture(2);
    assert.throws(() => store.keep('conf/app.conf', path.join(dir, 'absent'), md5(''), 0), { code: 'ENOENT' });
  });
});
