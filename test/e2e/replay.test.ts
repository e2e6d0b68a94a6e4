import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { unpack } from 'msgpackr';
import { Dealer, Request, Router } from 'zeromq';
import {
  defineCluster,
  freePorts,
  md5,
  md5File,
  patchConfig,
  startNode,
  stopAll,
  waitFor,
  type NodeDef,
  type RunningNode,
} from '../helpers/cluster.js';

/**
 * The plaintext CURVE keeps off the wire, obtained anyway: a relay that holds alpha's keys sits
 * where beta expects alpha's REP, keeps every request beta sends (its bytes and seal, as they
 * were sent) and forwards it, over a connection with beta's key, to alpha's REP moved elsewhere.
 */
class Relay {
  /** Every request beta sent, oldest first: its message parts after the envelope. */
  readonly requests: Buffer[][] = [];
  readonly #router: Router;
  readonly #dealer: Dealer;
  readonly #waiting: Buffer[] = [];

  constructor(alpha: NodeDef, beta: NodeDef, at: string, to: string) {
    const a = alpha.keys!;
    this.#router = new Router({ linger: 0, curveServer: true, curvePublicKey: a.publicKey, curveSecretKey: a.secretKey });
    this.#dealer = new Dealer({ linger: 0, curveServerKey: a.publicKey, curvePublicKey: beta.keys!.publicKey, curveSecretKey: beta.keys!.secretKey });
    this.#dealer.connect(to);
    void this.#router.bind(at).then(() => this.#forward());
  }

  async #forward(): Promise<void> {
    void (async () => {
      for await (const [, reply] of this.#dealer) {
        const id = this.#waiting.shift();
        if (id) await this.#router.send([id, Buffer.alloc(0), reply!]);
      }
    })().catch(() => undefined);
    try {
      for await (const [id, , ...body] of this.#router) {
        this.requests.push(body);
        this.#waiting.push(id!);
        await this.#dealer.send([Buffer.alloc(0), ...body]);
      }
    } catch {
      // closed
    }
  }

  /** The last request of kind `t` beta sent, as it went over the wire. */
  last(t: string): Buffer[] {
    const found = this.requests.filter((parts) => (unpack(parts[0]!) as { t: string }).t === t).at(-1);
    assert.ok(found, `beta sent no ${t} request`);
    return found;
  }

  close(): void {
    this.#router.close();
    this.#dealer.close();
  }
}

/** Sends message parts as they are to `endpoint` over CURVE with `keys`; the decoded reply. */
async function replay(endpoint: string, serverKey: string, keys: { publicKey: string; secretKey: string }, parts: Buffer[]): Promise<{ t: string; message?: string; counter?: number; result?: string }> {
  const sock = new Request({ linger: 0, sendTimeout: 5000, receiveTimeout: 5000, curveServerKey: serverKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey });
  sock.connect(endpoint);
  try {
    await sock.send(parts);
    const [reply] = await sock.receive();
    return unpack(reply!) as { t: string; message?: string };
  } finally {
    sock.close();
  }
}

async function push(from: RunningNode, peer: string): Promise<{ result: string }> {
  const res = await fetch(`${from.api}/api/1/force`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ files: ['app.conf'], peer, direction: 'push' }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { results: { result: string }[] }).results[0]!;
}

/** Until `n` sees `peer` connected and app.conf aligned with it. */
async function waitAligned(n: RunningNode, peer: string): Promise<void> {
  await waitFor(`${n.def.name} aligned with ${peer}`, async () => {
    const s = await n.state();
    return s.peers.find((p) => p.name === peer)?.connected === true && s.files[0]!.peers[peer]?.status === 'aligned';
  }, 10000, 20);
}

