import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { startNode, tempDir, waitConnected, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

/**
 * A real network partition: two network namespaces joined by a veth pair (the cluster link),
 * one node in each. Each namespace also has a veth to the root namespace, on its own /30, that
 * only carries the test's API requests: the namespaces have no route to each other through it.
 */

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Why network namespaces cannot be used here, or null when they can. */
function whyNoNetns(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs CAP_SYS_ADMIN';
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error) return `no ip command (Debian package iproute2): ${v.error.message}`;
  const probe = `entangled-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1');
    return null;
  } catch (err) {
    return `cannot create network namespaces or veth pairs: ${(err as Error).message}`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
}

/** Namespaces of earlier runs whose test process died without cleaning up. */
function removeStaleNamespaces(): void {
  let list = '';
  try {
    list = ip('netns', 'list');
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(entangled-(\d+)-[0-9a-f]+-[ab])\b/.exec(line);
    if (!m) continue;
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
}

interface Net {
  tag: string;
  ns: { a: string; b: string };
  /** The cluster link's end in namespace a (the one set down and up). */
  linkA: string;
  rootLinks: string[];
  /** Addresses: the cluster link's ends, and each namespace's end of its API link. */
  clusterA: string;
  clusterB: string;
  apiA: string;
  apiB: string;
}

function usedPrefixes(): string {
  return ip('-4', 'addr') + ip('-4', 'route');
}

/** Builds the two namespaces and three veth pairs; on any failure undoes what it made. */
function buildNet(): Net {
  const tag = randomBytes(2).toString('hex');
  // A /28 in 10.200-254.x.y that nothing on this host uses yet.
  let prefix = '';
  for (let i = 0; i < 50 && !prefix; i++) {
    const p = `10.${200 + Math.floor(Math.random() * 55)}.${Math.floor(Math.random() * 256)}.`;
    if (!usedPrefixes().includes(p)) prefix = p;
  }
  if (!prefix) throw new Error('no free 10.x.y.0/28 found');
  const net: Net = {
    tag,
    ns: { a: `entangled-${process.pid}-${tag}-a`, b: `entangled-${process.pid}-${tag}-b` },
    linkA: `et${tag}pa`,
    rootLinks: [`et${tag}ra`, `et${tag}rb`],
    clusterA: `${prefix}1`,
    clusterB: `${prefix}2`,
    apiA: `${prefix}6`,
    apiB: `${prefix}10`,
  };
  try {
    const { a, b } = net.ns;
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    for (const ns of [a, b]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    // The cluster link, created inside a and its peer end moved to b.
    ip('-n', a, 'link', 'add', net.linkA, 'type', 'veth', 'peer', 'name', `et${tag}pb`, 'netns', b);
    ip('-n', a, 'addr', 'add', `${net.clusterA}/30`, 'dev', net.linkA);
    ip('-n', b, 'addr', 'add', `${net.clusterB}/30`, 'dev', `et${tag}pb`);
    ip('-n', a, 'link', 'set', net.linkA, 'up');
    ip('-n', b, 'link', 'set', `et${tag}pb`, 'up');
    // The API links: root end .5/.9, namespace end .6/.10.
    for (const [side, ns, rootAddr, nsAddr] of [['a', a, `${prefix}5`, net.apiA], ['b', b, `${prefix}9`, net.apiB]] as const) {
      const rootEnd = `et${tag}r${side}`;
      const nsEnd = `et${tag}n${side}`;
      ip('link', 'add', rootEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', ns);
      ip('addr', 'add', `${rootAddr}/30`, 'dev', rootEnd);
      ip('link', 'set', rootEnd, 'up');
      ip('-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', nsEnd);
      ip('-n', ns, 'link', 'set', nsEnd, 'up');
    }
    return net;
  } catch (err) {
    destroyNet(net);
    throw err;
  }
}

function destroyNet(net: Net): void {
  for (const l of net.rootLinks) spawnSync('ip', ['link', 'del', l]);
  for (const ns of [net.ns.a, net.ns.b]) spawnSync('ip', ['netns', 'del', ns]);
}

const FILES = { 'one.conf': 'one v0\n', 'both.conf': 'both v0\n', 'quiet.conf': 'quiet\n' };

/** Writes the two nodes' configs and files: alpha in namespace a, beta in namespace b. */
function defineNsCluster(root: string, net: Net, reconcile: 'manual' | 'auto', basePort: number): NodeDef[] {
  const sides = [
    { name: 'alpha', cluster: net.clusterA, api: net.apiA },
    { name: 'beta', cluster: net.clusterB, api: net.apiB },
  ];
  const ports = { api: basePort, pub: basePort + 1, rep: basePort + 2 };
  return sides.map((s, i) => {
    const other = sides[1 - i]!;
    const dir = path.join(root, reconcile, s.name);
    mkdirSync(path.join(dir, 'state'), { recursive: true });
    const def: NodeDef = { name: s.name, dir, ports, configPath: path.join(dir, 'entangled.yaml'), apiHost: s.api };
    writeFileSync(def.configPath, stringify({
      node: s.name,
      api: { host: s.api, port: ports.api },
      m2m: { pub: `tcp://${s.cluster}:${ports.pub}`, rep: `tcp://${s.cluster}:${ports.rep}` },
      peers: [{ name: other.name, pub: `tcp://${other.cluster}:${ports.pub}`, rep: `tcp://${other.cluster}:${ports.rep}` }],
      files: Object.keys(FILES),
      stateDir: 'state',
      reconcile,
      peerTimeoutMs: 1000,
    }));
    for (const [f, c] of Object.entries(FILES)) writeFileSync(path.join(dir, f), c);
    return def;
  });
}

