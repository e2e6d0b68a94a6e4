import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineCluster, md5, md5File, patchConfig, startCluster, startNode, stopAll, waitConnected, waitFor, type LogLine, type RunningNode } from '../helpers/cluster.js';

// Reload on SIGHUP (CONTRACT.md, "Reload (SIGHUP)"): real processes, real signals.

const MiB = 1024 * 1024;

/** A reload that must succeed; the node goes on. */
async function reloaded(node: RunningNode): Promise<LogLine> {
  const line = await node.hup();
  assert.equal(line.msg, 'configuration reloaded', JSON.stringify(line));
  assert.equal(node.proc.exitCode, null);
  return line;
}

/** `node` holds `content` in `name` and reports every peer aligned for it. */
async function aligned(node: RunningNode, name: string, content: string | Buffer, timeoutMs = 8000): Promise<void> {
  const want = md5(content);
  await waitFor(`${node.def.name}: ${name} aligned on ${want}`, async () => {
    if (md5File(node.file(name)) !== want) return false;
    const f = (await node.state()).files.find((x) => x.name === name);
    return f?.status === 'aligned' && f.md5 === want;
  }, timeoutMs, 10);
}

/** Writes like an editor: a temp file renamed over the listed one. */
function save(file: string, content: string | Buffer): void {
  writeFileSync(`${file}.swp`, content);
  renameSync(`${file}.swp`, file);
}

const listed = (cfg: Record<string, unknown>) => cfg.files as string[];

describe('reload on SIGHUP: files', () => {
  let root: string;
  let nodes: RunningNode[] = [];
  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': 'v0\n', 'new.conf': null }, contents: { alpha: { 'new.conf': 'fresh\n' } } });
    root = cluster.root;
    // Both nodes start without new.conf in their lists (alpha holds the file, beta not).
    for (const n of cluster.nodes) patchConfig(n, (c) => (c.files = ['app.conf']));
    nodes = await startCluster(cluster.nodes);
  });
  after(async () => stopAll(nodes, root));

  it('a SIGHUP with the same config: the node goes on, one info line', async () => {
    const [a] = nodes;
    const line = await reloaded(a!);
    assert.deepEqual([line.filesAdded, line.filesRemoved, line.peersAdded, line.peersRemoved], [[], [], [], []]);
    assert.equal((await fetch(`${a!.api}/api/1/health`)).status, 200);
  });

  it('a file added on both nodes is hashed and exchanged like at start, then replicates', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    for (const n of [a, b]) patchConfig(n.def, (c) => listed(c).push('new.conf'));
    const line = await reloaded(a);
    assert.deepEqual(line.filesAdded, ['new.conf']);
    assert.equal((await a.state()).files.find((f) => f.name === 'new.conf')?.md5, md5('fresh\n'), 'not hashed at the reload');
    await reloaded(b);
    // As at start: the exchange tells each what the other holds (beta has no copy yet).
    await waitFor('alpha learns beta has no new.conf', async () => (await a.state()).files.find((f) => f.name === 'new.conf')?.peers.beta?.status === 'missing', 8000);
    await b.waitStatus('new.conf', 'missing');
    // Nothing is on its way until a change or a force: the pair is missing on both sides (not
    // pending with nothing in flight), and stays so over several heartbeats.
    await waitFor('beta learns alpha holds new.conf', async () => (await b.state()).files.find((f) => f.name === 'new.conf')?.peers.alpha?.md5 === md5('fresh\n'), 8000);
    for (let i = 0; i < 4; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual((await a.state()).files.find((f) => f.name === 'new.conf')?.peers.beta, { md5: null, status: 'missing' });
      assert.deepEqual((await b.state()).files.find((f) => f.name === 'new.conf')?.peers.alpha, { md5: md5('fresh\n'), status: 'missing' });
    }
    save(a.file('new.conf'), 'fresh v2\n');
    await aligned(b, 'new.conf', 'fresh v2\n');
    await aligned(a, 'new.conf', 'fresh v2\n');
    // And it is watched: an edit replicates.
    save(b.file('new.conf'), 'edited on beta\n');
    await aligned(a, 'new.conf', 'edited on beta\n');
  });

  it('a file removed from one node\'s list is no longer served or written there', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    patchConfig(b.def, (c) => (c.files = ['new.conf']));
    const line = await reloaded(b);
    assert.deepEqual(line.filesRemoved, ['app.conf']);
    assert.deepEqual((await b.state()).files.map((f) => f.name), ['new.conf']);
    // beta no longer lists it: unlisted for beta on alpha (the contract's word, not missing).
    await a.waitStatus('app.conf', 'unlisted');
    save(a.file('app.conf'), 'not for beta\n');
    await a.waitHashed('app.conf', 'not for beta\n');
    // A later change of a file beta still lists arrives after alpha's change of app.conf (one PUB, in order).
    save(a.file('new.conf'), 'fence\n');
    await aligned(b, 'new.conf', 'fence\n');
    assert.equal(readFileSync(b.file('app.conf'), 'utf8'), 'v0\n', 'beta wrote a file it no longer lists');
    // Pushing it to beta is refused as not listed there.
    const res = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ files: ['app.conf'], direction: 'push' }) });
    const body = await res.text();
    assert.ok(res.status !== 200 || /"failed"/.test(body), `${res.status} ${body}`);
    assert.match(body, /beta does not list app\.conf/);
    assert.equal(readFileSync(b.file('app.conf'), 'utf8'), 'v0\n');
  });
});

