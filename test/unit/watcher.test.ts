import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Watcher } from '../../src/io/watcher.js';

const dirs: string[] = [];
const watchers: Watcher[] = [];
after(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** A watcher on `listed` files (relative to a fresh folder) that records what it reports. */
async function fixture(listed: string[]) {
  const root = mkdtempSync(path.join(tmpdir(), 'entangled-watcher-'));
  dirs.push(root);
  const paths = listed.map((p) => path.join(root, p));
  for (const p of paths) {
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, 'v0\n');
  }
  const touched: string[] = [];
  const errors: Error[] = [];
  const w = new Watcher(paths, (p) => touched.push(p), (e) => errors.push(e));
  watchers.push(w);
  await w.start();
  /** Waits until `p` was reported (after index `from`), failing after `ms`. */
  const reported = async (p: string, from: number, ms = 3000) => {
    const deadline = Date.now() + ms;
    while (!touched.slice(from).includes(p)) {
      if (Date.now() > deadline) assert.fail(`${p} not reported within ${ms} ms; reported: ${JSON.stringify(touched.slice(from))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { root, paths, touched, errors, reported, watcher: w };
}

describe('Watcher', () => {
  test('reports an in-place write, a rename-over save and a delete+recreate of a listed file', async () => {
    const { root, paths, touched, reported } = await fixture(['a/app.conf']);
    const file = paths[0]!;
    let from = touched.length;
    writeFileSync(file, 'v1\n');
    await reported(file, from);
    from = touched.length;
    writeFileSync(path.join(root, 'a', '.app.conf.swp'), 'v2\n');
    renameSync(path.join(root, 'a', '.app.conf.swp'), file);
    await reported(file, from);
    from = touched.length;
    rmSync(file);
    await reported(file, from);
    from = touched.length;
    writeFileSync(file, 'v3\n');
    await reported(file, from);
  });

  test('reports only listed files, each under its own path, with files in several folders', async () => {
    const { root, paths, touched, reported } = await fixture(['a/one.conf', 'b/two.conf']);
    writeFileSync(path.join(root, 'a', 'other.conf'), 'x\n');
    writeFileSync(paths[1]!, 'v1\n');
    await reported(paths[1]!, 0);
    writeFileSync(paths[0]!, 'v1\n');
    await reported(paths[0]!, 0);
    assert.deepEqual(new Set(touched), new Set(paths));
  });

  test('a folder removed and made again is watched again, and its files are reported once it is back', async () => {
    const { root, paths, touched, errors, reported } = await fixture(['a/app.conf']);
    const file = paths[0]!;
    rmSync(path.join(root, 'a'), { recursive: true });
    mkdirSync(path.join(root, 'a'));
    writeFileSync(file, 'back\n');
    let from = touched.length;
    // Re-armed within a second or so, it reports the file once (it may have missed changes)...
    await reported(file, from);
    from = touched.length;
    // ...and from then on hears writes again.
    writeFileSync(file, 'after\n');
    await reported(file, from);
    assert.deepEqual(errors, []);
  });

  test('close stops the reports', async () => {
    const { paths, touched, watcher } = await fixture(['app.conf']);
    await watcher.close();
    const from = touched.length;
    writeFileSync(paths[0]!, 'v1\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(touched.slice(from), []);
  });
});
