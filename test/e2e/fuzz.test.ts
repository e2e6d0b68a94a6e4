import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Packr, pack, unpack } from 'msgpackr';
import { Publisher, Reply, Request } from 'zeromq';
import { checkJournal } from '../../src/io/journal.js';
import { decodeReply } from '../../src/net/codec.js';
import { defineCluster, md5, startNode, stopAll, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

/**
 * Property-based fuzzing of everything a peer or an API client can send: thousands of random
 * and mutated frames from a fake peer (real ZeroMQ sockets on beta's endpoints) on its PUB and
 * to the node's REP, and random or malformed API requests. After every batch the node is up,
 * answers, serves a valid digests request, and has written nothing.
 *
 * No generated frame or request is a valid change: whenever content travels inline, its md5 is
 * made wrong; content announced without bytes must be pulled from the fake peer, which refuses
 * every pull; and the node's reconcile mode is manual (no automatic pull on reconnect).
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const V0 = 'v0\n';
const LISTED = ['app.conf', 'other.conf'];
const MiB = 1024 * 1024;
const MARK = `entangled-fuzz-${process.pid}-${randomBytes(3).toString('hex')}`;

const hex32 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

/** Never a valid inline content: an md5 that matches its bytes is flipped. */
function spoil<T>(x: T): T {
  if (typeof x !== 'object' || x === null) return x;
  const o = x as Record<string, unknown>;
  if (o.data instanceof Uint8Array && typeof o.md5 === 'string' && o.md5 === md5(Buffer.from(o.data))) {
    o.md5 = `${o.md5.slice(0, 31)}${o.md5.endsWith('0') ? '1' : '0'}`;
  }
  return x;
}

const packers = [new Packr({ useRecords: false }), new Packr({ useRecords: true }), new Packr({ moreTypes: true, structuredClone: true })];

/** msgpack of `x` with one of several encoders; null when msgpackr cannot encode it. */
function encodeAny(x: unknown, packer = 0): Buffer | null {
  try {
    return packers[packer % packers.length]!.pack(spoil(x));
  } catch {
    return null;
  }
}

function mutate(bytes: Buffer, edits: [number, number, number][]): Buffer {
  const b = Buffer.from(bytes);
  let out = b;
  for (const [pos, val, kind] of edits) {
    if (out.length === 0) break;
    const p = pos % out.length;
    if (kind === 0) out[p] = val;
    else if (kind === 1) out = Buffer.concat([out.subarray(0, p), Buffer.from([val]), out.subarray(p)]);
    else out = Buffer.concat([out.subarray(0, p), out.subarray(p + 1)]);
  }
  return out;
}

/** Arbitraries for the fields a frame or request carries, around the real values. */
function fieldArbs(ctx: { alphaEpoch: string; fakeEpoch: string; localMd5: string; alphaDir: string }) {
  const traversal = fc.constantFrom(
    `../${MARK}`,
    `../../${MARK}`,
    `../../../../../../../../tmp/${MARK}`,
    path.join(tmpdir(), MARK),
    `/tmp/${MARK}-abs`,
    path.join(ctx.alphaDir, 'app.conf'),
    path.join(ctx.alphaDir, '..', 'beta', 'app.conf'),
    './app.conf',
    'app.conf/',
    'app.conf/../app.conf',
    'app.conf\0.evil',
    'APP.CONF',
    ' app.conf',
    'state/alpha.journal.json',
    'entangled.yaml',
    '',
    '.',
    '..',
    '/',
  );
  const name = fc.oneof(
    { arbitrary: fc.constantFrom(...LISTED), weight: 6 },
    { arbitrary: traversal, weight: 4 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
    { arbitrary: fc.integer({ min: 4000, max: 5000 }).map((n) => 'n'.repeat(n)), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const md5ish = fc.oneof(
    { arbitrary: hex32, weight: 4 },
    { arbitrary: fc.constant(ctx.localMd5), weight: 3 },
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: fc.constantFrom(md5(''), md5(V0).toUpperCase(), 'z'.repeat(32), '0'.repeat(33)), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const data = fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 5 },
    { arbitrary: fc.constant(null), weight: 3 },
    { arbitrary: fc.constantFrom(Buffer.from('pwned\n'), Buffer.alloc(MiB + 1, 0x41)), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const size = fc.oneof(
    { arbitrary: fc.nat({ max: 400 }), weight: 3 },
    { arbitrary: fc.constantFrom(MiB, MiB + 1, 4 * MiB, 12 * MiB + 5, 2 ** 40, 2 ** 40 + 1, 2 ** 53, -1, 0.5, Number.NaN, Infinity), weight: 3 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const from = fc.oneof(
    { arbitrary: fc.constant('beta'), weight: 8 },
    { arbitrary: fc.constantFrom('alpha', 'mallory', 'BETA', 'beta\0', '', 'b'.repeat(300)), weight: 2 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const epoch = fc.oneof(
    { arbitrary: fc.constant(ctx.fakeEpoch), weight: 8 },
    { arbitrary: fc.constantFrom('e'.repeat(65), '', ctx.alphaEpoch), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const to = fc.oneof(
    { arbitrary: fc.constant({ alpha: ctx.alphaEpoch }), weight: 8 },
    { arbitrary: fc.constantFrom({}, { alpha: 'an-old-epoch' }, { beta: ctx.fakeEpoch }, { alpha: ctx.alphaEpoch, ['x'.repeat(300)]: 'e' }), weight: 2 },
    { arbitrary: fc.dictionary(fc.string(), fc.anything(), { maxKeys: 5 }), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const also = fc.oneof(
    { arbitrary: fc.array(hex32, { maxLength: 4 }), weight: 6 },
    { arbitrary: fc.array(hex32, { minLength: 65, maxLength: 70 }), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
  );
  const version = fc.oneof({ arbitrary: fc.constant(1), weight: 9 }, { arbitrary: fc.anything(), weight: 1 });
  return { name, md5ish, data, size, from, epoch, to, also, version };
}

type Ctx = Parameters<typeof fieldArbs>[0];
type Obj = Record<string, unknown>;

/** Valid-looking content: inline bytes (size their length) or a large announcement (no bytes). */
const content = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((d) => ({ data: d as Uint8Array | null, size: d.length })), weight: 3 },
  { arbitrary: fc.integer({ min: MiB + 1, max: 24 * MiB }).map((n) => ({ data: null as Uint8Array | null, size: n })), weight: 2 },
);

/**
 * A frame or request of a valid shape, with 0 to 2 of its fields replaced by a wild value (so
 * that every check the node makes is reached, one at a time), or its key removed.
 */
function withWildFields(base: fc.Arbitrary<Obj>, wild: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Obj> {
  const keys = Object.keys(wild);
  const edit = fc.tuple(fc.constantFrom(...keys), fc.oneof({ arbitrary: fc.constant('drop' as const), weight: 1 }, { arbitrary: fc.constant('wild' as const), weight: 5 }));
  return fc.tuple(base, fc.array(edit, { maxLength: 2 })).chain(([o, edits]) =>
    fc.tuple(...edits.map(([k, how]) => (how === 'drop' ? fc.constant(undefined) : wild[k]!))).map((vals) => {
      const copy: Obj = { ...o };
      edits.forEach(([k, how], i) => {
        if (how === 'drop') delete copy[k];
        else copy[k] = vals[i];
      });
      return copy;
    }),
  );
}

/** PUB frames: valid shapes with wild fields, anything, raw bytes, mutated bytes. */
function frameArb(ctx: Ctx): fc.Arbitrary<Buffer | null> {
  const f = fieldArbs(ctx);
  const goodName = fc.constantFrom(...LISTED);
  const prev = fc.oneof(fc.constant(ctx.localMd5), fc.constant(null), hex32);
  const change = fc.record({ name: goodName, prev, also: fc.array(hex32, { maxLength: 3 }), md5: hex32, content }).map(({ content: c, ...r }) => ({
    v: 1, t: 'change', from: 'beta', epoch: ctx.fakeEpoch, ...r, data: c.data, size: c.size, ts: Date.now(), to: { alpha: ctx.alphaEpoch },
  }) as Obj);
  const have = fc.record({ name: goodName, md5: fc.oneof(fc.constant(ctx.localMd5), fc.constant(null), hex32), re: fc.oneof(fc.constant(null), hex32), conflict: fc.constantFrom(null, 'alpha', 'beta') }).map((r) => ({
    v: 1, t: 'have', from: 'beta', epoch: ctx.fakeEpoch, ...r,
  }) as Obj);
  const hb = fc.string({ minLength: 1, maxLength: 64 }).map((sum) => ({ v: 1, t: 'hb', from: 'beta', epoch: ctx.fakeEpoch, sum }) as Obj);
  const wild = { v: f.version, t: fc.oneof(fc.constantFrom('change', 'have', 'hb', 'take', ''), fc.anything()), from: f.from, epoch: f.epoch, name: f.name, prev: f.md5ish, also: f.also, md5: f.md5ish, data: f.data, size: f.size, ts: fc.oneof(fc.double(), fc.anything()), to: f.to, re: f.md5ish, conflict: fc.anything(), sum: fc.oneof(fc.string({ maxLength: 70 }), fc.anything()) };
  // Heartbeats with a wild epoch make the node see a restart each time: rarer than the rest.
  const obj = fc.oneof(
    { arbitrary: withWildFields(change, wild), weight: 8 },
    { arbitrary: withWildFields(have, wild), weight: 3 },
    { arbitrary: withWildFields(hb, wild), weight: 1 },
  );
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 6 });
  return fc.oneof(
    { arbitrary: obj.map((o) => encodeAny(o)), weight: 14 },
    { arbitrary: fc.tuple(obj, fc.integer({ min: 1, max: 2 })).map(([o, p]) => encodeAny(o, p)), weight: 1 },
    { arbitrary: fc.tuple(obj, edits).map(([o, e]) => { const b = encodeAny(o); return b && mutate(b, e); }), weight: 3 },
    { arbitrary: fc.anything().map((x) => encodeAny(x)), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)), weight: 1 },
    // A map with a __proto__ key (it must not become the decoded object's prototype).
    { arbitrary: hb.map((h) => encodeAny(JSON.parse(`{"__proto__":${JSON.stringify(h)}}`))), weight: 1 },
  );
}

/** Requests to the node's REP: valid shapes with wild fields, anything, raw and mutated bytes. */
function requestArb(ctx: Ctx): fc.Arbitrary<Buffer | null> {
  const f = fieldArbs(ctx);
  const goodName = fc.constantFrom(...LISTED);
  const digests = fc.constant({ v: 1, t: 'digests', from: 'beta', epoch: ctx.fakeEpoch } as Obj);
  const pull = fc.record({ name: goodName, md5: fc.oneof(fc.constant(ctx.localMd5), hex32), offset: fc.oneof(fc.constant(0), fc.nat({ max: 10 }), fc.constant(4 * MiB)) }, { requiredKeys: ['name'] }).map((r) => ({
    v: 1, t: 'pull', from: 'beta', ...r,
  }) as Obj);
  const take = fc.record({ name: goodName, md5: hex32, content }).map(({ content: c, ...r }) => ({ v: 1, t: 'take', from: 'beta', ...r, data: c.data, size: c.size }) as Obj);
  const wild = { v: f.version, t: fc.oneof(fc.constantFrom('digests', 'pull', 'take', 'change', ''), fc.anything()), from: f.from, epoch: f.epoch, name: f.name, md5: f.md5ish, offset: f.size, data: f.data, size: f.size };
  const obj = fc.oneof(
    { arbitrary: withWildFields(take, wild), weight: 4 },
    { arbitrary: withWildFields(pull, wild), weight: 3 },
    { arbitrary: withWildFields(digests, wild), weight: 1 },
  );
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 6 });
  return fc.oneof(
    { arbitrary: obj.map((o) => encodeAny(o)), weight: 14 },
    { arbitrary: fc.tuple(obj, fc.integer({ min: 1, max: 2 })).map(([o, p]) => encodeAny(o, p)), weight: 1 },
    { arbitrary: fc.tuple(obj, edits).map(([o, e]) => { const b = encodeAny(o); return b && mutate(b, e); }), weight: 3 },
    { arbitrary: fc.anything().map((x) => encodeAny(x)), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)), weight: 1 },
  );
}

/**
 * fc.assert with a readable failure: the property's own error message and the seed to replay
 * it (the counterexample, thousands of bytes, is left out: the seed reproduces it).
 */
async function check<T>(what: string, prop: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  try {
    await fc.assert(prop, { seed: SEED, numRuns, endOnFailure: true });
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    const runs = /Property failed after (\d+) tests/.exec((err as Error).message)?.[1];
    // fetch's own failure ("fetch failed") says why only in its cause.
    const why = (cause?.cause as Error | undefined)?.message;
    throw new Error(`${what}: failed in batch ${runs ?? '?'} of ${numRuns}: ${cause?.message ?? (err as Error).message.slice(0, 2000)}${why ? ` (${why})` : ''}\nreplay with FUZZ_SEED=${SEED}`);
  }
}

/** Every file under `dir` (relative paths), recursively. */
function tree(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tree(p, base));
    else out.push(path.relative(base, p));
  }
  return out.sort();
}

describe('fuzzing: random and mutated frames, requests and API calls', () => {
  let root: string;
  let alpha: RunningNode;
  let alphaDef: NodeDef;
  let betaDef: NodeDef;
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
  // zeromq allows one send in progress per socket (a second one throws at once): the test's
  // frames and the heartbeat timer's go through one chain.
  let pubTail: Promise<void> = Promise.resolve();
  const pubSend = (msg: Buffer): Promise<void> => {
    const sent = pubTail.then(() => pub.send(msg));
    pubTail = sent.catch(() => undefined);
    return sent;
  };
  const rep = new Reply({ linger: 0 });
  const fakeEpoch = randomBytes(8).toString('hex');
  let alphaEpoch = '';
  let hb: NodeJS.Timeout;
  let baseline: string[] = [];
  const fileMd5s = new Map<string, string>();
  let fakeRequests = 0;
  /** The fake peer's own failures: a fake that stops answering would make the node look slow. */
  const fakeRepErrors: string[] = [];
  let sentinel = 0;

  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': V0, 'other.conf': null }, reconcile: 'manual', peerTimeoutMs: 1000 });
    root = cluster.root;
    [alphaDef, betaDef] = cluster.nodes as [NodeDef, NodeDef];
    await pub.bind(`tcp://127.0.0.1:${betaDef.ports.pub}`);
    await rep.bind(`tcp://127.0.0.1:${betaDef.ports.rep}`);
    // The fake beta's REP: its digests; every pull or take refused (so nothing can be fetched from it).
    void (async () => {
      for await (const [msg] of rep) {
        fakeRequests++;
        let req: { t?: unknown; epoch?: unknown } = {};
        try {
          req = unpack(msg!) as typeof req;
        } catch {
          // Answered as an error below.
        }
        if (req.t === 'digests' && typeof req.epoch === 'string') alphaEpoch = req.epoch;
        const reply = req.t === 'digests'
          ? pack({ v: 1, t: 'digests', from: 'beta', epoch: fakeEpoch, files: { 'app.conf': md5(V0), 'other.conf': null }, pending: [] })
          : pack({ v: 1, t: 'error', message: 'the fake peer serves nothing' });
        try {
          await rep.send(reply);
        } catch (err) {
          fakeRepErrors.push(String(err));
        }
      }
    })().catch((err) => fakeRepErrors.push(`the fake REP loop ended: ${String(err)}`));
    alpha = await startNode(alphaDef);
    hb = setInterval(() => void pubSend(pack({ v: 1, t: 'hb', from: 'beta', epoch: fakeEpoch, sum: 'fake' })).catch(() => undefined), 100);
    await waitFor('alpha connects to the fake beta', async () => alphaEpoch !== '' && (await alpha.state()).peers[0]!.connected, 10_000);
    await alpha.waitStatus('app.conf', 'aligned', 10_000);
    await waitFor('alpha journals its agreement', () => existsSync(path.join(alphaDef.dir, 'state', 'alpha.journal.json')));
    baseline = tree(root);
    for (const f of baseline) if (!f.endsWith('.journal.json')) fileMd5s.set(f, md5(readFileSync(path.join(root, f))));
    console.log(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays it)`);
  });

  after(async () => {
    clearInterval(hb);
    pub.close();
    rep.close();
    await stopAll(alpha ? [alpha] : [], root);
    for (const p of [path.join(tmpdir(), MARK), `/tmp/${MARK}-abs`]) rmSync(p, { force: true });
  });

  const ctx = () => ({ alphaEpoch, fakeEpoch, localMd5: md5(V0), alphaDir: alphaDef.dir });

  /** Sends a valid digests request to the node's REP with a fresh socket: it must answer. */
  async function repAnswers(): Promise<void> {
    const req = new Request({ linger: 0, receiveTimeout: 5000, sendTimeout: 5000 });
    req.connect(`tcp://127.0.0.1:${alphaDef.ports.rep}`);
    try {
      await req.send(pack({ v: 1, t: 'digests', from: 'beta', epoch: fakeEpoch }));
      const [bytes] = await req.receive();
      const r = decodeReply(bytes!);
      assert.ok(r.ok && r.value.t === 'digests', `REP answers a valid digests request: ${JSON.stringify(r)}`);
      assert.equal(r.value.files['app.conf'], md5(V0));
    } finally {
      req.close();
    }
  }

  /** The invariants after every batch. */
  async function healthy(what: string, quiet = false): Promise<void> {
    assert.deepEqual(fakeRepErrors, [], `${what}: the fake peer's REP still serves`);
    assert.equal(alpha.proc.exitCode, null, `${what}: the node runs (stderr: ${alpha.stderr})`);
    const h = await fetch(`${alpha.api}/api/1/health`);
    assert.equal(h.status, 200, `${what}: health`);
    await repAnswers();
    // Transfers the node started (large versions announced, queued per file) may still be
    // failing one after the other, each with its temp file for a moment: the folder must come
    // back to what it held (a file that stays fails). `quiet`: and stay so while the node is idle.
    const same = () => JSON.stringify(tree(root)) === JSON.stringify(baseline);
    let seen = alpha.logs.length;
    let quietSince = Date.now();
    const idle = () => {
      if (alpha.logs.length !== seen) {
        seen = alpha.logs.length;
        quietSince = Date.now();
      }
      return Date.now() - quietSince > 500;
    };
    const ok = await waitFor(`${what}: the folder holds only what it held`, () => (quiet ? idle() && same() : same()), 10_000, 20).catch(() => false);
    if (!ok) assert.fail(`${what}: the folder does not come back to what it held (${quiet ? 'with the node idle, ' : ''}10 s): ${JSON.stringify(tree(root))}, not ${JSON.stringify(baseline)}`);
    for (const [f, sum] of fileMd5s) assert.equal(md5(readFileSync(path.join(root, f))), sum, `${what}: ${f} is unchanged`);
    const journal = baseline.find((f) => f.endsWith('alpha.journal.json'));
    if (journal) assert.notEqual(checkJournal(JSON.parse(readFileSync(path.join(root, journal), 'utf8')), 'alpha'), null, `${what}: journal valid`);
    for (const p of [path.join(tmpdir(), MARK), `/tmp/${MARK}-abs`, path.join(root, MARK)]) assert.equal(existsSync(p), false, `${what}: ${p} was written`);
    const bad = alpha.logs.filter((l) => l.level >= 50 || l.msg.startsWith('NOT JSON'));
    assert.deepEqual(bad, [], `${what}: no error or fatal line, nothing but JSON on stdout`);
    assert.equal(alpha.stderr, '', `${what}: nothing on stderr`);
  }

  it('thousands of PUB frames: every bad one dropped, the node stays up and writes nothing', { timeout: 120_000 }, async () => {
    let frames = 0;
    const started = Date.now();
    await check('PUB frames',
      fc.asyncProperty(fc.array(frameArb(ctx()), { minLength: 40, maxLength: 80 }), async (batch) => {
        for (const b of batch) {
          if (!b) continue;
          await pubSend(b);
          frames++;
        }
        // Frames arrive in order: once this one's drop is logged, the batch was read.
        const id = `sentinel-${++sentinel}`;
        await pubSend(pack({ v: 1, t: 'hb', from: id, epoch: fakeEpoch, sum: 'x' }));
        await alpha.waitLog((l) => l.msg === 'dropped a frame' && typeof l.reason === 'string' && l.reason.includes(`"${id}"`), `the ${id} drop`, 15_000);
        await healthy(`after ${frames} frames`);
      }),
      60,
    );
    await healthy('once the node is idle after the frames', true);
    const drops = alpha.logs.filter((l) => l.msg === 'dropped a frame').length;
    console.log(`fuzz PUB: ${frames} frames, ${drops} drop lines, ${Date.now() - started} ms`);
    assert.ok(frames >= 2500, `${frames} frames sent`);
  });

  it('a frame larger than the limit costs the sender its connection, nothing more', { timeout: 30_000 }, async () => {
    const before = alpha.logs.length;
    await pubSend(Buffer.concat([pack({ v: 1, t: 'hb', from: 'beta', epoch: fakeEpoch, sum: 'x' }), randomBytes(5 * MiB)]));
    const id = `sentinel-${++sentinel}`;
    // The SUB reconnects within 100 ms; sentinels go until one is heard again.
    await waitFor('the node hears the fake peer again', async () => {
      await pubSend(pack({ v: 1, t: 'hb', from: id, epoch: fakeEpoch, sum: 'x' }));
      return alpha.logs.slice(before).some((l) => l.msg === 'dropped a frame' && String(l.reason).includes(`"${id}"`));
    }, 10_000, 100);
    await healthy('after an oversized frame');
  });

  it('thousands of requests to REP: each answered (with an error when bad), the node writes nothing', { timeout: 120_000 }, async () => {
    let sock = new Request({ linger: 0, receiveTimeout: 5000, sendTimeout: 5000 });
    sock.connect(`tcp://127.0.0.1:${alphaDef.ports.rep}`);
    let requests = 0;
    let errors = 0;
    const started = Date.now();
    try {
      // An oversized request: the REP drops the connection instead of allocating it; no reply.
      const big = new Request({ linger: 0, receiveTimeout: 1500, sendTimeout: 1500 });
      big.connect(`tcp://127.0.0.1:${alphaDef.ports.rep}`);
      await big.send(Buffer.concat([pack({ v: 1, t: 'digests', from: 'beta', epoch: fakeEpoch }), randomBytes(5 * MiB)]));
      await assert.rejects(big.receive(), 'no reply to an oversized request');
      big.close();
      await healthy('after an oversized request');

      await check('REP requests',
        fc.asyncProperty(fc.array(requestArb(ctx()), { minLength: 20, maxLength: 40 }), async (batch) => {
          for (const b of batch) {
            if (!b) continue;
            requests++;
            let bytes: Buffer | undefined;
            try {
              await sock.send(b);
              [bytes] = await sock.receive();
            } catch (err) {
              sock.close();
              sock = new Request({ linger: 0, receiveTimeout: 5000, sendTimeout: 5000 });
              sock.connect(`tcp://127.0.0.1:${alphaDef.ports.rep}`);
              throw new Error(`no reply within 5 s to ${b.length} bytes ${b.subarray(0, 200).toString('hex')}: ${String(err)}`);
            }
            const r = decodeReply(bytes!);
            assert.ok(r.ok, `the reply is a valid reply: ${r.ok ? '' : r.reason}`);
            if (r.value.t === 'error') errors++;
            // A take of the very version the node holds is 'unchanged' (nothing written); any other is a bug.
            else if (r.value.t === 'took' && (r.value.result !== 'unchanged' || r.value.md5 !== md5(V0))) assert.fail(`a fuzzed take was accepted: ${b.toString('hex').slice(0, 400)}`);
          }
          await healthy(`after ${requests} requests`);
        }),
        40,
      );
      await healthy('once the node is idle after the requests', true);
    } finally {
      sock.close();
    }
    console.log(`fuzz REP: ${requests} requests, ${errors} error replies, ${fakeRequests} requests to the fake peer, ${Date.now() - started} ms`);
    assert.ok(requests >= 800, `${requests} requests sent`);
  });

  it('random and malformed API requests: JSON errors with a 4xx (or 502 for the refusing peer), never another 5xx or HTML', { timeout: 120_000 }, async () => {
    const doc = (await (await fetch(`${alpha.api}/api/1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const hasBackups = '/api/1/backups' in doc.paths;
    const hasRestore = '/api/1/restore' in doc.paths;
    const jsonish = fc.oneof(
      fc.json(),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({
        files: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...LISTED, `../${MARK}`, path.join(alphaDef.dir, 'app.conf'), '/etc/passwd', ''), fc.string(), fc.jsonValue()), { maxLength: 5 }), fc.jsonValue()),
        peer: fc.oneof(fc.constantFrom('beta', 'alpha', 'mallory', ''), fc.jsonValue()),
        direction: fc.oneof(fc.constantFrom('pull', 'push', 'PULL', 'sideways'), fc.jsonValue()),
        file: fc.oneof(fc.constantFrom(...LISTED, `../${MARK}`), fc.jsonValue()),
        md5: fc.oneof(hex32, fc.jsonValue()),
        extra: fc.jsonValue(),
      }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.integer({ min: 1000, max: 200_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.integer({ min: 100_000, max: 2_000_000 }).map((n) => JSON.stringify({ files: ['x'.repeat(n)] })),
      fc.constant('{"files":["app.conf"],"__proto__":{"direction":"push"}}'),
    );
    // Valid-looking bodies too, so the node's force and restore are reached (the fake peer
    // refuses every pull and take: a valid force is a 502, the peer's fault; no version is kept: a restore is a 404).
    const plausible = fc.record({
      files: fc.array(fc.constantFrom(...LISTED, path.join(alphaDef.dir, 'app.conf')), { minLength: 1, maxLength: 2 }),
      peer: fc.constant('beta'),
      direction: fc.constantFrom('pull', 'push'),
    }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
    const plausibleRestore = fc.record({ file: fc.constantFrom(...LISTED), md5: fc.oneof(hex32, fc.constant(md5(V0))) }, { requiredKeys: ['file'] }).map((o) => JSON.stringify(o));
    const body = fc.oneof({ arbitrary: jsonish, weight: 8 }, { arbitrary: plausible, weight: 3 }, { arbitrary: plausibleRestore, weight: 2 }, { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')), weight: 2 });
    const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/vnd.x+json');
    const query = fc.oneof(
      fc.webQueryParameters(),
      fc.dictionary(fc.constantFrom('file', 'peer', 'md5', 'x', 'file[]', ''), fc.oneof(fc.constantFrom(...LISTED, 'beta', 'mallory', `../${MARK}`, ''), fc.string({ unit: 'binary', maxLength: 50 })), { maxKeys: 4 })
        .map((d) => new URLSearchParams(d).toString()),
      fc.constantFrom('file=app.conf&file=other.conf', 'file=%zz', 'file=%00', `file=${'a'.repeat(10000)}`, 'peer=beta', ''),
    );
    const call = fc.oneof(
      { arbitrary: fc.record({ method: fc.constant('POST'), route: fc.constant('/api/1/force'), body, contentType }), weight: 5 },
      { arbitrary: fc.record({ method: fc.constant('GET'), route: fc.constant('/api/1/diff'), query }), weight: 3 },
      ...(hasRestore ? [{ arbitrary: fc.record({ method: fc.constant('POST'), route: fc.constant('/api/1/restore'), body, contentType }), weight: 3 }] : []),
      ...(hasBackups ? [{ arbitrary: fc.record({ method: fc.constant('GET'), route: fc.constant('/api/1/backups'), query }), weight: 2 }] : []),
      { arbitrary: fc.record({ method: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'GET', 'POST'), route: fc.constantFrom('/api/1/force', '/api/1/nope', '/api/2/state', '/api/1/state/x', '/api/1/../../etc/passwd', '/api/1/diff/'), body: fc.option(jsonish, { nil: undefined }) }), weight: 1 },
    );
    const seen = new Map<number, number>();
    let calls = 0;
    const started = Date.now();
    await check('API calls',
      fc.asyncProperty(fc.array(call, { minLength: 10, maxLength: 30 }), async (batch) => {
        for (const c of batch) {
          calls++;
          const q = 'query' in c && c.query ? `?${c.query.replace(/^\?/, '')}` : '';
          const headers: Record<string, string> = {};
          if ('contentType' in c && c.contentType !== undefined) headers['content-type'] = c.contentType;
          const hasBody = 'body' in c && c.body !== undefined && c.method !== 'GET';
          const asked = `${c.method} ${c.route}${q.slice(0, 200)} ${JSON.stringify(headers)} ${hasBody ? JSON.stringify(String(c.body).slice(0, 200)) : ''}`;
          const res = await fetch(`${alpha.api}${c.route}${q}`, { method: c.method, headers, body: hasBody ? (c.body as string) : undefined }).catch((err: Error) => {
            throw new Error(`${err.message} (${(err.cause as Error | undefined)?.message}): ${asked}`);
          });
          const text = await res.text();
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const what = `${c.method} ${c.route}${q.slice(0, 200)} ${hasBody ? JSON.stringify(String(c.body).slice(0, 200)) : ''} → ${res.status} ${text.slice(0, 200)}`;
          assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `JSON, never HTML: ${what}`);
          const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
          if (res.status >= 200 && res.status < 300) continue;
          assert.ok((res.status >= 400 && res.status < 500) || res.status === 502, `a 4xx or 502: ${what}`);
          assert.equal(typeof parsed.error?.code, 'string', `{error:{code}}: ${what}`);
          assert.equal(typeof parsed.error?.message, 'string', `{error:{message}}: ${what}`);
          assert.doesNotMatch(String(parsed.error!.message), /\n\s+at /, `no stack trace: ${what}`);
        }
        await healthy(`after ${calls} API calls`);
      }),
      50,
    );

    // Malformed HTTP on the raw socket: the node survives it.
    for (const raw of [randomBytes(2000), Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'), Buffer.from(`GET /api/1/state HTTP/1.1\r\nX: ${'a'.repeat(100_000)}\r\n\r\n`), Buffer.from('POST /api/1/force HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')]) {
      await new Promise<void>((resolve) => {
        const s = connect(alphaDef.ports.api, '127.0.0.1', () => s.end(raw));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
        s.setTimeout(3000, () => s.destroy());
      });
    }
    await healthy('after malformed HTTP', true);
    console.log(`fuzz API: ${calls} calls (backups ${hasBackups}, restore ${hasRestore}), statuses ${JSON.stringify(Object.fromEntries(seen))}, ${Date.now() - started} ms`);
    assert.ok(calls >= 300, `${calls} API calls`);
    assert.ok(statSync(alpha.file('app.conf')).size === V0.length);
  });
});
