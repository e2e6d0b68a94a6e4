import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { atomicWrite, atomicWriteStream, isTempFor, tempPathFor } from '../../src/io/atomic-write.js';
import { NotRegularFile } from '../../src/io/snapshot.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function folder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'entangled-aw-'));
  dirs.push(dir);
  return dir;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODULE = path.join(HERE, '../../src/io/atomic-write.ts');

/**
 * Writes `content` over each file with atomicWrite (sync and thread-pool paths alternately) in
 * a child process whose umask is `umask`; returns each file's permission bits afterwards.
 */
function writeUnderUmask(umask: string, files: string[], createMode?: number): number[] {
  const script = `
    const { atomicWrite } = await import(${JSON.stringify(MODULE)});
    const files = ${JSON.stringify(files)};
    const created = ${createMode === undefined ? '{}' : `{ createMode: ${createMode} }`};
    for (const [i, f] of files.entries()) await atomicWrite(f, Buffer.from('new ' + i + '\\n'), { sync: i % 2 === 0, ...created });`;
  execFileSync('sh', ['-c', `umask ${umask} && exec "$0" --import tsx --input-type=module -e "$1"`, process.execPath, script], { cwd: path.join(HERE, '../..') });
  return files.map((f) => statSync(f).mode & 0o7777);
}

/** Files in a new folder, one per mode, each holding 'old' with that mode; then two paths not yet there. */
function filesWithModes(modes: number[]): { dir: string; files: string[]; created: string[] } {
  const dir = folder();
  const files = modes.map((m, i) => {
    const f = path.join(dir, `f${i}.conf`);
    writeFileSync(f, 'old\n');
    chmodSync(f, m);
    return f;
  });
  return { dir, files, created: [path.join(dir, 'new-a.conf'), path.join(dir, 'new-b.conf')] };
}

describe('atomicWrite', () => {
  it('keeps each file\'s mode, and gives a new file 0644, under the usual umask 022', () => {
    // No 0666: a file others may write is refused (CONTRACT.md, "Only files that no other user controls").
    const modes = [0o644, 0o664, 0o600, 0o755, 0o640, 0o444];
    const { dir, files, created } = filesWithModes(modes);
    assert.deepEqual(writeUnderUmask('022', [...files, ...created]), [...modes, 0o644, 0o644]);
    assert.equal(readFileSync(files[1]!, 'utf8'), 'new 1\n');
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.entangled-tmp')), []);
  });

  it('keeps the modes whatever the umask (077 strips group and other bits on create)', () => {
    const modes = [0o644, 0o664, 0o600, 0o755];
    const { files, created } = filesWithModes(modes);
    assert.deepEqual(writeUnderUmask('077', [...files, ...created]), [...modes, 0o644, 0o644]);
  });

  it('a createMode applies to a file created, never to one replaced, whatever the umask', () => {
    const modes = [0o644, 0o664];
    for (const umask of ['022', '077', '000']) {
      const { files, created } = filesWithModes(modes);
      assert.deepEqual(writeUnderUmask(umask, [...files, ...created], 0o600), [...modes, 0o600, 0o600], `umask ${umask}`);
      const more = filesWithModes([]);
      assert.deepEqual(writeUnderUmask(umask, more.created, 0o640), [0o640, 0o640], `umask ${umask}`);
    }
  });

  it('what is there but no regular file (a FIFO, a folder) is not replaced, on every path', async () => {
    const dir = folder();
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const sub = path.join(dir, 'sub');
    mkdirSync(sub);
    for (const target of [fifo, sub]) {
      await assert.rejects(atomicWrite(target, Buffer.from('x\n')), NotRegularFile);
      await assert.rejects(atomicWrite(target, Buffer.from('x\n'), { sync: false }), NotRegularFile);
      await assert.rejects(atomicWriteStream(target, async (append) => append(Buffer.from('x\n'))), NotRegularFile);
    }
    assert.ok(lstatSync(fifo).isFIFO());
    assert.ok(lstatSync(sub).isDirectory());
    assert.deepEqual(readdirSync(dir).sort(), ['pipe', 'sub']);
  });

  it('temp names are hidden, distinct for each write, and recognised as ours', async () => {
    const dir = folder();
    const target = path.join(dir, 'app.conf');
    const names = Array.from({ length: 1000 }, () => path.basename(tempPathFor(target)));
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.ok(isTempFor(n, 'app.conf'), n);
    await atomicWrite(target, Buffer.from('x\n'));
    assert.deepEqual(readdirSync(dir), ['app.conf']);
  });
});
