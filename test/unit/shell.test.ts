import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runShell, shellFailure, shellQuote } from '../../src/io/shell.js';

describe('runShell', () => {
  test('passes the environment and reports exit 0 with its output', async () => {
    const r = await runShell('echo "$ENTANGLED_NAME"; echo warn >&2', { ENTANGLED_NAME: 'app.conf' }, 5000);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'app.conf');
    assert.equal(r.stderr, 'warn');
    assert.equal(shellFailure(r), null);
  });

  test('a failure is one line with the exit code and the last line of output', async () => {
    const r = await runShell('echo first >&2; echo "last words" >&2; exit 3', {}, 5000);
    assert.equal(shellFailure(r), 'exit 3: last words');
  });

  test('a command over its time is killed with what it started', async () => {
    const started = Date.now();
    const r = await runShell('sleep 20 & sleep 20; echo never', {}, 200);
    assert.ok(r.timedOut);
    assert.ok(Date.now() - started < 3000);
    assert.match(shellFailure(r)!, /^timed out after \d+ ms$/);
  });

  test('keeps only the end of a long output', async () => {
    const r = await runShell('head -c 100000 /dev/zero | tr "\\0" x; echo END', {}, 5000);
    assert.ok(r.stdout.length <= 4096);
    assert.ok(r.stdout.endsWith('xEND'));
  });

  test('shellQuote makes one word of anything', async () => {
    for (const s of ["it's", 'a b', '$(touch /tmp/nope)', '"; rm -rf /', '']) {
      const r = await runShell(`printf %s ${shellQuote(s)}`, {}, 5000);
      assert.equal(r.stdout, s);
    }
  });
});
