import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { CLI, defineCluster, md5, runCli, startCluster, startNode, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';
import { saveLargeFile, transferOf } from '../helpers/large-file.js';

const SIZE_MIB = 300;

/** Runs the CLI on a pseudo-terminal (util-linux `script`): stdin, stdout and stderr are a TTY; resolves with everything it wrote. */
function runOnTty(args: string[], timeoutMs = 30_000): { done: Promise<{ code: number | null; output: string }> } {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLI, ...args].map(quote).join(' ');
  const proc = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  const done = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`entangled ${args.join(' ')} on a TTY did not exit in ${timeoutMs} ms: ${output}`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  return { done };
}

it(`entangled status shows a transfer's share, force draws a bar on a terminal (and clears it), and nothing extra when not a terminal`, async () => {
  // peerTimeoutMs 15000: a request waits that long for its reply, so the sender may be frozen
  // while `entangled status` starts and asks (a CLI process took over 5 s to start on a machine
  // running two suites at once, and the transfer was gone by then, the peer lost).
  const { root, nodes } = await defineCluster({ files: { 'pulled.bin': 'small\n', 'pushed.bin': 'small\n' }, peerTimeoutMs: 15000 });
  const [a, b0] = (await startCluster(nodes)) as [RunningNode, RunningNode];
  let b = b0;
  try {
    // Both sides change both files while beta is down (split-brains at its restart): beta's pulled.bin and alpha's pushed.bin are large.
    await b0.stop('SIGKILL');
    const mine = saveLargeFile(a.file('pushed.bin'), SIZE_MIB);
    writeFileSync(a.file('pulled.bin'), 'alpha\'s own\n');
    await waitFor('alpha hashed both', async () => {
      const [pulled, pushed] = (await a.state()).files;
      return pulled!.md5 === md5('alpha\'s own\n') && pushed!.md5 === mine;
    }, 10_000);
    const theirs = saveLargeFile(b0.file('pulled.bin'), SIZE_MIB);
    writeFileSync(b0.file('pushed.bin'), 'beta\'s own\n');
    b = await startNode(nodes[1]!);
    for (const name of ['pulled.bin', 'pushed.bin']) {
      await a.waitStatus(name, 'split-brain', 20_000);
      await b.waitStatus(name, 'split-brain', 20_000);
    }

    // A force pull on a terminal. Mid-way the sender is frozen (SIGSTOP, well within peerTimeoutMs
    // and the request timeout) so that `entangled status` surely runs while the transfer does.
    const force = runOnTty(['force', '--api', a.api, '--file', 'pulled.bin']);
    force.done.catch(() => undefined);
    await waitFor('alpha pulls in chunks', async () => ((await transferOf(a, 'pulled.bin', 'beta')).transfer?.bytes ?? 0) > 0, 20_000, 5);
    b.proc.kill('SIGSTOP');
    let status: Awaited<ReturnType<typeof runCli>>;
    try {
      status = await runCli(['status', '--api', a.api]);
    } finally {
      b.proc.kill('SIGCONT');
    }
    assert.equal(status.code, 0, status.stderr);
    const share = /^pulled\.bin\s+split-brain\s+[0-9a-f]{10}\s+split-brain [0-9a-f]{10} (\d+)%$/m.exec(status.stdout)?.[1];
    assert.ok(share !== undefined, `entangled status shows no share:\n${status.stdout}`);
    assert.ok(Number(share) < 100);
    const { code, output } = await force.done;
    assert.equal(code, 0, output);
    const bars = [...output.matchAll(/\rpulled\.bin from beta \[(#*)(-*)\] +(\d+)% [\d.]+\/300 MiB\u001b\[K/g)];
    assert.ok(bars.length >= 1, `no progress bar on the terminal:\n${JSON.stringify(output)}`);
    const cleared = output.lastIndexOf('\r\u001b[K');
    assert.ok(cleared > output.lastIndexOf(bars.at(-1)![0]), 'the bar is cleared after it was last drawn');
    assert.ok(cleared < output.indexOf('pull from beta'), 'the bar is cleared before the results');
    assert.match(output, /pull from beta\r?\npulled\.bin {2}updated {2}[0-9a-f]{10}/);
    assert.equal((await a.state()).files.find((f) => f.name === 'pulled.bin')!.md5, theirs);

    // The same command in a script (no terminal) prints what it always did, and nothing on stderr.
    const push = await runCli(['force', '--api', a.api, '--file', 'pushed.bin', '--push'], 30_000);
    assert.equal(push.code, 0, push.stderr);
    assert.equal(push.stdout, `push to beta\npushed.bin  updated  ${mine.slice(0, 10)}\n`);
    assert.equal(push.stderr, '');
    await b.waitStatus('pushed.bin', 'aligned');
  } finally {
    await stopAll([a, b], root);
  }
});
