import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import {
  defineCluster,
  md5,
  md5File,
  runCli,
  startCluster,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type RunningNode,
} from '../helpers/cluster.js';

describe('lifecycle', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} during a burst of writes exits 0 within 2 s and leaves no partial or temp file`, async () => {
      const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
      const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
      try {
        const big = (i: number) => `${String(i).padStart(6, '0')}\n`.repeat(20000);
        // Saved by rename, so that every version alpha can read is whole.
        for (let i = 0; i < 10; i++) {
          writeFileSync(`${a.file('app.conf')}.new`, big(i));
          renameSync(`${a.file('app.conf')}.new`, a.file('app.conf'));
        }
        await waitFor('beta applies something', () => b.logs.some((l) => l.msg === 'applied change from peer'));
        const t0 = Date.now();
        const { code } = await b.stop(signal);
        const elapsed = Date.now() - t0;
        assert.equal(code, 0);
        assert.ok(elapsed < 2000, `took ${elapsed} ms`);
        const content = md5File(b.file('app.conf'));
        assert.ok([...Array(10).keys()].some((i) => md5(big(i)) === content), 'beta holds a partial file');
        assert.deepEqual(readdirSync(b.def.dir).filter((n) => n.includes('entangled-tmp')), []);
        assert.ok(b.logs.some((l) => l.msg === 'node stopped'));
      } finally {
        await stopAll([a, b], root);
      }
    });
  }

  it('a missing file is warned about, then created 0644 (under umask 077) when the peer\'s version arrives; deletion is not propagated', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, contents: { beta: { 'app.conf': null } } });
    const a = await startNode(nodes[0]!);
    const b = await startNode(nodes[1]!, { umask: '077' });
    try {
      await b.waitLog((l) => l.level === 40 && l.path === b.file('app.conf') && /does not exist/.test(l.msg), 'a warn naming the path');
      await b.waitStatus('app.conf', 'missing');
      const sa = await a.waitStatus('app.conf', 'missing');
      assert.deepEqual(sa.peers.beta, { md5: null, status: 'missing' });
      assert.equal(existsSync(b.file('app.conf')), false, 'created without a change');

      writeFileSync(a.file('app.conf'), 'v1\n');
      await waitFor('beta creates app.conf', () => md5File(b.file('app.conf')) === md5('v1\n'));
      assert.equal(statSync(b.file('app.conf')).mode & 0o777, 0o644);
      await a.waitStatus('app.conf', 'aligned');
      await b.waitStatus('app.conf', 'aligned');

      unlinkSync(b.file('app.conf'));
      await b.waitStatus('app.conf', 'missing');
      await a.waitStatus('app.conf', 'missing');
      assert.equal(md5File(a.file('app.conf')), md5('v1\n'), 'the deletion reached alpha');
    } finally {
      await stopAll([a, b], root);
    }
  });

  it('removes temp files a crash left behind, and only those', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const stray = path.join(nodes[0]!.dir, '.app.conf.0123456789ab.entangled-tmp');
    const foreign = path.join(nodes[0]!.dir, '.app.conf.swp');
    writeFileSync(stray, 'half');
    writeFileSync(foreign, 'editor');
    const a = await startNode(nodes[0]!);
    try {
      assert.equal(existsSync(stray), false);
      assert.equal(existsSync(foreign), true);
      assert.ok(a.logs.some((l) => l.path === stray && /temp file/.test(l.msg)));
    } finally {
      await stopAll([a], root);
    }
  });

  it('a peer silent past peerTimeoutMs is lost (warn), then back (info) and aligned again', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      b.proc.kill('SIGSTOP');
      const lost = await a.waitLog((l) => l.msg === 'peer lost' && l.peer === 'beta', 'peer lost', 5000);
      assert.equal(lost.level, 40);
      const s = await a.state();
      assert.equal(s.peers[0]!.connected, false);
      assert.equal(s.files[0]!.peers.beta!.status, 'unknown');
      b.proc.kill('SIGCONT');
      const back = await a.waitLog((l) => (l.msg === 'peer back') && l.peer === 'beta', 'peer back', 5000);
      assert.equal(back.level, 30);
      await a.waitStatus('app.conf', 'aligned');
      // A live peer is never declared lost: no other loss in the whole run.
      assert.equal(a.logs.filter((l) => l.msg === 'peer lost').length, 1);
      assert.equal(b.logs.filter((l) => l.msg === 'peer lost').length <= 1, true);
    } finally {
      b.proc.kill('SIGCONT');
      await stopAll([a, b], root);
    }
  });
});

describe('a node that was itself frozen', () => {
  it('treats the freeze as a disconnection on both sides: edits made meanwhile are a split-brain, nothing overwritten', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      a.proc.kill('SIGSTOP');
      await b.waitLog((l) => l.msg === 'peer lost' && l.peer === 'alpha', 'beta loses alpha', 5000);
      // Both copies change while alpha is frozen; alpha only sees its own edit after it resumes.
      writeFileSync(a.file('app.conf'), 'alpha, edited while frozen\n');
      writeFileSync(b.file('app.conf'), 'beta, edited meanwhile\n');
      await waitFor('beta hashed its edit', async () => (await b.state()).files[0]!.md5 === md5('beta, edited meanwhile\n'));
      a.proc.kill('SIGCONT');
      const lost = await a.waitLog((l) => /^peer lost/.test(l.msg) && l.peer === 'beta', 'alpha drops beta after its own stall', 5000);
      assert.equal(typeof lost.stalledMs, 'number');
      await a.waitStatus('app.conf', 'split-brain');
      await b.waitStatus('app.conf', 'split-brain');
      assert.equal(readFileSync(a.file('app.conf'), 'utf8'), 'alpha, edited while frozen\n');
      assert.equal(readFileSync(b.file('app.conf'), 'utf8'), 'beta, edited meanwhile\n');
      // And they are in reach again: a new change resolves it.
      writeFileSync(a.file('app.conf'), 'resolved\n');
      await waitFor('beta takes the resolution', () => md5File(b.file('app.conf')) === md5('resolved\n'));
    } finally {
      a.proc.kill('SIGCONT');
      await stopAll([a, b], root);
    }
  });
});

describe('configuration errors exit 2 with one line naming the key or path', () => {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'app.conf'), 'x\n');
  const base = {
    node: 'alpha',
    peers: [{ name: 'beta', pub: 'tcp://127.0.0.1:1', rep: 'tcp://127.0.0.1:2' }],
    files: ['app.conf'],
    stateDir: 'state',
  };
  const cases: [string, Record<string, unknown> | string, RegExp][] = [
    ['unknown key', { ...base, colour: 'blue' }, /colour/],
    ['missing node', { ...base, node: undefined }, /node/],
    ['missing peers', { ...base, peers: undefined }, /peers/],
    ['missing files', { ...base, files: undefined }, /files/],
    ['duplicate files', { ...base, files: ['app.conf', './app.conf'] }, /app\.conf/],
    ['duplicate names', { ...base, files: ['app.conf', { path: 'other.conf', name: 'app.conf' }] }, /app\.conf/],
    ['a directory', { ...base, files: ['sub'] }, /sub/],
    ['missing parent folder', { ...base, files: ['nowhere/app.conf'] }, /nowhere/],
    ['bad endpoint', { ...base, m2m: { pub: 'http://127.0.0.1:9' } }, /m2m\.pub/],
    ['two peers with one name', { ...base, peers: [base.peers[0], base.peers[0]] }, /peers\[1\]\.name/],
    ['not YAML', 'node: [unclosed', /YAML/],
    ['a stateDir that cannot be created', { ...base, stateDir: 'app.conf/state' }, /stateDir/],
  ];
  for (const [what, doc, names] of cases) {
    it(what, async () => {
      const file = path.join(dir, `${what.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, typeof doc === 'string' ? doc : stringify(doc));
      const r = await runCli(['start', '--config', file]);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, names);
      assert.doesNotMatch(r.stderr, /\bat .+:\d+:\d+/, 'stack trace');
    });
  }
  it('a missing config file', async () => {
    const r = await runCli(['start', '--config', path.join(dir, 'nope.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nope\.yaml/);
  });
  it('usage errors exit 2; --help and --version exit 0', async () => {
    assert.equal((await runCli(['start'])).code, 2);
    assert.equal((await runCli(['frobnicate'])).code, 2);
    assert.equal((await runCli(['start', '--config', 'x', '--bogus'])).code, 2);
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /entangled start --config FILE/);
    const v = await runCli(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  });
  it('a port already in use is a runtime failure: exit 1, one line', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const a = await startNode(nodes[0]!);
    try {
      const r = await runCli(['start', '--config', nodes[0]!.configPath]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /cannot (bind|listen)/);
    } finally {
      await stopAll([a], root);
    }
  });
});
