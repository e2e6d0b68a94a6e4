import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defineCluster, md5, md5File, startCluster, startNode, stopAll, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

// More than two nodes (CONTRACT.md, "More than two nodes"): a full mesh of real processes.

const NAMES5 = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

/** Every node holds `content` in `name` on disk and reports it aligned with every peer. */
async function allAligned(nodes: RunningNode[], name: string, content: string, timeoutMs = 8000): Promise<void> {
  const want = md5(content);
  await Promise.all(
    nodes.map((n) =>
      waitFor(`${n.def.name}: ${name} aligned on ${want}`, async () => {
        if (md5File(n.file(name)) !== want) return false;
        const f = (await n.state()).files.find((x) => x.name === name)!;
        return f.status === 'aligned' && f.md5 === want;
      }, timeoutMs, 10),
    ),
  );
}

/** `a` and `b` both hold `content` and each reports the other aligned for `name`. */
async function pairAligned(a: RunningNode, b: RunningNode, name: string, content: string, timeoutMs = 8000): Promise<void> {
  const want = md5(content);
  for (const [x, y] of [[a, b], [b, a]] as const) {
    await waitFor(`${x.def.name}: ${name} aligned with ${y.def.name} on ${want}`, async () => {
      if (md5File(x.file(name)) !== want) return false;
      return (await x.state()).files.find((f) => f.name === name)!.peers[y.def.name]?.status === 'aligned';
    }, timeoutMs, 10);
  }
}

/** The peers `node` reports in split-brain for `name`. */
async function splitWith(node: RunningNode, name: string): Promise<string[]> {
  const f = (await node.state()).files.find((x) => x.name === name)!;
  return Object.entries(f.peers).filter(([, p]) => p.status === 'split-brain').map(([peer]) => peer).sort();
}

async function force(node: RunningNode, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${node.api}/api/1/force`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('a mesh of five nodes', () => {
  /** The versions written: only these are counted. */
  const versions = new Set<string>();
  let root: string;
  let nodes: RunningNode[] = [];
  before(async () => {
    const cluster = await defineCluster({ names: NAMES5, files: { 'app.conf': 'v0\n' } });
    root = cluster.root;
    nodes = await startCluster(cluster.nodes);
  });
  after(async () => stopAll(nodes, root));

  it('a change made on any node reaches all the others, every node aligned with every peer', async () => {
    for (const [i, origin] of nodes.entries()) {
      const content = `from ${origin.def.name} ${i}\n`;
      versions.add(md5(content));
      writeFileSync(origin.file('app.conf'), content);
      await allAligned(nodes, 'app.conf', content);
    }
  });

  it('each node wrote each version once: its other peers\' relays of it were already held', async () => {
    // Every node but the origin applied each of the five versions exactly once, whoever it came from.
    for (const n of nodes) {
      const applied = n.logs.filter((l) => l.msg === 'applied change from peer' && versions.has(String(l.md5)));
      const byMd5 = new Map<string, number>();
      for (const l of applied) byMd5.set(String(l.md5), (byMd5.get(String(l.md5)) ?? 0) + 1);
      for (const [m, count] of byMd5) assert.equal(count, 1, `${n.def.name} wrote ${m} ${count} times`);
      assert.equal(byMd5.size, nodes.length - 1, `${n.def.name} applied the others' four versions`);
    }
  });

  it('force without a peer is a 400 that names the peers', async () => {
    const r = await force(nodes[0]!, {});
    assert.equal(r.status, 400);
    const message = (r.json as { error: { message: string } }).error.message;
    for (const p of NAMES5.slice(1)) assert.match(message, new RegExp(p));
  });
});

describe('three nodes, reconcile auto: a node killed right after it reported aligned fast-forwards on restart', () => {
  let root: string;
  let defs: NodeDef[];
  let nodes: RunningNode[] = [];
  before(async () => {
    const cluster = await defineCluster({ names: ['alpha', 'beta', 'gamma'], files: { 'app.conf': 'v0\n' }, reconcile: 'auto', peerTimeoutMs: 1000 });
    root = cluster.root;
    defs = cluster.nodes;
    nodes = await startCluster(defs);
  });
  after(async () => stopAll(nodes, root));

  it('20 times in a row: a change aligned everywhere, the kill at once, a change elsewhere, the restart', { timeout: 180_000 }, async () => {
    for (let run = 0; run < 20; run++) {
      // The origin of the change, the node killed, and the node that changes while it is dead.
      const origin = run % 3;
      const victim = (run + 1) % 3;
      const other = (run + 2) % 3;
      const seen = `run ${run}: seen aligned\n`;
      writeFileSync(nodes[origin]!.file('app.conf'), seen);
      // Wait on the victim's own API only: the kill comes the moment it shows aligned.
      await waitFor(`run ${run}: ${defs[victim]!.name} shows aligned`, async () => {
        const f = (await nodes[victim]!.state()).files[0]!;
        return f.md5 === md5(seen) && f.status === 'aligned';
      }, 8000, 2);
      await nodes[victim]!.stop('SIGKILL');
      // The survivors hold it and agree with each other (the victim's last have may have died with it).
      await pairAligned(nodes[origin]!, nodes[other]!, 'app.conf', seen);
      const later = `run ${run}: changed while ${defs[victim]!.name} was dead\n`;
      writeFileSync(nodes[other]!.file('app.conf'), later);
      await waitFor(`run ${run}: ${defs[origin]!.name} took the change`, () => md5File(nodes[origin]!.file('app.conf')) === md5(later), 5000, 5);
      nodes[victim] = await startNode(defs[victim]!);
      await allAligned(nodes, 'app.conf', later, 10_000);
      const split = nodes[victim]!.logs.filter((l) => String(l.msg).startsWith('split-brain'));
      assert.deepEqual(split, [], `run ${run}: ${defs[victim]!.name} reported a split-brain instead of fast-forwarding`);
    }
  });
});

