import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pack } from 'msgpackr';
import { Publisher, Request, Router } from 'zeromq';
import { encode } from '../../src/net/codec.js';
import { decodeReply } from '../../src/net/codec.js';
import { defineCluster, md5, md5File, startNode, stopAll, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

/** A scripted stand-in for node "beta": real ZeroMQ sockets on beta's endpoints. */
describe('a fake peer sending malformed frames and requests', () => {
  let root: string;
  let alpha: RunningNode;
  let betaDef: NodeDef;
  const pub = new Publisher({ linger: 0 });
  // zeromq allows one send in progress per socket (a second one throws at once): the test's
  // frames and the heartbeat timer's go through one chain.
  let pubTail: Promise<void> = Promise.resolve();
  const pubSend = (msg: Buffer): Promise<void> => {
    const sent = pubTail.then(() => pub.send(msg));
    pubTail = sent.catch(() => undefined);
    return sent;
  };
  // A ROUTER stands in for beta's REP so that it can leave a request unanswered.
  const rep = new Router({ linger: 0 });
  let unanswered = 0;
  const epoch = 'fake-epoch';
  let hb: NodeJS.Timeout;
  let files: Record<string, string | null> = {};
  /** Alpha's incarnation, learnt from its digest requests: changes must be addressed to it. */
  let alphaEpoch = '';

  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    root = cluster.root;
    betaDef = cluster.nodes[1]!;
    files = { 'app.conf': md5('v0\n') };
    await pub.bind(`tcp://127.0.0.1:${betaDef.ports.pub}`);
    await rep.bind(`tcp://127.0.0.1:${betaDef.ports.rep}`);
    void (async () => {
      for await (const [id, empty, msg] of rep) {
        const req = (await import('msgpackr')).unpack(msg!);
        // The first request gets no reply at all: alpha's REQ must time out and recover.
        if (unanswered++ === 0) continue;
        if (req.t === 'digests') alphaEpoch = req.epoch;
        const reply = req.t === 'digests'
          ? encode({ v: 1, t: 'digests', from: 'beta', epoch, files, pending: [] })
          : encode({ v: 1, t: 'error', message: 'no' });
        await rep.send([id!, empty!, reply]);
      }
    })().catch(() => undefined);
    alpha = await startNode(cluster.nodes[0]!);
    hb = setInterval(() => void pubSend(encode({ v: 1, t: 'hb', from: 'beta', epoch, sum: 'x' })).catch(() => undefined), 50);
    await alpha.waitStatus('app.conf', 'aligned');
  });

  it('recovers from a request that never got a reply (the REQ socket is reset)', async () => {
    assert.ok(unanswered >= 2);
    await alpha.waitLog((l) => l.msg.startsWith('digest exchange failed') && l.peer === 'beta', 'a failed exchange');
  });

  after(async () => {
    clearInterval(hb);
    pub.close();
    rep.close();
    await stopAll([alpha], root);
  });

  it('drops every malformed PUB frame with a log line and keeps running', async () => {
    const good = { v: 1, t: 'change', from: 'beta', epoch, name: 'app.conf', prev: md5('v0\n'), also: [], size: 6, ts: Date.now(), to: { alpha: alphaEpoch } };
    const evil = Buffer.from('pwned\n');
    const outside = path.join(alpha.def.dir, '..', 'outside.conf');
    const frames: Buffer[] = [
      randomBytes(64),
      Buffer.alloc(0),
      pack('just a string'),
      pack([1, 2, 3]),
      pack({ ...good, v: 2, md5: md5(evil), data: evil }),
      pack({ ...good, t: 'explode', md5: md5(evil), data: evil }),
      pack({ ...good, md5: 12345, data: evil }),
      pack({ ...good, md5: md5(evil), data: 'not bytes' }),
      pack({ ...good, md5: md5('something else'), data: evil }),
      pack({ ...good, from: 'mallory', md5: md5(evil), data: evil }),
      pack({ ...good, name: '../outside.conf', md5: md5(evil), data: evil }),
      pack({ ...good, name: outside, md5: md5(evil), data: evil }),
      pack({ ...good, name: alpha.file('app.conf'), md5: md5(evil), data: evil }),
      pack({ ...good, name: 'x'.repeat(100_000), md5: md5(evil), data: evil }),
      pack({ v: 1, t: 'have', from: 'beta', epoch, name: 'app.conf', md5: 'nope', re: null, conflict: null }),
      pack({ v: 1, t: 'hb', from: 'beta', epoch: { $gt: 1 }, sum: 'x' }),
    ];
    const before = alpha.logs.filter((l) => l.msg === 'dropped a frame').length;
    for (const f of frames) await pubSend(f);
    await waitFor('every bad frame dropped', () => alpha.logs.filter((l) => l.msg === 'dropped a frame').length - before >= frames.length - 1);
    const drops = alpha.logs.filter((l) => l.msg === 'dropped a frame');
    for (const l of drops) {
      assert.equal(l.peer, 'beta');
      assert.equal(typeof l.reason, 'string');
    }
    const health = await fetch(`${alpha.api}/api/1/health`);
    assert.equal(health.status, 200);
    assert.equal(readFileSync(alpha.file('app.conf'), 'utf8'), 'v0\n');
    assert.equal(existsSync(outside), false);
    assert.equal(alpha.proc.exitCode, null);
  });

  it('applies a well-formed change from the same fake peer (the channel works)', async () => {
    const data = Buffer.from('v1 from fake beta\n');
    await pubSend(encode({ v: 1, t: 'change', from: 'beta', epoch, name: 'app.conf', prev: md5('v0\n'), also: [], md5: md5(data), data, size: data.length, ts: Date.now(), to: { alpha: alphaEpoch } }));
    await waitFor('alpha applies it', () => md5File(alpha.file('app.conf')) === md5(data));
  });

  it('answers malformed and foreign requests on REP with an error and keeps serving', async () => {
    const req = new Request({ linger: 0, receiveTimeout: 2000 });
    req.connect(`tcp://127.0.0.1:${alpha.def.ports.rep}`);
    try {
      const ask = async (msg: Buffer) => {
        await req.send(msg);
        const [reply] = await req.receive();
        return decodeReply(reply!);
      };
      for (const bad of [randomBytes(32), pack({ v: 1, t: 'pull', from: 'mallory', name: 'app.conf' }), pack({ v: 1, t: 'rm -rf', from: 'beta' })]) {
        const r = await ask(bad);
        assert.ok(r.ok && r.value.t === 'error', JSON.stringify(r));
      }
      const unlisted = await ask(pack({ v: 1, t: 'pull', from: 'beta', name: '/etc/passwd' }));
      assert.ok(unlisted.ok && unlisted.value.t === 'error');
      const pull = await ask(pack({ v: 1, t: 'pull', from: 'beta', name: 'app.conf' }));
      assert.ok(pull.ok && pull.value.t === 'content');
      assert.equal(pull.value.md5, md5('v1 from fake beta\n'));
    } finally {
      req.close();
    }
  });
});
