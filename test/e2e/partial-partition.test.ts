import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { md5, md5File, startNode, tempDir, waitConnected, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';
import { buildNetns, linkEnd, removeStaleNamespaces, routes, setLinkEnd, tearDown, whyNoNetns, type Netns } from '../helpers/netns.js';

/**
 * A real partial partition (CONTRACT.md, "More than two nodes"): three network namespaces a, b,
 * c with one node each (alpha, beta, gamma, a full mesh), joined pairwise by three veth pairs,
 * each on its own /30 (test/helpers/netns.ts). Setting the a–b veth down at both ends cuts
 * exactly alpha–beta: both still reach gamma, which passes each one's change on to the other.
 * Each node binds its PUB and REP on 0.0.0.0 and lists each peer by that peer's address on the
 * link they share; the API goes over a veth per namespace to the root namespace, which routes
 * nothing between them.
 */

type Side = 'a' | 'b' | 'c';
const SIDES: readonly { side: Side; name: string }[] = [
  { side: 'a', name: 'alpha' },
  { side: 'b', name: 'beta' },
  { side: 'c', name: 'gamma' },
];
const PAIRS = [['a', 'b'], ['a', 'c'], ['b', 'c']] as const;
// In each namespace's own network stack: no other test's ports to meet.
const PORTS = { api: 7300, pub: 7301, rep: 7302 };
const FILE = 'app.conf';
/** A change relayed through gamma lands in milliseconds; a couple of seconds is the bound. */
const ARRIVAL_MS = 2000;

const skip = whyNoNetns();
if (skip) console.log(`partial partition tests skipped: ${skip}`);
const opts = { timeout: 90_000, skip: skip ?? false };

describe('a partial partition: three network namespaces, the alpha–beta link down, both reach gamma', () => {
  let net: Netns<Side> | undefined;
  let root: string | undefined;
  const running: RunningNode[] = [];
  let alpha: RunningNode;
  let beta: RunningNode;
  let gamma: RunningNode;
  let cut = false;

  before(async () => {
    if (skip) return;
    removeStaleNamespaces();
    net = buildNetns(['a', 'b', 'c'], PAIRS);
    const n = net;
    // Nothing routes between the namespaces but their shared link: no way round a cut one.
    for (const { side: x } of SIDES) {
      for (const { side: y } of SIDES) {
        if (x === y) continue;
        assert.ok(!routes(n, x, n.api[y]), `${x} has a route to ${y}'s API address`);
        const z = SIDES.find((s) => s.side !== x && s.side !== y)!.side;
        assert.ok(!routes(n, x, linkEnd(n, y, z).addr), `${x} has a route to ${y}'s address on the ${y}–${z} link`);
      }
    }
    root = tempDir('entangled-partial-partition-');
    const defs = SIDES.map(({ side, name }): NodeDef => {
      const dir = path.join(root!, name);
      mkdirSync(path.join(dir, 'state'), { recursive: true });
      const def: NodeDef = { name, dir, ports: PORTS, configPath: path.join(dir, 'entangled.yaml'), apiHost: n.api[side] };
      writeFileSync(def.configPath, stringify({
        node: name,
        api: { host: n.api[side], port: PORTS.api },
        m2m: { pub: `tcp://0.0.0.0:${PORTS.pub}`, rep: `tcp://0.0.0.0:${PORTS.rep}` },
        peers: SIDES.filter((p) => p.side !== side).map((p) => {
          const at = linkEnd(n, p.side, side).addr;
          return { name: p.name, pub: `tcp://${at}:${PORTS.pub}`, rep: `tcp://${at}:${PORTS.rep}` };
        }),
        files: [FILE],
        stateDir: 'state',
        reconcile: 'manual',
        peerTimeoutMs: 1000,
      }));
      writeFileSync(path.join(dir, FILE), 'v0\n');
      return def;
    });
    // One at a time, each kept for after() as soon as it runs.
    for (const [i, def] of defs.entries()) running.push(await startNode(def, { netns: n.ns[SIDES[i]!.side] }));
    [alpha, beta, gamma] = running as [RunningNode, RunningNode, RunningNode];
    for (const r of running) await waitConnected(r, 15_000);
    await allAligned('v0\n');
  });

  after(() => tearDown(running, net, root));

  const connected = async (r: RunningNode, peer: string) => (await r.state()).peers.find((p) => p.name === peer)!.connected;
  const fileOf = async (r: RunningNode) => (await r.state()).files.find((f) => f.name === FILE)!;
  const appliedOf = (r: RunningNode, content: string) => r.logs.filter((l) => l.msg === 'applied change from peer' && l.md5 === md5(content));
  const splitBrains = (r: RunningNode) => r.logs.filter((l) => l.msg.startsWith('split-brain'));

  /** Every node holds `content` on disk and reports the file aligned with every peer. */
  async function allAligned(content: string, timeoutMs = 15_000): Promise<void> {
    const want = md5(content);
    for (const r of running) {
      await waitFor(`${r.def.name}: ${FILE} on ${want} on disk, aligned with every peer`, async () => {
        if (md5File(r.file(FILE)) !== want) return false;
        const f = await fileOf(r);
        return f.md5 === want && f.status === 'aligned' && Object.values(f.peers).every((p) => p.status === 'aligned');
      }, timeoutMs, 20);
    }
  }

  /** Sets the alpha–beta link down at both ends; waits until each of the two has lost the other, both still with gamma. */
  async function cutAlphaBeta(): Promise<void> {
    const n = net!;
    setLinkEnd(n, 'a', 'b', 'down');
    setLinkEnd(n, 'b', 'a', 'down');
    cut = true;
    assert.ok(!routes(n, 'a', linkEnd(n, 'b', 'a').addr), 'alpha still has a route to beta');
    assert.ok(!routes(n, 'b', linkEnd(n, 'a', 'b').addr), 'beta still has a route to alpha');
    await waitFor('alpha reports beta disconnected', async () => !(await connected(alpha, 'beta')), 10_000, 20);
    await waitFor('beta reports alpha disconnected', async () => !(await connected(beta, 'alpha')), 10_000, 20);
    for (const [r, peers] of [[alpha, ['gamma']], [beta, ['gamma']], [gamma, ['alpha', 'beta']]] as const) {
      for (const p of peers) assert.ok(await connected(r, p), `${r.def.name} still sees ${p} connected`);
    }
  }

  async function healAlphaBeta(): Promise<void> {
    const n = net!;
    setLinkEnd(n, 'a', 'b', 'up');
    setLinkEnd(n, 'b', 'a', 'up');
    cut = false;
    await waitFor('alpha sees beta again', () => connected(alpha, 'beta'), 30_000, 20);
    await waitFor('beta sees alpha again', () => connected(beta, 'alpha'), 30_000, 20);
  }

  /** Writes `content` on `from` and measures, by polling the file, how long until it is on `to`'s disk. */
  async function writeAndTime(from: RunningNode, to: RunningNode, content: string): Promise<number> {
    const want = md5(content);
    const t0 = performance.now();
    writeFileSync(from.file(FILE), content);
    for (;;) {
      const ms = performance.now() - t0;
      if (md5File(to.file(FILE)) === want) return ms;
      if (ms > ARRIVAL_MS) {
        const link = (await connected(from, to.def.name)) ? 'up again' : 'still down';
        assert.fail(`${from.def.name}'s change did not reach ${to.def.name} through gamma within ${ARRIVAL_MS} ms `
          + `while the ${from.def.name}–${to.def.name} link was down (${to.def.name}'s ${FILE} still ${md5File(to.file(FILE))}, `
          + `gamma's ${md5File(gamma.file(FILE))}, the link ${link})`);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** While the link is down: `to` took `content` from gamma, reports it aligned with gamma and `from` unknown; `from` likewise. */
  async function relayedThroughGamma(t: TestContext, from: RunningNode, to: RunningNode, content: string): Promise<void> {
    const want = md5(content);
    const line = await to.waitLog((l) => l.msg === 'applied change from peer' && l.md5 === want, 'the applied change');
    assert.equal(line.peer, 'gamma', `${to.def.name} took the change from gamma`);
    const atGamma = await gamma.waitLog((l) => l.msg === 'applied change from peer' && l.md5 === want, 'the applied change');
    assert.equal(atGamma.peer, from.def.name);
    t.diagnostic(`logged latencyMs (each hop, its send to the applied log line): ${from.def.name} → gamma ${String(atGamma.latencyMs)}, gamma → ${to.def.name} ${String(line.latencyMs)}`);
    for (const [r, other] of [[to, from], [from, to]] as const) {
      const f = await waitFor(`${r.def.name}: ${FILE} on ${want}, aligned with gamma`, async () => {
        const f = await fileOf(r);
        return f.md5 === want && f.peers.gamma?.status === 'aligned' ? f : null;
      }, 5000, 20);
      assert.equal(f.peers[other.def.name]!.status, 'unknown', `${r.def.name}: with ${other.def.name}, out of reach, the file is unknown`);
    }
    const g = await waitFor(`gamma: ${FILE} aligned with both`, async () => {
      const f = await fileOf(gamma);
      return f.md5 === want && f.status === 'aligned' ? f : null;
    }, 5000, 20);
    assert.deepEqual(Object.keys(g.peers).sort(), ['alpha', 'beta']);
    // It came while the link was down, not after a heal.
    assert.equal(await connected(from, to.def.name), false, `the ${from.def.name}–${to.def.name} link is still down`);
  }

  /** After the heal: each version moved once per node (the origin none), no split-brain, the origin's copy kept. */
  function movedOnce(origin: RunningNode, relayed: RunningNode, content: string): void {
    assert.deepEqual(appliedOf(origin, content).map((l) => l.peer), [], `${origin.def.name} wrote its own version back`);
    assert.deepEqual(appliedOf(gamma, content).map((l) => l.peer), [origin.def.name], 'gamma applied it once, from the origin');
    assert.deepEqual(appliedOf(relayed, content).map((l) => l.peer), ['gamma'], `${relayed.def.name} applied it once, through gamma`);
    for (const r of running) assert.deepEqual(splitBrains(r).map((l) => l.msg), [], `${r.def.name} logged a split-brain`);
    assert.equal(readFileSync(origin.file(FILE), 'utf8'), content, `${origin.def.name}'s file still holds its version`);
  }

  const V1 = 'v1 from alpha while alpha-beta is down\n';
  const V2 = 'v2 from beta while alpha-beta is down\n';

  it('case 1: with the alpha–beta link down, a change on alpha reaches beta through gamma in milliseconds', opts, async (t) => {
    await cutAlphaBeta();
    const ms = await writeAndTime(alpha, beta, V1);
    t.diagnostic(`alpha → gamma → beta: on beta's disk ${ms.toFixed(1)} ms after the write on alpha`);
    await relayedThroughGamma(t, alpha, beta, V1);
  });

  it('case 2: the link healed, all three are aligned with every peer and nothing moved twice', opts, async (t) => {
    const t0 = performance.now();
    await healAlphaBeta();
    t.diagnostic(`alpha and beta reconnected ${(performance.now() - t0).toFixed(0)} ms after the link came up`);
    await allAligned(V1);
    movedOnce(alpha, beta, V1);
  });

  it('case 3: with the link down again, a change on beta reaches alpha through gamma the other way', opts, async (t) => {
    // From where case 2 left it, whatever happened there: link up, one version everywhere.
    if (cut) await healAlphaBeta();
    await waitFor('one version everywhere', async () => {
      const fs = await Promise.all(running.map(fileOf));
      return fs.every((f) => f.status === 'aligned' && f.md5 === fs[0]!.md5);
    }, 15_000, 20);
    await cutAlphaBeta();
    const ms = await writeAndTime(beta, alpha, V2);
    t.diagnostic(`beta → gamma → alpha: on alpha's disk ${ms.toFixed(1)} ms after the write on beta`);
    await relayedThroughGamma(t, beta, alpha, V2);
    await healAlphaBeta();
    await allAligned(V2);
    movedOnce(beta, alpha, V2);
  });
});
