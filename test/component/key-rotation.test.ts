import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { curveKeyPair } from 'zeromq';
import type { PeerSpec } from '../../src/config/settings.js';
import type { Reply } from '../../src/core/frame.js';
import { EntangledError } from '../../src/core/errors.js';
import { LinkSecurity } from '../../src/net/curve.js';
import { requestKey, sealRequest } from '../../src/net/curve-keys.js';
import { FramePublisher } from '../../src/net/publisher.js';
import { RequestReplier } from '../../src/net/replier.js';
import { createPeerSockets, type PeerSockets } from '../../src/node/peer-link.js';
import { freePorts, waitFor, type LogLine } from '../helpers/cluster.js';

/** Key rotation on real CURVE sockets on loopback: a node "beta" serving, a node "alpha" reaching it. */

type Pair = { publicKey: string; secretKey: string };

function capture(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

const spec = (name: string, ports: { pub: number; rep: number }, publicKeys: readonly string[]): PeerSpec => ({
  name,
  pub: `tcp://127.0.0.1:${ports.pub}`,
  rep: `tcp://127.0.0.1:${ports.rep}`,
  publicKeys,
});

const digestsReply: Reply = { v: 1, t: 'digests', from: 'beta', epoch: 'e', files: {}, pending: [] };

/**
 * Node beta's side on `ports`, running with `keys` and listing alpha as `alphaKeys`: a REP that
 * answers digests requests (checking their signatures) and a PUB sending a heartbeat every 50 ms.
 */
async function serveBeta(t: TestContext, ports: { pub: number; rep: number }, keys: Pair, alphaKeys: readonly string[]) {
  const { log, lines } = capture();
  const security = new LinkSecurity(keys, [spec('alpha', { pub: 1, rep: 2 }, alphaKeys)], log);
  await security.start();
  const replier = new RequestReplier(security.server);
  const rejected: string[] = [];
  const publisher = new FramePublisher(security.server);
  // A port just closed by a previous beta may be busy a moment.
  await waitFor('beta binds its REP', () => replier.bind(`tcp://127.0.0.1:${ports.rep}`).then(() => true, () => false), 5000, 50);
  await waitFor('beta binds its PUB', () => publisher.bind(`tcp://127.0.0.1:${ports.pub}`).then(() => true, () => false), 5000, 50);
  replier.start(new Set(['alpha']), () => Promise.resolve(digestsReply), (reason) => rejected.push(reason));
  const timer = setInterval(() => publisher.publish({ v: 1, t: 'hb', from: 'beta', epoch: 'e', sum: 's' }), 50);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    publisher.close();
    await replier.close();
    await security.close();
  };
  t.after(close);
  return { security, lines, rejected, close };
}

/** Node alpha's sockets to beta, listing beta's keys as `betaKeys`; the SUB counts what it hears. */
async function reachBeta(t: TestContext, ports: { pub: number; rep: number }, keys: Pair, betaKeys: readonly string[]) {
  const { log, lines } = capture();
  const security = new LinkSecurity(keys, [spec('beta', ports, betaKeys)], log);
  const sockets: PeerSockets = createPeerSockets(spec('beta', ports, betaKeys), log.child({ peer: 'beta' }), 2000, security);
  const heard = { count: 0 };
  sockets.subscriber.start(() => heard.count++);
  t.after(async () => {
    sockets.requester.close();
    await sockets.subscriber.close();
    await security.close();
  });
  const ask = () => sockets.requester.request({ v: 1, t: 'digests', from: 'alpha', epoch: 'a' });
  return { sockets, lines, heard, ask };
}

const switches = (lines: LogLine[]) => lines.filter((l) => l.level === 30 && l.peer === 'beta' && /listed keys: trying the next/.test(l.msg));