describe('CURVE: a signed request replayed from its plaintext is refused', () => {
  let root: string;
  let defs: NodeDef[];
  let alpha: RunningNode;
  let beta: RunningNode;
  let relay: Relay;
  let alphaRep: string;
  /** gamma: an admitted peer (its key is listed on alpha) that got hold of beta's request. */
  let asGamma: (parts: Buffer[]) => ReturnType<typeof replay>;

  before(async () => {
    const cluster = await defineCluster({ names: ['alpha', 'beta', 'gamma'], files: { 'app.conf': 'v0\n' }, curve: {} });
    root = cluster.root;
    defs = cluster.nodes;
    const [alphaDef, betaDef, gammaDef] = defs as [NodeDef, NodeDef, NodeDef];
    // alpha's REP moves; beta still reaches it where its config says, through the relay.
    const [moved] = await freePorts(1);
    alphaRep = `tcp://127.0.0.1:${moved}`;
    patchConfig(alphaDef, (cfg) => ((cfg.m2m as Record<string, string>).rep = alphaRep));
    relay = new Relay(alphaDef, betaDef, `tcp://127.0.0.1:${alphaDef.ports.rep}`, alphaRep);
    asGamma = (parts) => replay(alphaRep, alphaDef.keys!.publicKey, gammaDef.keys!, parts);
    alpha = await startNode(alphaDef);
    beta = await startNode(betaDef);
    await waitAligned(beta, 'alpha');
    await waitAligned(alpha, 'beta');
  });

  after(async () => {
    relay?.close();
    await stopAll([alpha, beta].filter(Boolean), root);
  });

  const refused = (alphaLogs: RunningNode, since: number, reason: RegExp) =>
    alphaLogs.waitLog((l) => alphaLogs.logs.indexOf(l) >= since && l.level === 40 && l.peer === 'beta' && /refused a replayed request/.test(l.msg) && reason.test(String(l.reason)), `a replay refused (${reason})`, 3000);

  it('beta\'s forced push of an old version, replayed by gamma after beta moved on, is refused; alpha keeps the new version and beta\'s next push works', async () => {
    writeFileSync(beta.file('app.conf'), 'old\n');
    await waitFor('alpha takes old', () => md5File(alpha.file('app.conf')) === md5('old\n'));
    assert.equal((await push(beta, 'alpha')).result, 'unchanged');
    const take = relay.last('take');
    assert.equal(take.length, 2, 'a signed request is its bytes and its seal');
    writeFileSync(beta.file('app.conf'), 'new\n');
    await waitFor('alpha takes new', () => md5File(alpha.file('app.conf')) === md5('new\n'));
    await waitAligned(alpha, 'beta');

    const since = alpha.logs.length;
    const r = await asGamma(take);
    assert.equal(r.t, 'error', JSON.stringify(r));
    assert.match(r.message!, /replayed request \(replayed\)/);
    assert.equal(typeof r.counter, 'number');
    await refused(alpha, since, /replayed/);
    assert.equal(readFileSync(alpha.file('app.conf'), 'utf8'), 'new\n', 'the replay wrote the old version back');
    // Through beta's own connection (the relay) too: the stamp, not the link, is what counts.
    const again = await replay(alphaRep, alpha.def.keys!.publicKey, beta.def.keys!, take);
    assert.equal(again.t, 'error', JSON.stringify(again));
    assert.equal(readFileSync(alpha.file('app.conf'), 'utf8'), 'new\n');

    // beta's next request is a new one: taken.
    assert.equal((await push(beta, 'alpha')).result, 'unchanged');
    await waitAligned(alpha, 'beta');
    assert.ok(!beta.logs.some((l) => l.level >= 40 && /refused/.test(l.msg)), 'beta was refused');
  });

  it('after beta restarts (a new epoch) its requests are taken, and one of its earlier run is refused as such', async () => {
    const take = relay.last('take');
    await beta.stop();
    beta = await startNode(defs[1]!);
    await waitAligned(beta, 'alpha');
    assert.equal((await push(beta, 'alpha')).result, 'unchanged');
    const since = alpha.logs.length;
    const r = await asGamma(take);
    assert.equal(r.t, 'error', JSON.stringify(r));
    assert.match(r.message!, /earlier run/);
    await refused(alpha, since, /earlier run/);
    assert.equal(readFileSync(alpha.file('app.conf'), 'utf8'), 'new\n');
  });

  it('after alpha restarts (it forgot what it took) beta\'s next request is taken, and one beta sent before it is refused', async () => {
    writeFileSync(beta.file('app.conf'), 'older\n');
    await waitFor('alpha takes older', () => md5File(alpha.file('app.conf')) === md5('older\n'));
    assert.equal((await push(beta, 'alpha')).result, 'unchanged');
    const take = relay.last('take');
    writeFileSync(beta.file('app.conf'), 'newer\n');
    await waitFor('alpha takes newer', () => md5File(alpha.file('app.conf')) === md5('newer\n'));
    await waitAligned(alpha, 'beta');

    await alpha.stop();
    const seen = relay.requests.length;
    alpha = await startNode(defs[0]!);
    await waitAligned(beta, 'alpha');
    await waitAligned(alpha, 'beta');
    assert.ok(relay.requests.length > seen, 'beta sent nothing to the new alpha');
    const since = alpha.logs.length;
    const r = await asGamma(take);
    assert.equal(r.t, 'error', JSON.stringify(r));
    assert.match(r.message!, /too old/);
    await refused(alpha, since, /too old/);
    assert.equal(readFileSync(alpha.file('app.conf'), 'utf8'), 'newer\n');
    assert.equal((await push(beta, 'alpha')).result, 'unchanged');
  });
});
