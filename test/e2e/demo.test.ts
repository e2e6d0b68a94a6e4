import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { CLI, runCli, waitFor, type StateDoc } from '../helpers/cluster.js';

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

it('entangled demo --nodes 3 starts a full mesh of three; a change on one reaches the other two', async () => {
  const proc = spawn(process.execPath, [CLI, 'demo', '--nodes', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  try {
    await waitFor('the demo prints its banner', () => stderr.includes('Ctrl-C'), 15000);
    const folder = /folder\s+(\S+)/.exec(stderr)?.[1];
    assert.ok(folder, stderr);
    // Each node on its own line: its folder and its status page (consecutive ports, ten apart).
    const nodes = ['alpha', 'beta', 'gamma'].map((name, i) => {
      const m = new RegExp(`^\\s+${name}\\s+(\\S+)\\s+status page (http://127\\.0\\.0\\.1:(\\d+)/)$`, 'm').exec(stderr);
      assert.ok(m, `${name} is not listed:\n${stderr}`);
      assert.equal(m[1], `${folder}/${name}`);
      assert.equal(Number(m[3]), 9876 + 10 * i);
      return { name, dir: m[1]!, url: m[2]! };
    });
    assert.doesNotMatch(stderr, /delta/);
    for (const n of nodes) {
      await waitFor(`${n.name} is connected to both others, every file aligned`, async () => {
        const s = (await (await fetch(`${n.url}api/1/state`)).json()) as StateDoc;
        const others = nodes.filter((o) => o !== n).map((o) => o.name);
        return s.node === n.name &&
          s.peers.map((p) => p.name).sort().join() === others.sort().join() &&
          s.peers.every((p) => p.connected) &&
          s.files.length === 2 &&
          s.files.every((f) => f.status === 'aligned' && others.every((o) => f.peers[o]?.status === 'aligned'));
      }, 15000, 50);
    }
    appendFileSync(`${nodes[1]!.dir}/app.conf`, 'workers 8\n');
    for (const n of [nodes[0]!, nodes[2]!]) {
      await waitFor(`${n.name} gets beta's change`, () => readFileSync(`${n.dir}/app.conf`, 'utf8').endsWith('workers 8\n'), 10000);
    }
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(existsSync(folder), false);
  } finally {
    proc.kill('SIGKILL');
  }
});

it('entangled demo --nodes with a bad count (0, 1, 11, x, …) is a usage error: exit 2 and one line on stderr', async () => {
  for (const bad of ['0', '1', '11', 'x', '2.5', '-3']) {
    const r = await runCli(['demo', `--nodes=${bad}`]);
    assert.equal(r.code, 2, `--nodes ${bad}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--nodes/);
    assert.equal(r.stdout, '');
  }
  const help = await runCli(['demo', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--nodes N/);
});