describe('reload on SIGHUP: peers', () => {
  let root: string;
  let nodes: RunningNode[] = [];
  before(async () => {
    const cluster = await defineCluster({ nodes: 3, files: { 'app.conf': 'v0\n' } });
    root = cluster.root;
    // alpha and beta do not list gamma yet; gamma lists both.
    for (const n of cluster.nodes.slice(0, 2)) patchConfig(n, (c) => (c.peers = (c.peers as { name: string }[]).filter((p) => p.name !== 'gamma')));
    nodes = await Promise.all(cluster.nodes.map((n) => startNode(n)));
    await Promise.all(nodes.slice(0, 2).map((n) => waitConnected(n)));
  });
  after(async () => stopAll(nodes, root));

  it('a peer added on every node connects and replicates both ways', async () => {
    const [a, b, g] = nodes as [RunningNode, RunningNode, RunningNode];
    for (const n of [a, b]) {
      patchConfig(n.def, (c) => (c.peers as unknown[]).push({ name: 'gamma', pub: `tcp://127.0.0.1:${g.def.ports.pub}`, rep: `tcp://127.0.0.1:${g.def.ports.rep}` }));
      const line = await reloaded(n);
      assert.deepEqual(line.peersAdded, ['gamma']);
    }
    for (const n of nodes) await waitConnected(n);
    save(g.file('app.conf'), 'from gamma\n');
    for (const n of nodes) await aligned(n, 'app.conf', 'from gamma\n');
    save(a.file('app.conf'), 'from alpha\n');
    await aligned(g, 'app.conf', 'from alpha\n');
  });

  it('a peer removed from every list is no longer served: its requests are refused, its changes not taken', async () => {
    const [a, b, g] = nodes as [RunningNode, RunningNode, RunningNode];
    const seen = a.logs.length;
    for (const n of [a, b]) {
      patchConfig(n.def, (c) => (c.peers = (c.peers as { name: string }[]).filter((p) => p.name !== 'gamma')));
      const line = await reloaded(n);
      assert.deepEqual(line.peersRemoved, ['gamma']);
      assert.deepEqual((await n.state()).peers.map((p) => p.name), n === a ? ['beta'] : ['alpha']);
      assert.ok(!(await n.state()).files[0]!.peers.gamma, 'gamma still in the file\'s peers');
      const metrics = await (await fetch(`${n.api}/metrics`)).text();
      assert.doesNotMatch(metrics, /entangled_peer_up\{peer="gamma"\}/);
      assert.match(metrics, /entangled_peer_up\{peer="(alpha|beta)"\} 1/);
    }
    // gamma still lists alpha: its push is a request alpha no longer serves.
    const push = await fetch(`${g.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ peer: 'alpha', direction: 'push' }) });
    const pushed = await push.text();
    assert.ok(push.status !== 200 || /"failed"/.test(pushed), `${push.status} ${pushed}`);
    assert.match(pushed, /unknown peer/);
    await a.waitLog((l) => a.logs.indexOf(l) >= seen && l.level === 40 && /gamma/.test(JSON.stringify(l)), 'refuses gamma\'s request', 8000);
    save(g.file('app.conf'), 'gamma alone\n');
    await g.waitHashed('app.conf', 'gamma alone\n');
    // A change between the two that remain still goes through, and gamma's never arrived.
    save(b.file('app.conf'), 'beta after\n');
    await aligned(a, 'app.conf', 'beta after\n');
    assert.equal(readFileSync(a.file('app.conf'), 'utf8'), 'beta after\n');
    assert.equal(readFileSync(g.file('app.conf'), 'utf8'), 'gamma alone\n', 'a change reached the removed peer');
  });
});

describe('reload on SIGHUP: refused configs and the other keys', () => {
  let root: string;
  let nodes: RunningNode[] = [];
  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    root = cluster.root;
    nodes = await startCluster(cluster.nodes);
  });
  after(async () => stopAll(nodes, root));

  const refusals: { what: string; make: (cfg: Record<string, unknown>) => void; key: RegExp }[] = [
    { what: 'an unknown key', make: (c) => (c.colour = 'blue'), key: /unknown key "colour"/ },
    { what: 'a second peer named alike', make: (c) => (c.peers = [...(c.peers as object[]), ...(c.peers as object[])]), key: /peers\[1\]\.name: two peers are named "beta"/ },
    { what: 'another m2m.pub', make: (c) => ((c.m2m as Record<string, string>).pub = 'tcp://127.0.0.1:1'), key: /^reload refused: m2m\.pub: cannot change while the node runs/ },
    { what: 'another node name', make: (c) => (c.node = 'omega'), key: /^reload refused: node: cannot change/ },
    { what: 'another api.port', make: (c) => ((c.api as Record<string, number>).port = 1), key: /^reload refused: api\.port: cannot change/ },
    { what: 'another stateDir', make: (c) => (c.stateDir = 'elsewhere'), key: /^reload refused: stateDir: cannot change/ },
    { what: 'a file whose folder is gone', make: (c) => listed(c).push('gone/x.conf'), key: /files\[1\]: folder .*gone does not exist/ },
  ];
  for (const r of refusals) {
    it(`${r.what}: one error line naming it, and the node goes on unchanged`, async () => {
      const [a, b] = nodes as [RunningNode, RunningNode];
      const good = readFileSync(a.def.configPath, 'utf8');
      patchConfig(a.def, r.make);
      try {
        const seen = a.logs.length;
        const line = await a.hup();
        assert.ok(line.msg.startsWith('reload refused'), line.msg);
        assert.equal(line.level, 50, 'not an error line');
        assert.match(line.msg, r.key);
        assert.equal(a.logs.slice(seen).filter((l) => l.level >= 50).length, 1);
        assert.equal(a.proc.exitCode, null);
        // Unchanged: still replicating both ways.
        const v = `after ${r.what}\n`;
        save(b.file('app.conf'), v);
        await aligned(a, 'app.conf', v);
      } finally {
        writeFileSync(a.def.configPath, good);
      }
    });
  }
  it('not YAML at all: refused', async () => {
    const [a] = nodes as [RunningNode];
    const good = readFileSync(a.def.configPath, 'utf8');
    writeFileSync(a.def.configPath, 'node: [alpha\n');
    try {
      const line = await a.hup();
      assert.match(line.msg, /^reload refused: .*not valid YAML/);
    } finally {
      writeFileSync(a.def.configPath, good);
    }
  });

  it('api.token set and removed by reloads', async () => {
    const [a] = nodes as [RunningNode];
    patchConfig(a.def, (c) => ((c.api as Record<string, unknown>).token = 'sesame'));
    await reloaded(a);
    assert.equal((await fetch(`${a.api}/api/1/state`)).status, 401);
    assert.equal((await fetch(`${a.api}/api/1/state`, { headers: { Authorization: 'Bearer sesame' } })).status, 200);
    assert.equal((await fetch(`${a.api}/api/1/health`)).status, 200);
    patchConfig(a.def, (c) => delete (c.api as Record<string, unknown>).token);
    await reloaded(a);
    assert.equal((await fetch(`${a.api}/api/1/state`)).status, 200);
  });

  it('reconcile and a hook take effect', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const mark = path.join(a.def.dir, 'applied.txt');
    patchConfig(a.def, (c) => {
      c.reconcile = 'auto';
      c.files = [{ path: 'app.conf', onApply: `echo "$ENTANGLED_MD5" > ${mark}` }];
    });
    const line = await reloaded(a);
    assert.deepEqual(line.filesUpdated, ['app.conf']);
    assert.deepEqual(line.settings, ['reconcile']);
    assert.equal((await a.state()).reconcile, 'auto');
    save(b.file('app.conf'), 'hooked\n');
    await waitFor('onApply ran', () => md5File(mark) !== null && readFileSync(mark, 'utf8').trim() === md5('hooked\n'), 8000);
  });
});

describe('reload on SIGHUP in the middle of work', () => {
  let root: string;
  let nodes: RunningNode[] = [];
  const names = Array.from({ length: 150 }, (_, i) => `f${i}.conf`);
  before(async () => {
    const files: Record<string, string | null> = { 'big.bin': 'small\n', 'other.conf': 'o\n' };
    for (const n of names) files[n] = `${n} v0\n`;
    const cluster = await defineCluster({ files });
    root = cluster.root;
    nodes = await startCluster(cluster.nodes);
  });
  after(async () => stopAll(nodes, root));

  it('a reload on both nodes during a burst loses nothing', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    for (const n of [a, b]) patchConfig(n.def, (c) => (c.peerTimeoutMs = 1200));
    const reloads: Promise<LogLine>[] = [];
    for (const [i, n] of names.entries()) {
      writeFileSync(a.file(n), `${n} v1\n`);
      if (i === 50) reloads.push(reloaded(a), reloaded(b));
    }
    await Promise.all(reloads);
    for (const n of names) await waitFor(`beta holds ${n} v1`, () => md5File(b.file(n)) === md5(`${n} v1\n`), 15000);
    await waitFor('every file aligned on both', async () => {
      for (const node of [a, b]) if (!(await node.state()).files.every((f) => f.status === 'aligned')) return false;
      return true;
    }, 15000, 50);
  });

  it('a reload on both nodes during a chunked transfer: the transfer completes', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const big = randomBytes(160 * MiB);
    for (const n of [a, b]) patchConfig(n.def, (c) => (c.backups = 2));
    save(a.file('big.bin'), big);
    // Mid-transfer: beta's temp file of big.bin exists.
    await waitFor('beta is receiving big.bin', () => readdirSync(b.def.dir).some((f) => f.startsWith('.big.bin.') && f.endsWith('.entangled-tmp')), 15000, 5);
    await Promise.all([reloaded(b), reloaded(a)]);
    await aligned(b, 'big.bin', big, 30000);
    await aligned(a, 'big.bin', big, 30000);
  });

  it('a file removed while its chunked transfer runs is not written', async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const before = md5File(b.file('big.bin'));
    const big = randomBytes(160 * MiB);
    save(a.file('big.bin'), big);
    await waitFor('beta is receiving big.bin', () => readdirSync(b.def.dir).some((f) => f.startsWith('.big.bin.') && f.endsWith('.entangled-tmp')), 15000, 5);
    patchConfig(b.def, (c) => (c.files = listed(c).filter((f) => f !== 'big.bin')));
    const seen = b.logs.length;
    await reloaded(b);
    await b.waitLog((l) => b.logs.indexOf(l) >= seen && l.path === b.file('big.bin') && /no longer listed/.test(l.msg) && /not written/.test(l.msg), 'drops the transfer', 30000);
    assert.equal(md5File(b.file('big.bin')), before, 'beta wrote a file it no longer lists');
    await waitFor('no temp file left', () => !readdirSync(b.def.dir).some((f) => f.endsWith('.entangled-tmp')), 10000);
    // The rest goes on.
    save(a.file('other.conf'), 'after the removal\n');
    await aligned(b, 'other.conf', 'after the removal\n');
  });
});
