import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Dealer, Request as ZmqRequest } from 'zeromq';
import type { Reply, Request } from '../../src/core/frame.js';
import { decodeReply, encode } from '../../src/net/codec.js';
import { MAX_CONCURRENT_REQUESTS, RequestReplier, type ReplierLimits, type RequestHandler } from '../../src/net/replier.js';
import { PeerRequester } from '../../src/net/requester.js';
import { freePorts, waitFor } from '../helpers/cluster.js';

const PEERS: ReadonlySet<string> = new Set(['alpha', 'beta']);
const EMPTY = Buffer.alloc(0);
const STOPPING: Reply = { v: 1, t: 'error', message: 'node is stopping' };
const BUSY: Reply = { v: 1, t: 'error', message: 'busy' };

const digests = (from: string, epoch = 'e'): Request => ({ v: 1, t: 'digests', from, epoch });
const pull = (from: string): Request => ({ v: 1, t: 'pull', from, name: 'app.conf' });
const digestsReply = (epoch: string): Reply => ({ v: 1, t: 'digests', from: 'server', epoch, files: {}, pending: [] });
const contentReply: Reply = { v: 1, t: 'content', name: 'app.conf', md5: null, data: null, size: 0 };

/** A promise opened from outside. */
function gate(): { readonly wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A replier bound on a free loopback port and serving `handle`; closed with the sockets after the test. */
async function serve(t: TestContext, handle: RequestHandler, limits: ReplierLimits = {}) {
  const [port] = await freePorts(1);
  const endpoint = `tcp://127.0.0.1:${port}`;
  const replier = new RequestReplier(null, limits);
  const rejected: string[] = [];
  await replier.bind(endpoint);
  replier.start(PEERS, handle, (reason) => rejected.push(reason));
  const closers: (() => void)[] = [];
  t.after(async () => {
    for (const close of closers) close();
    await replier.close();
  });
  const req = (timeoutMs = 5000): ZmqRequest => {
    const s = new ZmqRequest({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
    s.connect(endpoint);
    closers.push(() => s.close());
    return s;
  };
  const dealer = (): Dealer => {
    const s = new Dealer({ linger: 0, receiveTimeout: 5000, sendTimeout: 5000 });
    s.connect(endpoint);
    closers.push(() => s.close());
    return s;
  };
  const requester = (timeoutMs = 5000): PeerRequester => {
    const r = new PeerRequester(endpoint, timeoutMs);
    closers.push(() => r.close());
    return r;
  };
  return { replier, endpoint, rejected, req, dealer, requester };
}

function decoded(bytes: Buffer | undefined): Reply {
  assert.ok(bytes, 'a reply has a payload');
  const r = decodeReply(bytes);
  assert.ok(r.ok, `a valid reply: ${r.ok ? '' : r.reason}`);
  return r.value;
}

async function ask(sock: ZmqRequest, msg: Buffer | Buffer[]): Promise<Reply> {
  await sock.send(msg);
  const [bytes] = await sock.receive();
  return decoded(bytes);
}

/** The reply a DEALER gets: [empty delimiter, reply]. */
async function dealerReply(sock: Dealer): Promise<Reply> {
  const [delimiter, bytes, ...rest] = await sock.receive();
  assert.equal(delimiter?.length, 0, 'the reply keeps the REQ envelope');
  assert.equal(rest.length, 0);
  return decoded(bytes);
}

describe('RequestReplier (ROUTER on loopback)', () => {
  test('a slow request from one requester does not hold up another requester\'s digests', { timeout: 15_000 }, async (t) => {
    const entered = gate();
    const { requester } = await serve(t, async (req) => {
      if (req.t !== 'pull') return digestsReply(req.t === 'digests' ? req.epoch : '');
      entered.open();
      await delay(2000);
      return contentReply;
    });
    const a = requester();
    const b = requester();
    let slowSettled = false;
    const slow = a.request(pull('alpha')).finally(() => (slowSettled = true));
    await entered.wait;
    const fast = await b.request(digests('beta', 'b1'));
    assert.deepEqual(fast, digestsReply('b1'));
    assert.equal(slowSettled, false, 'B\'s reply arrived while A\'s slow request was still being handled');
    assert.deepEqual(await slow, contentReply);
  });

  test('malformed requests get an error reply (or are dropped when they cannot be answered) and the loop keeps serving', { timeout: 15_000 }, async (t) => {
    const { req, dealer, rejected } = await serve(t, (req) => {
      if (req.from === 'beta') throw new Error('handler failed at once');
      if (req.t === 'pull') return Promise.reject(new Error('handler failed later'));
      return Promise.resolve(digestsReply(req.t === 'digests' ? req.epoch : ''));
    });
    const s = req();
    const malformed: [string, Buffer | Buffer[], string][] = [
      ['bytes that are not msgpack', Buffer.from([0xc1, 0xff, 0x00]), 'not msgpack'],
      ['an empty payload', EMPTY, 'empty request'],
      ['two payload parts', [encode(digests('alpha')), Buffer.from('x')], '2 message parts, expected 1'],
      ['a request of an unknown peer', encode(digests('mallory')), 'unknown peer "mallory"'],
      ['a digests request without epoch', encode({ v: 1, t: 'digests', from: 'alpha' } as unknown as Request), 'bad epoch'],
    ];
    for (const [what, msg, reason] of malformed) {
      assert.deepEqual(await ask(s, msg), { v: 1, t: 'error', message: reason }, what);
    }
    assert.deepEqual(rejected, malformed.map(([, , reason]) => reason));

    assert.deepEqual(await ask(s, encode(digests('beta'))), { v: 1, t: 'error', message: 'handler failed at once' });
    assert.deepEqual(await ask(s, encode(pull('alpha'))), { v: 1, t: 'error', message: 'handler failed later' });

    const d = dealer();
    await d.send(encode(digests('alpha', 'no-envelope')));
    await waitFor('the request without a REQ envelope is reported', () => rejected.includes('no request envelope'));
    await d.send([EMPTY]);
    assert.deepEqual(await dealerReply(d), { v: 1, t: 'error', message: '0 message parts, expected 1' });

    assert.deepEqual(await ask(s, encode(digests('alpha', 'after'))), digestsReply('after'));
    await d.send([EMPTY, encode(digests('alpha', 'dealer'))]);
    assert.deepEqual(await dealerReply(d), digestsReply('dealer'));
  });

  test('once stopping began a new request gets "node is stopping" at once; the one in flight still gets its reply', { timeout: 15_000 }, async (t) => {
    const entered = gate();
    const release = gate();
    const { replier, req } = await serve(t, async (req) => {
      if (req.t !== 'pull') return digestsReply(req.t === 'digests' ? req.epoch : '');
      entered.open();
      await release.wait;
      return contentReply;
    });
    const a = req();
    const b = req();
    const slow = ask(a, encode(pull('alpha')));
    await entered.wait;
    replier.stopping();
    assert.deepEqual(await ask(b, encode(digests('beta'))), STOPPING);
    assert.deepEqual(await ask(b, Buffer.from('not even msgpack')), STOPPING);
    const closed = replier.close();
    release.open();
    assert.deepEqual(await slow, contentReply);
    await closed;
    assert.equal(replier.active, 0);
  });

  test('close() alone refuses new requests, waits for a handler at most the grace, then closes', { timeout: 15_000 }, async (t) => {
    const entered = gate();
    const never = gate();
    t.after(() => never.open());
    const { replier, req } = await serve(t, async () => {
      entered.open();
      await never.wait;
      return contentReply;
    }, { graceMs: 2000 });
    void ask(req(), encode(pull('alpha'))).catch(() => undefined);
    await entered.wait;
    let closed = false;
    const closing = replier.close().then(() => (closed = true));
    assert.deepEqual(await ask(req(), encode(digests('beta'))), STOPPING);
    assert.equal(closed, false, 'the socket stays open during the grace');
    await closing;
    assert.equal(replier.active, 1, 'close() did not wait for the handler past the grace');
    never.open();
    await waitFor('the late handler finishes (its reply is dropped)', () => replier.active === 0);
  });

  test(`past ${MAX_CONCURRENT_REQUESTS} requests in flight a request gets "busy" at once`, { timeout: 15_000 }, async (t) => {
    const release = gate();
    let entered = 0;
    const { replier, dealer } = await serve(t, async (req) => {
      entered++;
      await release.wait;
      return digestsReply(req.t === 'digests' ? req.epoch : '');
    });
    const d = dealer();
    for (let i = 0; i <= MAX_CONCURRENT_REQUESTS; i++) await d.send([EMPTY, encode(digests('alpha', `e${i}`))]);
    assert.deepEqual(await dealerReply(d), BUSY);
    assert.equal(entered, MAX_CONCURRENT_REQUESTS);
    assert.equal(replier.active, MAX_CONCURRENT_REQUESTS);
    release.open();
    const epochs: string[] = [];
    for (let i = 0; i < MAX_CONCURRENT_REQUESTS; i++) {
      const r = await dealerReply(d);
      assert.equal(r.t, 'digests');
      if (r.t === 'digests') epochs.push(r.epoch);
    }
    assert.deepEqual(epochs.sort(), Array.from({ length: MAX_CONCURRENT_REQUESTS }, (_, i) => `e${i}`).sort());
    await d.send([EMPTY, encode(digests('alpha', 'again'))]);
    assert.deepEqual(await dealerReply(d), digestsReply('again'));
  });

  test('a reply to a requester that gave up is dropped and the loop goes on serving', { timeout: 15_000 }, async (t) => {
    const entered = gate();
    const release = gate();
    const { replier, requester } = await serve(t, async (req) => {
      if (req.t !== 'pull') return digestsReply(req.t === 'digests' ? req.epoch : '');
      entered.open();
      await release.wait;
      return contentReply;
    });
    const r = requester(300);
    await assert.rejects(r.request(pull('alpha')), /no reply in time/);
    await entered.wait;
    // A round trip on the requester's new socket: by then the ROUTER has seen the old one go.
    assert.deepEqual(await r.request(digests('alpha', 'meanwhile'), 5000), digestsReply('meanwhile'));
    release.open();
    await waitFor('the late reply was handed to the socket', () => replier.active === 0);
    assert.deepEqual(await r.request(digests('alpha', 'later'), 5000), digestsReply('later'));
  });
});