const skip = whyNoNetns();
if (skip) console.log(`partition tests skipped: ${skip}`);

// Skipped by name, test by test (each is reported as skipped with the reason, never as passed).
const opts = { timeout: 90_000, skip: skip ?? false };

describe('a real network partition between two network namespaces', () => {
  let net: Net;
  let root: string;
  const running: RunningNode[] = [];

  before(() => {
    if (skip) return;
    removeStaleNamespaces();
    for (let attempt = 1; ; attempt++) {
      try {
        net = buildNet();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    root = tempDir('entangled-partition-');
  });

  after(async () => {
    for (const r of running) {
      if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
      await r.exited;
    }
    if (net) destroyNet(net);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const connected = async (r: RunningNode, peer: string) => (await r.state()).peers.find((p) => p.name === peer)!.connected;
  const read = (r: RunningNode, f: string) => readFileSync(r.file(f), 'utf8');

  /** Starts both nodes, aligned; cuts the link; runs `during`; heals; returns the nodes. */
  async function partitionScenario(reconcile: 'manual' | 'auto', basePort: number): Promise<[RunningNode, RunningNode]> {
    const [aDef, bDef] = defineNsCluster(root, net, reconcile, basePort) as [NodeDef, NodeDef];
    const alpha = await startNode(aDef, { netns: net.ns.a });
    running.push(alpha);
    const beta = await startNode(bDef, { netns: net.ns.b });
    running.push(beta);
    await waitConnected(alpha, 15_000);
    await waitConnected(beta, 15_000);
    for (const f of Object.keys(FILES)) {
      await alpha.waitStatus(f, 'aligned', 10_000);
      await beta.waitStatus(f, 'aligned', 10_000);
    }

    ip('-n', net.ns.a, 'link', 'set', net.linkA, 'down');
    await waitFor('alpha loses beta', async () => !(await connected(alpha, 'beta')), 10_000, 50);
    await waitFor('beta loses alpha', async () => !(await connected(beta, 'alpha')), 10_000, 50);
    await alpha.waitLog((l) => l.msg === 'peer lost' && l.peer === 'beta', 'peer lost');
    await beta.waitLog((l) => l.msg === 'peer lost' && l.peer === 'alpha', 'peer lost');

    writeFileSync(alpha.file('one.conf'), 'one from alpha\n');
    writeFileSync(alpha.file('both.conf'), 'both from alpha\n');
    writeFileSync(beta.file('both.conf'), 'both from beta\n');
    await alpha.waitHashed('one.conf', 'one from alpha\n');
    await alpha.waitHashed('both.conf', 'both from alpha\n');
    await beta.waitHashed('both.conf', 'both from beta\n');
    // Still apart: nothing crossed the cut link.
    assert.equal(read(beta, 'one.conf'), 'one v0\n');
    assert.equal(read(beta, 'both.conf'), 'both from beta\n');

    ip('-n', net.ns.a, 'link', 'set', net.linkA, 'up');
    await waitFor('alpha sees beta again', () => connected(alpha, 'beta'), 20_000, 50);
    await waitFor('beta sees alpha again', () => connected(beta, 'alpha'), 20_000, 50);
    await alpha.waitLog((l) => l.msg === 'peer back' && l.peer === 'beta', 'peer back');
    await beta.waitLog((l) => l.msg === 'peer back' && l.peer === 'alpha', 'peer back');
    return [alpha, beta];
  }

  /** Both nodes report split-brain for `f` with each other, each keeping its own copy. */
  async function assertSplitBrain(alpha: RunningNode, beta: RunningNode, f: string, alphaHas: string, betaHas: string): Promise<void> {
    const a = await alpha.waitStatus(f, 'split-brain', 15_000);
    const b = await beta.waitStatus(f, 'split-brain', 15_000);
    assert.equal(a.peers.beta!.status, 'split-brain');
    assert.equal(b.peers.alpha!.status, 'split-brain');
    assert.equal(read(alpha, f), alphaHas, `${f}: alpha's copy is not overwritten`);
    assert.equal(read(beta, f), betaHas, `${f}: beta's copy is not overwritten`);
    for (const [r, peer] of [[alpha, 'beta'], [beta, 'alpha']] as const) {
      const line = await r.waitLog((l) => l.msg.startsWith('split-brain') && l.peer === peer && l.name === f, `split-brain on ${f}`);
      assert.equal(line.level, 40);
      assert.equal(line.path, r.file(f));
    }
  }

  /** A few heartbeats later the copies are still where they were (no late frame overwrote one). */
  async function stillAfterHeartbeats(alpha: RunningNode, beta: RunningNode, expect: Record<string, [string, string]>): Promise<void> {
    const since = Date.now();
    await waitFor('a second of heartbeats', async () => {
      const s = await beta.state();
      return Date.parse(s.peers[0]!.lastSeen!) > since + 1000;
    }, 10_000, 50);
    for (const [f, [a, b]] of Object.entries(expect)) {
      assert.equal(read(alpha, f), a, `${f} on alpha`);
      assert.equal(read(beta, f), b, `${f} on beta`);
    }
  }

  it('reconcile: manual: a change on one side and changes on both sides are split-brains on both sides, no copy overwritten', opts, async () => {
    const [alpha, beta] = await partitionScenario('manual', 7100);
    await assertSplitBrain(alpha, beta, 'one.conf', 'one from alpha\n', 'one v0\n');
    await assertSplitBrain(alpha, beta, 'both.conf', 'both from alpha\n', 'both from beta\n');
    await alpha.waitStatus('quiet.conf', 'aligned');
    await beta.waitStatus('quiet.conf', 'aligned');
    await stillAfterHeartbeats(alpha, beta, {
      'one.conf': ['one from alpha\n', 'one v0\n'],
      'both.conf': ['both from alpha\n', 'both from beta\n'],
      'quiet.conf': ['quiet\n', 'quiet\n'],
    });
    assert.equal(alpha.proc.exitCode, null);
    assert.equal(beta.proc.exitCode, null);
  });

  it('reconcile: auto: the side that did not change fast-forwards; changes on both sides are a split-brain on both sides', opts, async () => {
    const [alpha, beta] = await partitionScenario('auto', 7200);
    await waitFor('beta fast-forwards one.conf', () => read(beta, 'one.conf') === 'one from alpha\n', 15_000, 20);
    await beta.waitLog((l) => l.msg.startsWith('fast-forwarded') && l.name === 'one.conf', 'the fast-forward');
    await alpha.waitStatus('one.conf', 'aligned');
    await beta.waitStatus('one.conf', 'aligned');
    await assertSplitBrain(alpha, beta, 'both.conf', 'both from alpha\n', 'both from beta\n');
    await alpha.waitStatus('quiet.conf', 'aligned');
    await beta.waitStatus('quiet.conf', 'aligned');
    await stillAfterHeartbeats(alpha, beta, {
      'one.conf': ['one from alpha\n', 'one from alpha\n'],
      'both.conf': ['both from alpha\n', 'both from beta\n'],
      'quiet.conf': ['quiet\n', 'quiet\n'],
    });
    // Resolving it: a new edit on one side, now that they are in reach, wins.
    writeFileSync(beta.file('both.conf'), 'both resolved on beta\n');
    await waitFor('alpha takes the resolving edit', () => read(alpha, 'both.conf') === 'both resolved on beta\n', 10_000, 20);
    await alpha.waitStatus('both.conf', 'aligned');
    await beta.waitStatus('both.conf', 'aligned');
  });
});
