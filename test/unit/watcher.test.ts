import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Watcher } from '../../src/io/watcher.js';
import { saveOver, waitReported } from '../helpers/watch.js';

/** Well within the second after which a file chokidar did not follow is looked at again. */
const PROMPT_MS = 400;
const dirs: string[] = [];
const watchers: Watcher[] = [];
after(async () => {
  await Promise.all(watchers.map((w) => w.close()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/**
 * A watcher on `listed` files (relative to a fresh folder) that records what it reports; the
 * files in `absent` are listed but not made, and the folders in `absentDirs` not either.
 */
async function fixture(listed: string[], opts: { absent?: string[]; absentDirs?: string[]; root?: string } = {}) {
  const root = opts.root ?? mkdtempSync(path.join(tmpdir(), 'entangled-watcher-'));
  if (!opts.root) dirs.push(root);
  const paths = listed.map((p) => path.join(root, p));
  for (const [i, p] of paths.entries()) {
    const rel = listed[i]!;
    if (opts.absentDirs?.some((d) => rel.startsWith(`${d}/`))) continue;
    mkdirSync(path.dirname(p), { recursive: true });
    if (!opts.absent?.includes(rel)) writeFileSync(p, 'v0\n');
  }
  const touched: string[] = [];
  const errors: Error[] = [];
  const waiters = new Map<string, (() => void)[]>();
  const w = new Watcher(
    paths,
    (p) => {
      touched.push(p);
      const due = waiters.get(p);
      waiters.delete(p);
      due?.forEach((resolve) => resolve());
    },
    (e) => errors.push(e),
  );
  watchers.push(w);
  await w.start();
  /** Waits until `p` was reported (after index `from`), failing after `ms`. */
  const reported = (p: string, from: number, ms = 3000) => waitReported(touched, p, from, ms);
  /** Resolves from within the report of `p` (so what follows runs in the same tick), failing after `ms`. */
  const nextReport = (p: string, ms = 3000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${p} not reported within ${ms} ms`)), ms);
      waiters.set(p, [
        ...(waiters.get(p) ?? []),
        () => {
          clearTimeout(timer);
          resolve();
        },
      ]);
    });
  return { root, paths, touched, errors, reported, nextReport, watcher: w };
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

  test('a truncation, and a write to the new file made at once after a rename-over save, are reported', async () => {
    const { paths, touched, reported, nextReport } = await fixture(['app.conf']);
    const file = paths[0]!;
    let from = touched.length;
    truncateSync(file, 0);
    await reported(file, from);
    const heard = nextReport(file);
    saveOver(file, 'v1\n');
    await heard;
    // Before chokidar watches the new file: its report once the watch is in place covers this.
    writeFileSync(file, 'v2\n');
    from = touched.length;
    await reported(file, from);
    from = touched.length;
    truncateSync(file, 1);
    await reported(file, from);
  });

  test('sed -i (a temp file renamed over the listed one) is reported, and so are the writes after it', async () => {
    const { paths, touched, reported, nextReport } = await fixture(['etc/app.conf']);
    const file = paths[0]!;
    const heard = nextReport(file);
    execFileSync('sed', ['-i', 's/v0/v1/', file]);
    await heard;
    writeFileSync(file, 'v2\n');
    let from = touched.length;
    await reported(file, from);
    from = touched.length;
    writeFileSync(file, 'v3\n');
    await reported(file, from);
  });

  for (const [what, keepOld] of [
    ['its old version gone', false],
    ['its old version kept as a hard link (as backups keep it: only its link count changes)', true],
  ] as const) {
    test(`a save within 5 ms of a write (chokidar's listener skips those events), ${what}, is followed at once`, async () => {
      const { paths, touched, reported, nextReport } = await fixture(['app.conf']);
      const file = paths[0]!;
      const heard = nextReport(file);
      writeFileSync(file, 'v1\n');
      await heard;
      if (keepOld) linkSync(file, `${file}.bak`);
      saveOver(file, 'v2\n');
      await reported(file, touched.length);
      const from = touched.length;
      writeFileSync(file, 'v3\n');
      // Not by the look a second later that catches a replaced file chokidar did not follow.
      await reported(file, from, PROMPT_MS);
    });
  }

  test('a file deleted and made again at once (often under the freed inode number) is still followed', async () => {
    const { paths, touched, reported, nextReport } = await fixture(['app.conf']);
    const file = paths[0]!;
    for (let i = 0; i < 3; i++) {
      const heard = nextReport(file);
      rmSync(file);
      writeFileSync(file, `again ${i}\n`);
      await heard;
      writeFileSync(file, `after ${i}\n`);
      let from = touched.length;
      await reported(file, from);
      from = touched.length;
      writeFileSync(file, `later ${i}\n`);
      await reported(file, from);
    }
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

  test('a listed file deleted in one of several folders is reported when made again, and then followed', async () => {
    const { paths, touched, reported } = await fixture(['a/one.conf', 'b/two.conf']);
    const [one, two] = [paths[0]!, paths[1]!];
    rmSync(two);
    await reported(two, 0);
    let from = touched.length;
    writeFileSync(two, 'back\n');
    await reported(two, from);
    from = touched.length;
    writeFileSync(two, 'v2\n');
    writeFileSync(one, 'v2\n');
    await reported(one, from);
    await reported(two, from);
  });

  test('a listed file missing at start is reported once made, and followed; unlisted files beside it are not', async () => {
    const { root, paths, touched, reported } = await fixture(['a/one.conf', 'a/later.conf'], { absent: ['a/later.conf'] });
    const [one, later] = [paths[0]!, paths[1]!];
    // The folder is watched for later.conf: its other files' events must still not be reported.
    writeFileSync(path.join(root, 'a', 'other.conf'), 'x\n');
    writeFileSync(one, 'v1\n');
    await reported(one, 0);
    assert.deepEqual(new Set(touched), new Set([one]));
    writeFileSync(later, 'v0\n');
    await reported(later, 0);
    const from = touched.length;
    writeFileSync(later, 'v1\n');
    await reported(later, from);
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

  test('a folder removed, then made again after its removal was reported, is watched again', async () => {
    const { root, paths, touched, errors, reported } = await fixture(['a/app.conf', 'b/two.conf']);
    const file = paths[0]!;
    rmSync(path.join(root, 'a'), { recursive: true });
    await reported(file, 0);
    mkdirSync(path.join(root, 'a'));
    let from = touched.length;
    writeFileSync(file, 'back\n');
    await reported(file, from);
    from = touched.length;
    writeFileSync(file, 'after\n');
    await reported(file, from);
    assert.deepEqual(errors, []);
  });

  test('a folder missing at start is tried again until it exists', async () => {
    const { root, paths, touched, errors, reported } = await fixture(['a/app.conf', 'b/two.conf'], { absentDirs: ['a'] });
    const file = paths[0]!;
    mkdirSync(path.join(root, 'a'));
    writeFileSync(file, 'v0\n');
    await reported(file, 0);
    const from = touched.length;
    writeFileSync(file, 'v1\n');
    await reported(file, from);
    assert.deepEqual(errors, []);
  });

  test('close stops the reports', async () => {
    const { root, paths, touched, watcher } = await fixture(['app.conf']);
    // A second watcher on the same file (chokidar gives both one fs.watch) hears the write in the same callback.
    const witness = await fixture(['app.conf'], { root });
    await watcher.close();
    const from = touched.length;
    writeFileSync(paths[0]!, 'v1\n');
    await witness.reported(paths[0]!, witness.touched.length);
    assert.deepEqual(touched.slice(from), []);
  });
});