describe('a peer with several listed keys, on real CURVE sockets', () => {
  test('SUB and REQ try the listed keys in turn: beta presents the second, the first request gets its reply and frames arrive', async (t) => {
    const [pub, rep] = await freePorts(2);
    const ports = { pub: pub!, rep: rep! };
    const alpha = curveKeyPair();
    const betaOld = curveKeyPair();
    const betaNew = curveKeyPair();
    const beta = await serveBeta(t, ports, betaNew, [alpha.publicKey]);
    const a = await reachBeta(t, ports, alpha, [betaOld.publicKey, betaNew.publicKey]);
    const started = performance.now();
    // One request, in the link's own timeout: it waited on betaOld's socket and went again on betaNew's.
    const reply = await a.ask();
    assert.equal(reply.t, 'digests');
    await waitFor('alpha hears beta\'s heartbeats', () => a.heard.count > 0, 3000);
    const took = performance.now() - started;
    assert.ok(took < 1500, `came up after ${Math.round(took)} ms`);
    assert.deepEqual(beta.rejected, [], 'the request was signed with the key it was sent over');
    const lines = switches(a.lines);
    assert.equal(lines.length, 1, JSON.stringify(a.lines));
    assert.equal(lines[0]!.key, betaNew.publicKey.slice(0, 8));
    assert.ok(!a.lines.some((l) => l.level >= 40), 'alpha warned');
    // The key that worked is remembered: later requests and the SUB stay on it.
    for (let i = 0; i < 3; i++) assert.equal((await a.ask()).t, 'digests');
    assert.equal(switches(a.lines).length, 1);
  });

  test('with none of the listed keys beta\'s, requests fail and alpha warns (once) that every listed key failed', async (t) => {
    const [pub, rep] = await freePorts(2);
    const ports = { pub: pub!, rep: rep! };
    const alpha = curveKeyPair();
    await serveBeta(t, ports, curveKeyPair(), [alpha.publicKey]);
    const a = await reachBeta(t, ports, alpha, [curveKeyPair().publicKey, curveKeyPair().publicKey]);
    await assert.rejects(a.ask(), (err: unknown) => err instanceof EntangledError && err.code === 'PEER_UNREACHABLE');
    await waitFor('alpha warns that every key failed', () => a.lines.some((l) => l.level === 40 && l.peer === 'beta' && /every key listed for it/.test(l.msg)), 3000);
    assert.equal(a.heard.count, 0);
    // Rounds go on, paced: the switch lines stay few (the later rounds log at debug).
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(switches(a.lines).length <= 1, `${switches(a.lines).length} info lines`);
    assert.equal(a.lines.filter((l) => l.level === 40).length, 1);
  });

  test('LinkSecurity.setPeers replaces the admitted keys (ZAP) and the keys requests are checked against', async (t) => {
    const [pub, rep] = await freePorts(2);
    const ports = { pub: pub!, rep: rep! };
    const alphaOld = curveKeyPair();
    const alphaNew = curveKeyPair();
    const gamma = curveKeyPair();
    const betaKeys = curveKeyPair();
    const beta = await serveBeta(t, ports, betaKeys, [alphaOld.publicKey]);
    const alphaSpec = (keys: string[]): PeerSpec[] => [spec('alpha', { pub: 1, rep: 2 }, keys), spec('gamma', { pub: 3, rep: 4 }, [gamma.publicKey])];
    const macBy = (pair: Pair, payload: Buffer) => sealRequest(requestKey(pair.secretKey, betaKeys.publicKey), payload, { epoch: 'a', counter: 1 });
    const payload = Buffer.from('a request');

    // alpha restarted with its new pair before beta listed it: refused.
    const early = await reachBeta(t, ports, alphaNew, [betaKeys.publicKey]);
    await assert.rejects(early.ask(), (err: unknown) => err instanceof EntangledError && err.code === 'PEER_UNREACHABLE');
    assert.ok(beta.lines.some((l) => l.level === 40 && /not a listed peer's/.test(l.msg) && l.key === alphaNew.publicKey.slice(0, 8)));
    assert.equal(beta.security.server.signedBy('alpha', payload, macBy(alphaNew, payload)), false);
    // beta opened alpha's HELLO, so alpha's key for beta is right: alpha says its own key was refused.
    await waitFor('alpha hears that beta refused its key', () => early.lines.some((l) => l.level === 40 && /refused this node's CURVE key/.test(l.msg)), 3000);
    assert.ok(!early.lines.some((l) => /every key listed/.test(l.msg)), 'alpha blamed the key it lists for beta');

    beta.security.setPeers(alphaSpec([alphaOld.publicKey, alphaNew.publicKey]));
    for (const pair of [alphaOld, alphaNew]) assert.equal(beta.security.server.signedBy('alpha', payload, macBy(pair, payload)), true);
    assert.equal(beta.security.server.signedBy('alpha', payload, macBy(gamma, payload)), false, 'gamma signed in alpha\'s name');
    assert.equal(beta.security.server.signedBy('gamma', payload, macBy(alphaNew, payload)), false, 'alpha signed in gamma\'s name');
    assert.equal(beta.security.server.signedBy('gamma', payload, macBy(gamma, payload)), true);
    // The next handshake of alpha's sockets (its REQ retries each request) is admitted.
    await waitFor('beta admits alpha\'s new key', () => early.ask().then((r) => r.t === 'digests', () => false), 8000, 100);
    await waitFor('alpha\'s SUB is admitted too', () => early.heard.count > 0, 5000);

    beta.security.setPeers(alphaSpec([alphaNew.publicKey]));
    assert.equal(beta.security.server.signedBy('alpha', payload, macBy(alphaOld, payload)), false, 'a removed key still signs');
    const late = await reachBeta(t, ports, alphaOld, [betaKeys.publicKey]);
    await assert.rejects(late.ask(), (err: unknown) => err instanceof EntangledError && err.code === 'PEER_UNREACHABLE');
    assert.ok(beta.lines.some((l) => l.level === 40 && /not a listed peer's/.test(l.msg) && l.key === alphaOld.publicKey.slice(0, 8)));
    assert.equal((await early.ask()).t, 'digests', 'the key still listed still works');
  });

  test('updateKeys: a new list that keeps the key in use changes nothing; one without it reconnects at once with its first key', async (t) => {
    const [pub, rep] = await freePorts(2);
    const ports = { pub: pub!, rep: rep! };
    const alpha = curveKeyPair();
    const b1 = curveKeyPair();
    const b2 = curveKeyPair();
    const b3 = curveKeyPair();
    const first = await serveBeta(t, ports, b1, [alpha.publicKey]);
    const a = await reachBeta(t, ports, alpha, [b1.publicKey]);
    assert.equal((await a.ask()).t, 'digests');
    await waitFor('alpha hears beta', () => a.heard.count > 0, 3000);
    assert.equal(a.sockets.updateKeys([b2.publicKey, b1.publicKey]), false);
    const heard = a.heard.count;
    await waitFor('alpha goes on hearing beta', () => a.heard.count > heard + 3, 3000);
    assert.equal((await a.ask()).t, 'digests');
    assert.equal(switches(a.lines).length, 0);

    // beta comes back with a pair alpha does not list: nothing gets through...
    await first.close();
    await serveBeta(t, ports, b3, [alpha.publicKey]);
    await assert.rejects(a.ask(), (err: unknown) => err instanceof EntangledError && err.code === 'PEER_UNREACHABLE');
    const before = a.heard.count;
    // ...until alpha takes beta's new key: its sockets reconnect with it without waiting for a failure.
    assert.equal(a.sockets.updateKeys([b3.publicKey]), true);
    assert.equal((await a.ask()).t, 'digests');
    await waitFor('alpha hears the new beta', () => a.heard.count > before, 3000);
  });
});