describe('three nodes, reconcile manual', () => {
  let root: string;
  let nodes: RunningNode[] = [];
  before(async () => {
    const cluster = await defineCluster({ names: ['alpha', 'beta', 'gamma'], files: { 'app.conf': 'v0\n', 'both.conf': 'b0\n' }, peerTimeoutMs: 1000 });
    root = cluster.root;
    nodes = await startCluster(cluster.nodes);
  });
  after(async () => stopAll(nodes, root));

  it('a node frozen past peerTimeoutMs while the others change: split-brain with the peers that hold the change, settled by one force', async () => {
    const [alpha, beta, gamma] = nodes as [RunningNode, RunningNode, RunningNode];
    gamma.proc.kill('SIGSTOP');
    try {
      // Both others must have lost it: beta passes alpha's change on to the peers it has in reach.
      for (const n of [alpha, beta]) await waitFor(`${n.def.name} loses gamma`, async () => !(await n.state()).peers.find((p) => p.name === 'gamma')!.connected, 5000);
      writeFileSync(alpha.file('app.conf'), 'v1 while gamma was frozen\n');
      // Taken, and passed on: beta decides whom it relays the change to with its ack, after the
      // write lands on disk; gamma must still be out of its reach then (a relay addressed to a
      // gamma already back would be a change made while in reach, fast-forwarding it).
      const v1 = md5('v1 while gamma was frozen\n');
      await waitFor('beta takes it and reports alpha aligned on it', async () => {
        if (md5File(beta.file('app.conf')) !== v1) return false;
        const f = (await beta.state()).files.find((x) => x.name === 'app.conf')!;
        return f.md5 === v1 && f.peers.alpha?.status === 'aligned';
      }, 5000, 5);
    } finally {
      gamma.proc.kill('SIGCONT');
    }
    await waitFor('gamma reports the split-brain with alpha and beta', async () => (await splitWith(gamma, 'app.conf')).join() === 'alpha,beta', 8000);
    // Each of the others finds it on its own, from its connect exchange with gamma or from gamma's
    // have, a moment before or after gamma does: gamma's report says nothing yet of theirs.
    for (const n of [alpha, beta]) await waitFor(`${n.def.name} reports the split-brain with gamma alone`, async () => (await splitWith(n, 'app.conf')).join() === 'gamma', 8000);
    assert.equal(md5File(gamma.file('app.conf')), md5('v0\n'), 'gamma\'s copy is not overwritten');
    const r = await force(gamma, { peer: 'alpha', files: ['app.conf'] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await allAligned(nodes, 'app.conf', 'v1 while gamma was frozen\n');
  });

  it('concurrent edits on two nodes while the third reaches both: no edit overwritten, every pair that differs reports it, one force settles the mesh', async () => {
    const [alpha, beta, gamma] = nodes as [RunningNode, RunningNode, RunningNode];
    // Both writers frozen while they are written to: each publishes its edit before it hears the other's.
    alpha.proc.kill('SIGSTOP');
    beta.proc.kill('SIGSTOP');
    writeFileSync(alpha.file('both.conf'), 'alpha\'s edit\n');
    writeFileSync(beta.file('both.conf'), 'beta\'s edit\n');
    alpha.proc.kill('SIGCONT');
    beta.proc.kill('SIGCONT');
    await waitFor('alpha and beta report their split-brain', async () => (await splitWith(alpha, 'both.conf')).includes('beta') && (await splitWith(beta, 'both.conf')).includes('alpha'), 8000);
    assert.equal(md5File(alpha.file('both.conf')), md5('alpha\'s edit\n'));
    assert.equal(md5File(beta.file('both.conf')), md5('beta\'s edit\n'));
    // gamma took whichever came first; the writer of the other reports the split-brain with it, both sides.
    const edits = [md5('alpha\'s edit\n'), md5('beta\'s edit\n')];
    const atGamma = await waitFor('gamma takes one of the two edits', () => {
      const m = md5File(gamma.file('both.conf'));
      return m !== null && edits.includes(m) ? m : null;
    }, 8000);
    const [winner, loser] = atGamma === md5('alpha\'s edit\n') ? [alpha, beta] : [beta, alpha];
    assert.equal(atGamma, md5(winner === alpha ? 'alpha\'s edit\n' : 'beta\'s edit\n'), 'gamma holds one of the two edits');
    await waitFor('gamma and the loser report their split-brain', async () => (await splitWith(gamma, 'both.conf')).includes(loser.def.name) && (await splitWith(loser, 'both.conf')).includes('gamma'), 8000);
    assert.deepEqual(await splitWith(winner, 'both.conf'), [loser.def.name], 'the winner and gamma agree');
    const r = await force(loser, { peer: winner.def.name, files: ['both.conf'] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await allAligned(nodes, 'both.conf', winner === alpha ? 'alpha\'s edit\n' : 'beta\'s edit\n');
  });
});
