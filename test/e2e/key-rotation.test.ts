import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curveKeyPair } from 'zeromq';
import {
  defineCluster,
  md5,
  md5File,
  patchConfig,
  startNode,
  stopAll,
  waitConnected,
  waitFor,
  type LogLine,
  type NodeDef,
  type RunningNode,
} from '../helpers/cluster.js';

/**
 * Key rotation with publicKey lists, on real `entangled start` processes over CURVE. Throughout,
 * alpha lists beta's keys as [betaNew, betaOld] while beta runs with betaOld, so alpha's client
 * sockets find beta's key by trying in turn; beta lists alpha's as [alphaOld, alphaNew].
 */

type Pair = { publicKey: string; secretKey: string };

/** A warn line that a link or a request was refused (a key, a handshake, an impostor). */
const isRefusalWarn = (l: LogLine) => l.level >= 40 && /refused|another node's name|impostor|every key listed/i.test(l.msg);

/** The one peer's publicKey in a node's config, as written. */
function listPeerKeys(def: NodeDef, keys: string[]): void {
  patchConfig(def, (cfg) => {
    (cfg.peers as { publicKey: unknown }[])[0]!.publicKey = keys;
  });
}

/** Gives a node (its secret in `<node>.key`) a new key pair for its next start. */
function givePair(def: NodeDef, pair: Pair): void {
  writeFileSync(path.join(def.dir, `${def.name}.key`), `${pair.secretKey}\n`, { mode: 0o600 });
  patchConfig(def, (cfg) => {
    (cfg.security as { curve: { publicKey: string } }).curve.publicKey = pair.publicKey;
  });
  def.keys = pair;
}

/** A change on `from` reaches `to`, and `from` then reports the file aligned. */
async function replicates(from: RunningNode, to: RunningNode, content: string): Promise<void> {
  writeFileSync(from.file('app.conf'), content);
  await waitFor(`${to.def.name} takes ${from.def.name}'s change`, () => md5File(to.file('app.conf')) === md5(content), 8000);
  await from.waitStatus('app.conf', 'aligned');
}

/** How long after `since` (a log line) `node` logged `msg` for `peer`, in ms. */
async function msAfter(node: RunningNode, since: LogLine, peer: string, msg: RegExp): Promise<number> {
  const line = await node.waitLog((l) => l.peer === peer && msg.test(l.msg) && Date.parse(String(l.time)) >= Date.parse(String(since.time)), `${msg.source} for ${peer}`, 10000);
  return Date.parse(String(line.time)) - Date.parse(String(since.time));
}

const switchLine = (peer: string, key: string) => (l: LogLine) => l.level === 30 && l.peer === peer && l.key === key.slice(0, 8) && /listed keys: trying the next/.test(l.msg);

