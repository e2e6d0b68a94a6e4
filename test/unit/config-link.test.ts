import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadSettings } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

const HEAD = 'node: alpha\npeers:\n  - name: beta\n    pub: tcp://192.0.2.2:9877\n    rep: tcp://192.0.2.2:9878\n';

/**
 * A config listing `files` (YAML list items) in a fresh folder holding real/app.conf, real/sub/,
 * and in etc/: file.conf → ../real/app.conf, dangling.conf → ../real/gone.conf, dir.conf → ../real/sub.
 */
function config(files: string[]): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'entangled-config-link-'));
  made.push(dir);
  mkdirSync(path.join(dir, 'real', 'sub'), { recursive: true });
  mkdirSync(path.join(dir, 'etc'));
  writeFileSync(path.join(dir, 'real', 'app.conf'), 'x\n');
  symlinkSync('../real/app.conf', path.join(dir, 'etc', 'file.conf'));
  symlinkSync('../real/gone.conf', path.join(dir, 'etc', 'dangling.conf'));
  symlinkSync('../real/sub', path.join(dir, 'etc', 'dir.conf'));
  const file = path.join(dir, 'entangled.yaml');
  writeFileSync(file, `${HEAD}files:\n${files.map((f) => `  - ${f}\n`).join('')}`);
  return { dir, file };
}

function configError(file: string): string {
  let message = '';
  assert.throws(() => loadSettings(file), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    message = err.message;
    return true;
  });
  assert.doesNotMatch(message, /\n/);
  return message;
}

describe('loadSettings: a listed path that is a symbolic link', () => {
  test('a link to a regular file is accepted, listed by its own path (not its target)', () => {
    const { dir, file } = config(['etc/file.conf']);
    assert.deepEqual(loadSettings(file).files.map((f) => f.path), [path.join(dir, 'etc', 'file.conf')]);
  });

  test('a dangling link is accepted (the node reports it as the file\'s problem)', () => {
    const { dir, file } = config(['etc/dangling.conf']);
    assert.deepEqual(loadSettings(file).files.map((f) => f.path), [path.join(dir, 'etc', 'dangling.conf')]);
  });

  test('a link to a folder is rejected like a folder', () => {
    const { dir, file } = config(['etc/dir.conf']);
    const message = configError(file);
    assert.ok(message.includes(`files[0]: ${path.join(dir, 'etc', 'dir.conf')} is a directory`), message);
  });

  test('a link and the file it resolves to, both listed: rejected as one file listed twice, either order', () => {
    const first = config(['etc/file.conf', 'real/app.conf']);
    const m1 = configError(first.file);
    assert.ok(m1.includes(`files[1]: ${path.join(first.dir, 'real', 'app.conf')} is listed twice (files[0], through the symbolic link ${path.join(first.dir, 'etc', 'file.conf')})`), m1);
    const second = config(['real/app.conf', 'etc/file.conf']);
    const m2 = configError(second.file);
    assert.ok(m2.includes(`files[1]: ${path.join(second.dir, 'etc', 'file.conf')} is a symbolic link to ${path.join(second.dir, 'real', 'app.conf')}, which files[0] lists too`), m2);
  });
});
