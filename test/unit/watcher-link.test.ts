import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Watcher } from '../../src/io/watcher.js';
import { saveOver, waitReported } from '../helpers/watch.js';

/** Well within the second after which a file chokidar did not follow is looked at again, and the 5 s sweep. */
const PROMPT_MS = 400;
const dirs: string[] = [];
const watchers: Watcher[] = [];
after(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/**
 * A fresh folder with `etc/a.conf` a symbolic link to `target` (relative to `etc/`), `real/`
 * and `other/` holding a.conf each (unless `absentTarget`), and a watcher on the link that
 * records what it reports.
 */
async function linked(target = '../real/a.conf', opts: { absentTarget?: boolean } = {}) {
  const root = mkdtempSync(path.join(tmpdir(), 'entangled-watch-link-'));
  dirs.push(root);
  for (const d of ['etc', 'real', 'other']) mkdirSync(path.join(root, d));
  if (!opts.absentTarget) {
    writeFileSync(path.join(root, 'real', 'a.conf'), 'real 0\n');
    writeFileSync(path.join(root, 'other', 'a.conf'), 'other 0\n');
  }
  const link = path.join(root, 'etc', 'a.conf');
  symlinkSync(target, link);
  const touched: string[] = [];
  const errors: Error[] = [];
  const w = new Watcher([link], (p) => touched.push(p), (e) => errors.push(e));
  watchers.push(w);
  await w.start();
  /** Waits until the link was reported after index `from`, failing after `ms`. */
  const reported = (from: number, ms = PROMPT_MS) => waitReported(touched, link, from, ms);
  /** Runs `change`, then waits until it was reported promptly. */
  const seen = async (change: () => void) => {
    const from = touched.length;
    change();
    await reported(from);
  };
  const real = (d: string) => path.join(root, d, 'a.conf');
  return { root, link, touched, errors, seen, real };
}

describe('Watcher: a listed path that is a symbolic link', () => {
  test('a write through the link, a write to the target itself and an editor\'s save of the target are each reported at once', async () => {
    const { link, errors, seen, real } = await linked();
    await seen(() => writeFileSync(link, 'via link 1\n'));
    await seen(() => writeFileSync(real('real'), 'direct 2\n'));
    await seen(() => saveOver(real('real'), 'saved 3\n'));
    // The new target file (another inode) is followed.
    await seen(() => writeFileSync(real('real'), 'direct 4\n'));
    assert.deepEqual(errors, []);
  });

  test('a retarget of the link (ln -sfn) is reported at once, and then the new target is followed, the old one not', async () => {
    const { link, touched, errors, seen, real } = await linked();
    await seen(() => execFileSync('ln', ['-sfn', '../other/a.conf', link]));
    await seen(() => writeFileSync(real('other'), 'other 1\n'));
    await seen(() => saveOver(real('other'), 'other 2\n'));
    await seen(() => writeFileSync(real('other'), 'other 3\n'));
    // Settle, then a write to the file it no longer points at is nobody's business.
    await new Promise((r) => setTimeout(r, 100));
    const from = touched.length;
    writeFileSync(real('real'), 'real 9\n');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(touched.slice(from), []);
    assert.deepEqual(errors, []);
  });

  test('a dangling link at start: its target made is reported at once, and followed from then on', async () => {
    const { errors, seen, real } = await linked('../real/a.conf', { absentTarget: true });
    await seen(() => writeFileSync(real('real'), 'made 1\n'));
    await seen(() => writeFileSync(real('real'), 'then 2\n'));
    assert.deepEqual(errors, []);
  });

  test('the target deleted, then made again, is reported each time; a link retargeted from dangling to a file too', async () => {
    const { link, errors, seen, real } = await linked();
    await seen(() => rmSync(real('real')));
    await seen(() => writeFileSync(real('real'), 'back 1\n'));
    await seen(() => writeFileSync(real('real'), 'back 2\n'));
    await seen(() => rmSync(real('real')));
    await seen(() => execFileSync('ln', ['-sfn', '../other/a.conf', link]));
    await seen(() => writeFileSync(real('other'), 'other 1\n'));
    assert.deepEqual(errors, []);
  });
});
