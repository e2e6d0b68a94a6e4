import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { judgeLink, linkTarget, type LinkVerdict, type PathShape } from '../../src/core/link.js';
import { atomicWrite, atomicWriteStream, PreconditionFailed, removeStrayTemps } from '../../src/io/atomic-write.js';
import { inspectPath, LinkRefused, writeFoldersOf } from '../../src/io/link.js';
import type { Case } from '../helpers/table.js';

const L = '/etc/nginx/sites-enabled/app.conf';
const T = '/etc/nginx/sites-available/app.conf';

describe('judgeLink(listed, shape)', () => {
  const broken = (message: RegExp) => ({ kind: 'broken', target: T, message });
  const cases: Case<PathShape, LinkVerdict | ReturnType<typeof broken>>[] = [
    { description: 'no link (a file, or absent): the listed path itself', given: { kind: 'plain' }, expect: { kind: 'plain' } },
    { description: 'a link to a regular file: through it, to its target', given: { kind: 'link', target: T, reaches: 'file' }, expect: { kind: 'through', target: T } },
    { description: 'a dangling link: broken, naming both paths; nothing is written', given: { kind: 'link', target: T, reaches: 'absent' }, expect: broken(/^\/etc\/nginx\/sites-enabled\/app\.conf is a dangling symbolic link: its target \/etc\/nginx\/sites-available\/app\.conf does not exist.*not written/) },
    { description: 'a link to a folder: broken', given: { kind: 'link', target: T, reaches: 'folder' }, expect: broken(/symbolic link to the folder .*not written/) },
    { description: 'a link to a device or a fifo: broken', given: { kind: 'link', target: T, reaches: 'other' }, expect: broken(/not a regular file.*not written/) },
    { description: 'a loop of links: broken', given: { kind: 'link', target: T, reaches: 'loop' }, expect: broken(/never resolves \(a loop.*not written/) },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const v = judgeLink(L, c.given);
      if (c.expect.kind !== 'broken') return assert.deepEqual(v, c.expect);
      assert.equal(v.kind, 'broken');
      assert.equal(linkTarget(v), T);
      assert.match((v as { message: string }).message, (c.expect as { message: RegExp }).message);
    });
  }
  test('linkTarget: null for no link, the target for any link', () => {
    assert.equal(linkTarget({ kind: 'plain' }), null);
    assert.equal(linkTarget({ kind: 'through', target: T }), T);
  });
});

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh folder with etc/ and real/ (real/a.conf 'old', mode 0640), etc/a.conf a link to it. */
function layout(): { root: string; link: string; real: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'entangled-link-'));
  dirs.push(root);
  mkdirSync(path.join(root, 'etc'));
  mkdirSync(path.join(root, 'real'));
  const real = path.join(root, 'real', 'a.conf');
  writeFileSync(real, 'old\n');
  chmodSync(real, 0o640);
  const link = path.join(root, 'etc', 'a.conf');
  symlinkSync('../real/a.conf', link);
  return { root, link, real };
}

const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.entangled-tmp'));

describe('inspectPath: what a listed path is, on a real filesystem', () => {
  test('a file, an absent path, a link to a file, a dangling link, a link to a folder, a loop', () => {
    const { root, link, real } = layout();
    assert.deepEqual(inspectPath(real), { kind: 'plain' });
    assert.deepEqual(inspectPath(path.join(root, 'etc', 'none.conf')), { kind: 'plain' });
    assert.deepEqual(inspectPath(link), { kind: 'link', target: real, reaches: 'file' });
    const dangling = path.join(root, 'etc', 'dangling.conf');
    symlinkSync('../real/gone.conf', dangling);
    assert.deepEqual(inspectPath(dangling), { kind: 'link', target: path.join(root, 'real', 'gone.conf'), reaches: 'absent' });
    const toDir = path.join(root, 'etc', 'dir.conf');
    symlinkSync('../real', toDir);
    assert.deepEqual(inspectPath(toDir), { kind: 'link', target: path.join(root, 'real'), reaches: 'folder' });
    const loop = path.join(root, 'etc', 'loop.conf');
    symlinkSync('loop.conf', loop);
    assert.equal(inspectPath(loop).kind === 'link' && (inspectPath(loop) as { reaches: string }).reaches, 'loop');
  });
});

describe('atomicWrite through a listed symbolic link', () => {
  for (const [how, write] of [
    ['small, on the main thread', (p: string, d: Buffer) => atomicWrite(p, d)],
    ['small, in the thread pool', (p: string, d: Buffer) => atomicWrite(p, d, { sync: false })],
    ['in pieces (a large file)', (p: string, d: Buffer) => atomicWriteStream(p, (append) => append(d))],
  ] as const) {
    test(`writes the target, keeps its mode, and leaves the link a link (${how})`, async () => {
      const { root, link, real } = layout();
      await write(link, Buffer.from('new\n'));
      assert.ok(lstatSync(link).isSymbolicLink(), 'the link was replaced');
      assert.equal(readFileSync(real, 'utf8'), 'new\n');
      assert.equal(statSync(real).mode & 0o7777, 0o640);
      assert.deepEqual([...temps(path.join(root, 'etc')), ...temps(path.join(root, 'real'))], []);
    });
  }

  test('beforeRename is given the target (what a backup must keep), not the link', async () => {
    const { link, real } = layout();
    let given = '';
    await atomicWrite(link, Buffer.from('new\n'), { beforeRename: (t) => void (given = t) });
    assert.equal(given, real);
  });

  test('a dangling link or a link to a folder: LinkRefused, nothing created, the link untouched', async () => {
    const { root, link, real } = layout();
    rmSync(real);
    await assert.rejects(atomicWrite(link, Buffer.from('new\n')), LinkRefused);
    await assert.rejects(atomicWriteStream(link, (append) => append(Buffer.from('new\n'))), LinkRefused);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.deepEqual(readdirSync(path.join(root, 'real')), []);
    execFileSync('ln', ['-sfn', '../real', link]);
    await assert.rejects(atomicWrite(link, Buffer.from('new\n')), LinkRefused);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.deepEqual(readdirSync(path.join(root, 'real')), []);
  });

  test('a link retargeted between the temp file and the rename: PreconditionFailed, neither file replaced', async () => {
    const { root, link, real } = layout();
    const other = path.join(root, 'real', 'b.conf');
    writeFileSync(other, 'other\n');
    const write = atomicWrite(link, Buffer.from('new\n'), { precondition: () => (execFileSync('ln', ['-sfn', '../real/b.conf', link]), true) });
    await assert.rejects(write, PreconditionFailed);
    assert.equal(readFileSync(real, 'utf8'), 'old\n');
    assert.equal(readFileSync(other, 'utf8'), 'other\n');
    assert.deepEqual(temps(path.join(root, 'real')), []);
  });

  test('the folders a crash may leave temp files in include the target\'s, and those are cleaned', async () => {
    const { root, link, real } = layout();
    assert.deepEqual(writeFoldersOf(link), [path.join(root, 'etc'), path.join(root, 'real')]);
    assert.deepEqual(writeFoldersOf(real), [path.join(root, 'real')]);
    const stray = path.join(root, 'real', '.a.conf.0123456789ab.entangled-tmp');
    writeFileSync(stray, 'half');
    assert.deepEqual(await removeStrayTemps(writeFoldersOf(link)), [stray]);
  });
});
