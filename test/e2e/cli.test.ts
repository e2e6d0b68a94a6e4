import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defineCluster, diverge, freePorts, md5, runCli, startCluster, stopAll, type RunningNode } from '../helpers/cluster.js';

describe('entangled status, force and diff against real nodes', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;

  before(async () => {
    const c = await defineCluster({ files: { 'app.conf': 'v0\n', 'gone.conf': 'g\n' }, contents: { beta: { 'gone.conf': null } } });
    root = c.root;
    [a, b] = (await startCluster(c.nodes)) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  it('status prints a table (no colour when not a terminal) and --json the state', async () => {
    const r = await runCli(['status', '--api', a.api]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^node alpha\s+reconcile: manual$/m);
    assert.match(r.stdout, /^beta\s+up\s+\d{4}-/m);
    assert.match(r.stdout, /^app\.conf\s+aligned\s+[0-9a-f]{10}\s+aligned [0-9a-f]{10}$/m);
    assert.match(r.stdout, /^gone\.conf\s+missing\s/m);
    assert.doesNotMatch(r.stdout, /\u001b\[/);
    const j = await runCli(['status', '--api', a.api, '--json']);
    assert.equal(j.code, 0);
    // lastSeen moves with every heartbeat: compare the rest.
    const strip = (s: { peers: { lastSeen: string | null }[] }) => ({ ...s, peers: s.peers.map((p) => ({ ...p, lastSeen: typeof p.lastSeen })) });
    assert.deepEqual(strip(JSON.parse(j.stdout)), strip(await a.state()));
  });

  it('status exits 1 with one line when the API cannot be reached', async () => {
    const [port] = await freePorts(1);
    const r = await runCli(['status', '--api', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    assert.match(r.stderr, /cannot reach the API/);
    assert.equal(r.stdout, '');
  });

  it('force prints each file\'s result and exits 1 when any failed', async () => {
    const r = await runCli(['force', '--api', a.api]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^pull from beta$/m);
    assert.match(r.stdout, /^app\.conf\s+unchanged\s/m);
    assert.match(r.stdout, /^gone\.conf\s+failed\s+peer "beta" has no such file$/m);
    const ok = await runCli(['force', '--api', a.api, '--file', 'app.conf', '--push']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^push to beta$/m);
    const bad = await runCli(['force', '--api', a.api, '--file', '/etc/shadow']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a listed file/);
  });

  it('diff prints the unified diff between the two copies', async () => {
    await diverge(a, b, 'app.conf', 'v0\nalpha line\n', 'v0\nbeta line\n');
    await a.waitStatus('app.conf', 'split-brain');
    const r = await runCli(['diff', '--api', a.api, '--file', 'app.conf']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^--- alpha:app\.conf/m);
    assert.match(r.stdout, /^\+\+\+ beta:app\.conf/m);
    assert.match(r.stdout, /^-alpha line$/m);
    assert.match(r.stdout, /^\+beta line$/m);
    const f = await runCli(['force', '--api', a.api, '--file', a.file('app.conf')]);
    assert.equal(f.code, 0);
    assert.equal(readFileSync(a.file('app.conf'), 'utf8'), 'v0\nbeta line\n');
    const same = await runCli(['diff', '--api', a.api, '--file', 'app.conf']);
    assert.match(same.stdout, /identical/);
    assert.equal(md5(readFileSync(b.file('app.conf'))), md5('v0\nbeta line\n'));
  });

  it('every command has --help; usage errors exit 2', async () => {
    for (const cmd of ['start', 'status', 'force', 'diff', 'demo']) {
      const h = await runCli([cmd, '--help']);
      assert.equal(h.code, 0, cmd);
      assert.match(h.stdout, new RegExp(`^Usage: entangled ${cmd}`));
    }
    assert.equal((await runCli(['diff', '--api', a.api])).code, 2);
    assert.equal((await runCli(['status', '--api', 'not-a-url'])).code, 2);
  });
});

describe('the CLI with api.token', () => {
  it('sends --token, or $ENTANGLED_TOKEN, as the bearer token', async () => {
    const token = 'cli-token';
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, token });
    const running = await startCluster(nodes, { token });
    try {
      const api = running[0]!.api;
      const none = await runCli(['status', '--api', api], 10000, { ENTANGLED_TOKEN: '' });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /Authorization/);
      assert.equal((await runCli(['status', '--api', api, '--token', token])).code, 0);
      assert.equal((await runCli(['status', '--api', api], 10000, { ENTANGLED_TOKEN: token })).code, 0);
      assert.equal((await runCli(['force', '--api', api], 10000, { ENTANGLED_TOKEN: token })).code, 0);
    } finally {
      await stopAll(running, root);
    }
  });
});
