import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { CLI, waitFor } from '../helpers/cluster.js';

it('entangled demo starts two aligned nodes, replicates a change, and stops cleanly on SIGINT', async () => {
  const proc = spawn(process.execPath, [CLI, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  try {
    const folder = await waitFor('the demo prints its folder', () => /folder\s+(\S+)/.exec(stderr)?.[1], 10000);
    const state = await waitFor('beta sees alpha', async () => {
      const res = await fetch('http://127.0.0.1:9886/api/1/state');
      const s = (await res.json()) as { files: { status: string }[] };
      return s.files.every((f) => f.status === 'aligned') ? s : null;
    }, 10000, 50);
    assert.equal(state.files.length, 2);
    appendFileSync(`${folder}/alpha/app.conf`, 'workers 8\n');
    await waitFor('beta gets the change', () => readFileSync(`${folder}/beta/app.conf`, 'utf8').endsWith('workers 8\n'));
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(existsSync(folder), false);
  } finally {
    proc.kill('SIGKILL');
  }
});