describe('CURVE key rotation: a peer\'s publicKey as a list', () => {
  let root: string;
  let defs: NodeDef[];
  let alpha: RunningNode | undefined;
  let beta: RunningNode | undefined;
  /** Every process run so far, whose logs must stay free of refusals. */
  const runs: RunningNode[] = [];
  let alphaOld: Pair;
  let betaOld: Pair;
  const alphaNew = curveKeyPair();
  const betaNew = curveKeyPair();

  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': 'v0\n' }, curve: { keyFile: ['alpha', 'beta'] } });
    root = cluster.root;
    defs = cluster.nodes;
    alphaOld = defs[0]!.keys!;
    betaOld = defs[1]!.keys!;
    listPeerKeys(defs[0]!, [betaNew.publicKey, betaOld.publicKey]);
    listPeerKeys(defs[1]!, [alphaOld.publicKey, alphaNew.publicKey]);
  });

  after(async () => {
    await stopAll([alpha, beta].filter((n) => n !== undefined), root);
  });

  it('(1) while both run their old pairs: the link is up both ways and replicates both ways; alpha took beta\'s second listed key', async () => {
    alpha = await startNode(defs[0]!);
    beta = await startNode(defs[1]!);
    runs.push(alpha, beta);
    const started = await beta.waitLog((l) => l.msg === 'node started', 'node started');
    await waitConnected(alpha, 10000);
    await waitConnected(beta, 10000);
    await replicates(alpha, beta, 'from alpha, old keys\n');
    await replicates(beta, alpha, 'from beta, old keys\n');
    assert.equal(alpha.logs.filter(switchLine('beta', betaOld.publicKey)).length, 1, 'one info line for the one switch');
    assert.ok(!beta.logs.some((l) => /listed keys: trying the next/.test(l.msg)), 'beta switched from alphaOld, which works');
    console.log(`# alpha connected to beta ${await msAfter(alpha, started, 'beta', /^peer connected$/)} ms after beta started`);
    for (const n of runs) assert.deepEqual(n.logs.filter(isRefusalWarn), [], `${n.def.name} logged a refusal`);
  });

  it('(2) alpha restarted with its new pair: beta tries its next key, alpha again finds beta\'s second; both ways up within a few heartbeats, no refusal logged anywhere', async () => {
    assert.equal((await alpha!.stop()).code, 0);
    givePair(defs[0]!, alphaNew);
    alpha = await startNode(defs[0]!);
    runs.push(alpha);
    const started = await alpha.waitLog((l) => l.msg === 'node started', 'node started');
    await waitConnected(alpha, 10000);
    await waitConnected(beta!, 10000);
    const alphaUp = await msAfter(alpha, started, 'beta', /^peer connected$/);
    const betaUp = await msAfter(beta!, started, 'alpha', /^peer (back|restarted)$/);
    console.log(`# after alpha's restart with its new pair: alpha heard beta after ${alphaUp} ms, beta heard alpha after ${betaUp} ms`);
    // peerTimeoutMs 1000: a heartbeat every 200 ms. The key search costs a handshake or two, not timeouts.
    assert.ok(alphaUp <= 1500 && betaUp <= 1500, `alpha up after ${alphaUp} ms, beta after ${betaUp} ms`);
    await replicates(alpha, beta!, 'from alpha, new key\n');
    await replicates(beta!, alpha, 'from beta, to the new key\n');
    await beta!.waitLog(switchLine('alpha', alphaNew.publicKey), 'beta switched to alphaNew');
    assert.equal(beta!.logs.filter(switchLine('alpha', alphaNew.publicKey)).length, 1);
    assert.equal(alpha.logs.filter(switchLine('beta', betaOld.publicKey)).length, 1, 'alpha, started afresh, tried betaNew first again');
    // beta's first try (alphaOld) reached alpha: an anonymous failed handshake, at info, not a refusal.
    assert.ok(alpha.logs.some((l) => l.level === 30 && /the client expects another public key of this node/.test(l.msg)));
    for (const n of runs) assert.deepEqual(n.logs.filter(isRefusalWarn), [], `${n.def.name} logged a refusal`);
  });

  it('(3) a key in no list is still refused: beta restarted with a third pair is neither admitted nor reached; alpha\'s copy stays', async () => {
    assert.equal((await beta!.stop()).code, 0);
    const stranger = curveKeyPair();
    givePair(defs[1]!, stranger);
    const refused = await startNode(defs[1]!);
    beta = refused;
    // alpha's ZAP refuses beta's key; alpha's sockets fail with both keys it lists; beta hears that alpha refused it.
    await alpha!.waitLog((l) => l.level === 40 && l.peer === 'unknown' && l.key === stranger.publicKey.slice(0, 8) && /not a listed peer's/.test(l.msg), 'alpha refuses the unlisted key');
    await alpha!.waitLog((l) => l.level === 40 && l.peer === 'beta' && /every key listed for it/.test(l.msg), 'alpha: none of beta\'s listed keys works');
    await refused.waitLog((l) => l.level === 40 && l.peer === 'alpha' && /refused this node's CURVE key/.test(l.msg), 'beta: alpha refused our key');
    await waitFor('alpha loses beta', async () => !(await alpha!.state()).peers[0]!.connected, 5000);
    writeFileSync(alpha!.file('app.conf'), 'alpha, alone\n');
    await alpha!.waitHashed('app.conf', 'alpha, alone\n');
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const [sa, sb] = await Promise.all([alpha!.state(), refused.state()]);
      assert.equal(sa.peers[0]!.connected, false, 'alpha took the stranger for beta');
      assert.equal(sb.peers[0]!.connected, false, 'beta reached alpha with an unlisted key');
      assert.equal(md5File(refused.file('app.conf')), md5('from beta, to the new key\n'));
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});

/** Sends SIGHUP and waits for the reload's outcome; it must be a success. */
async function reload(node: RunningNode): Promise<LogLine> {
  const line = await node.hup();
  assert.equal(line.msg, 'configuration reloaded', JSON.stringify(line));
  return line;
}

describe('CURVE key rotation by the README\'s procedure: add the key and reload, restart with it, remove the old and reload', () => {
  let root: string;
  let defs: NodeDef[];
  const running: RunningNode[] = [];
  const runs: RunningNode[] = [];
  const alphaNew = curveKeyPair();
  let alphaOld: Pair;
  let alpha: RunningNode;
  let beta: RunningNode;

  before(async () => {
    const cluster = await defineCluster({ nodes: 3, files: { 'app.conf': 'v0\n' }, curve: { keyFile: ['alpha', 'beta', 'gamma'] } });
    root = cluster.root;
    defs = cluster.nodes;
    alphaOld = defs[0]!.keys!;
    const started = await Promise.all(defs.map((d) => startNode(d)));
    running.push(...started);
    runs.push(...started);
    for (const n of started) await waitConnected(n);
    [alpha, beta] = started as [RunningNode, RunningNode];
  });
  after(async () => stopAll(running, root));

  /** Sets the keys `def` lists for peer `peer`. */
  const listFor = (def: NodeDef, peer: string, keys: string[]) =>
    patchConfig(def, (cfg) => {
      (cfg.peers as { name: string; publicKey: unknown }[]).find((p) => p.name === peer)!.publicKey = keys;
    });

  /** Every node replicates to every other, and none logged a refusal so far. */
  async function allWell(tag: string): Promise<void> {
    for (const from of running) {
      const content = `${tag} from ${from.def.name}\n`;
      writeFileSync(from.file('app.conf'), content);
      for (const to of running) await waitFor(`${to.def.name} holds ${from.def.name}'s ${tag}`, () => md5File(to.file('app.conf')) === md5(content), 8000);
      for (const n of running) await n.waitStatus('app.conf', 'aligned');
    }
    const refusals = runs.flatMap((r) => r.logs.filter(isRefusalWarn).map((l) => `${r.def.name}: ${l.msg}`));
    assert.deepEqual(refusals, [], 'a link or request was refused');
  }

  it('step 1: every peer lists alpha\'s new key beside the old one, and reloads', async () => {
    for (const n of running.slice(1)) {
      listFor(n.def, 'alpha', [defs[0]!.keys!.publicKey, alphaNew.publicKey]);
      const line = await reload(n);
      assert.deepEqual(line.peersChanged, ['alpha']);
    }
    await allWell('step 1');
  });

  it('step 2: alpha restarts with its new pair; its peers find the new key in their lists', async () => {
    await alpha.stop();
    running.splice(running.indexOf(alpha), 1);
    givePair(defs[0]!, alphaNew);
    alpha = await startNode(defs[0]!);
    running.unshift(alpha);
    runs.push(alpha);
    for (const n of running) await waitConnected(n);
    await allWell('step 2');
  });

  it('step 3: the old key is removed from every list and reloaded: still no refusal, and the old key is refused', async () => {
    for (const n of running.slice(1)) {
      listFor(n.def, 'alpha', [alphaNew.publicKey]);
      await reload(n);
    }
    await allWell('step 3');
    for (const n of running) await waitConnected(n);
    // The old pair is no longer admitted anywhere: alpha started with it is refused by beta.
    await alpha.stop();
    running.splice(running.indexOf(alpha), 1);
    givePair(defs[0]!, alphaOld);
    const stale = await startNode(defs[0]!);
    running.unshift(stale);
    await beta.waitLog((l) => l.level === 40 && /refused a connection: its CURVE key is not a listed peer's/.test(l.msg), 'refuses alpha\'s old key', 10000);
  });
});
