import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNode, tempDir, waitConnected, waitFor, type RunningNode } from '../helpers/cluster.js';
import { buildNetns, defineNsPair, removeStaleNamespaces, setLinkEnd, tearDown, whyNoNetns, type Netns } from '../helpers/netns.js';

/**
 * A real network partition: two network namespaces joined by a veth pair (the cluster link),
 * one node in each. Each namespace also has a veth to the root namespace, on its own /30, that
 * only carries the test's API requests: the namespaces have no route to each other through it
 * (test/helpers/netns.ts).
 */

type Net = Netns<'a' | 'b'>;

const FILES = { 'one.conf': 'one v0\n', 'both.conf': 'both v0\n', 'quiet.conf': 'quiet\n' };

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
    net = buildNetns(['a', 'b'], [['a', 'b']]);
    root = tempDir('entangled-partition-');
  });

  after(() => tearDown(running, net, root));

  const connected = async (r: RunningNode, peer: string) => (await r.state()).peers.find((p) => p.name === peer)!.connected;
  const read = (r: RunningNode, f: string) => readFileSync(r.file(f), 'utf8');

  /** Starts both nodes, aligned; cuts the link; runs `during`; heals; returns the nodes. */
  async function partitionScenario(reconcile: 'manual' | 'auto', basePort: number): Promise<[RunningNode, RunningNode]> {
    const [aDef, bDef] = defineNsPair(net, path.join(root, reconcile), basePort, FILES, { reconcile });
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

    setLinkEnd(net, 'a', 'b', 'down');
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

    setLinkEnd(net, 'a', 'b', 'up');
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
