import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defineCluster, md5, md5File, startCluster, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';

const FILES = {
  'app.conf': 'listen 80\n',
  'echo.conf': 'echo 0\n',
  'burst.conf': 'burst 0\n',
  'rename.conf': 'rename 0\n',
  'mode.conf': 'mode 0\n',
  'sed.conf': 'color=red\n',
  'trunc.conf': 'something to truncate\n',
};

async function converge(node: RunningNode, name: string, content: string | Buffer, timeoutMs = 5000): Promise<void> {
  const want = md5(content);
  await waitFor(`${node.def.name}:${name} holds ${want}`, () => md5File(node.file(name)) === want, timeoutMs, 2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replication between two real nodes', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;

  before(async () => {
    const cluster = await defineCluster({ files: FILES });
    root = cluster.root;
    [a, b] = (await startCluster(cluster.nodes)) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  it('bootstraps aligned: every file aligned on both nodes, in the contract shape', async () => {
    for (const node of [a, b]) {
      // Aligned once the agreement found in the connect exchange is in the journal (a few ms: pending until then).
      const s = await waitFor(`${node.def.name}: every file aligned`, async () => {
        const st = await node.state();
        return st.files.every((f) => f.status === 'aligned') ? st : null;
      }, 5000);
      assert.equal(s.node, node.def.name);
      assert.equal(s.reconcile, 'manual');
      assert.equal(s.peers.length, 1);
      assert.equal(s.peers[0]!.connected, true);
      assert.match(s.peers[0]!.lastSeen!, /^\d{4}-\d\d-\d\dT/);
      for (const f of s.files) {
        assert.equal(f.status, 'aligned', `${node.def.name}:${f.name}`);
        assert.equal(f.md5, md5(FILES[f.name as keyof typeof FILES]));
        assert.equal(f.path, node.file(f.name));
        assert.equal(f.error, null);
        const peer = Object.values(f.peers)[0]!;
        assert.deepEqual(peer, { md5: f.md5, status: 'aligned' });
      }
    }
  });

  it('replicates a change from alpha to beta and from beta to alpha', async () => {
    writeFileSync(a.file('app.conf'), 'listen 81\n');
    await converge(b, 'app.conf', 'listen 81\n');
    writeFileSync(b.file('app.conf'), 'listen 82\nworkers 4\n');
    await converge(a, 'app.conf', 'listen 82\nworkers 4\n');
    await a.waitStatus('app.conf', 'aligned');
    await b.waitStatus('app.conf', 'aligned');
  });

  it('does not echo: the origin file is not rewritten and the receiver publishes nothing', async () => {
    // Saved by rename: exactly one new version ever exists (a truncating write that stayed empty
    // 250 ms, as a loaded machine may make it, would rightly be published too).
    writeFileSync(`${a.file('echo.conf')}.new`, 'echo 1\n');
    renameSync(`${a.file('echo.conf')}.new`, a.file('echo.conf'));
    const written = statSync(a.file('echo.conf'));
    await converge(b, 'echo.conf', 'echo 1\n');
    await a.waitStatus('echo.conf', 'aligned');
    await b.waitStatus('echo.conf', 'aligned');
    const now = statSync(a.file('echo.conf'));
    assert.equal(now.ino, written.ino, 'origin file replaced');
    assert.equal(now.mtimeMs, written.mtimeMs, 'origin file rewritten');
    const published = (n: RunningNode) => n.logs.filter((l) => l.msg === 'local change published' && l.path === n.file('echo.conf')).length;
    assert.equal(published(a), 1);
    assert.equal(published(b), 0, 'the receiver re-published the change it applied');
    assert.equal(a.logs.filter((l) => l.msg === 'applied change from peer' && l.path === a.file('echo.conf')).length, 0);
  });

  it('bursts of 5 writes 3 ms apart converge to the last write, every time', async () => {
    for (let round = 0; round < 10; round++) {
      let last = '';
      for (let i = 0; i < 5; i++) {
        // Same size every time: only the content tells the versions apart.
        last = `burst ${round}-${i}\n`;
        writeFileSync(a.file('burst.conf'), last);
        await sleep(3);
      }
      await converge(b, 'burst.conf', last);
      await converge(a, 'burst.conf', last);
    }
    await a.waitStatus('burst.conf', 'aligned');
    await b.waitStatus('burst.conf', 'aligned');
    assert.equal(readFileSync(b.file('burst.conf'), 'utf8'), 'burst 9-4\n');
  });

  it('follows editor saves by rename over the file, repeatedly, both ways', async () => {
    for (let i = 1; i <= 6; i++) {
      const [from, to] = i % 2 ? [a, b] : [b, a];
      const content = `rename ${i}\n${'x'.repeat(i * 10)}\n`;
      const tmp = `${from.file('rename.conf')}.swp`;
      writeFileSync(tmp, content);
      renameSync(tmp, from.file('rename.conf'));
      await converge(to, 'rename.conf', content);
    }
    await a.waitStatus('rename.conf', 'aligned');
  });

  it('follows a delete and recreate (editors that save that way)', async () => {
    unlinkSync(a.file('app.conf'));
    writeFileSync(a.file('app.conf'), 'recreated\n');
    await converge(b, 'app.conf', 'recreated\n');
    await a.waitStatus('app.conf', 'aligned');
    await b.waitStatus('app.conf', 'aligned');
  });

  it('follows sed -i (a new inode) and truncation', async () => {
    const r = spawnSync('sed', ['-i', 's/red/blue/', a.file('sed.conf')]);
    assert.equal(r.status, 0);
    await converge(b, 'sed.conf', 'color=blue\n');
    truncateSync(b.file('trunc.conf'), 0);
    await converge(a, 'trunc.conf', '');
    await a.waitStatus('trunc.conf', 'aligned');
  });

  it('keeps the receiving file\'s mode and group', async () => {
    // Root's, as a file of a root node must be: a file another user owns (who may write it) is
    // refused (test/e2e/ownership.test.ts); keeping a non-root owner is in test/e2e/disk.test.ts.
    chmodSync(b.file('mode.conf'), 0o640);
    chownSync(b.file('mode.conf'), 0, 4322);
    writeFileSync(a.file('mode.conf'), 'mode 1\n');
    await converge(b, 'mode.conf', 'mode 1\n');
    const st = statSync(b.file('mode.conf'));
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 4322);
    assert.equal(statSync(a.file('mode.conf')).mode & 0o7777, 0o644);
  });

  it('logs pino JSON lines, with path on file lines and peer on peer lines', () => {
    for (const node of [a, b]) {
      assert.ok(node.logs.length > 0);
      for (const l of node.logs) {
        assert.equal(typeof l.level, 'number', JSON.stringify(l));
        assert.equal(typeof l.msg, 'string');
      }
      const fileLines = node.logs.filter((l) => /change|applied|split-brain|file/.test(l.msg) && l.msg !== 'node started');
      assert.ok(fileLines.length > 0);
      for (const l of fileLines) assert.equal(typeof l.path, 'string', JSON.stringify(l));
      const peerLines = node.logs.filter((l) => /^peer /.test(l.msg));
      assert.ok(peerLines.length > 0);
      for (const l of peerLines) assert.equal(typeof l.peer, 'string', JSON.stringify(l));
    }
  });
});
