import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pack } from 'msgpackr';
import {
  checkFrame,
  checkReply,
  checkRequest,
  LIMITS,
  type ChangeFrame,
  type Checked,
  type ContentReply,
  type DigestsReply,
  type DigestsRequest,
  type ErrorReply,
  type HaveFrame,
  type HeartbeatFrame,
  type PullRequest,
} from '../../src/core/frame.js';
import { decodeFrame, decodeReply, decodeRequest, encode, type FrameScope } from '../../src/net/codec.js';
import type { Case } from '../helpers/table.js';


const md5 = (data: Uint8Array | string): string => createHash('md5').update(data).digest('hex');

// Shared fixtures: one good value of each kind, from the peer "beta" about the listed "app.conf".
const DATA = new TextEncoder().encode('listen 80;\n');
const OTHER = new TextEncoder().encode('listen 8080;\n');
const PREV = md5('listen 79;\n');

const change: ChangeFrame = {
  v: 1, t: 'change', from: 'beta', epoch: 'epoch-1', name: 'app.conf', prev: PREV, also: [], md5: md5(DATA), data: DATA, size: DATA.length, ts: 1_700_000_000_000, to: { alpha: 'epoch-a' },
};
const have: HaveFrame = { v: 1, t: 'have', from: 'beta', epoch: 'epoch-1', name: 'app.conf', md5: md5(DATA), re: md5(DATA), conflict: null };
const heartbeat: HeartbeatFrame = { v: 1, t: 'hb', from: 'beta', epoch: 'epoch-1', sum: md5('digest map') };

const digestsReq: DigestsRequest = { v: 1, t: 'digests', from: 'beta', epoch: 'epoch-2' };
const pullReq: PullRequest = { v: 1, t: 'pull', from: 'beta', name: 'app.conf' };

const digestsReply: DigestsReply = {
  v: 1, t: 'digests', from: 'beta', epoch: 'epoch-1', files: { 'app.conf': md5(DATA), 'gone.conf': null }, pending: ['app.conf'],
};
const contentReply: ContentReply = { v: 1, t: 'content', name: 'app.conf', md5: md5(DATA), data: DATA, size: DATA.length };
const absentReply: ContentReply = { v: 1, t: 'content', name: 'app.conf', md5: null, data: null, size: 0 };
const errorReply: ErrorReply = { v: 1, t: 'error', message: 'no such file' };

const scope: FrameScope = { peer: 'beta', names: new Set(['app.conf', 'site.conf']) };
const peers: ReadonlySet<string> = new Set(['beta']);

/** A copy of `base` with some fields replaced (undefined removes the field). */
function with_(base: object, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function rejected(result: Checked<unknown>): string {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
  return result.ok ? '' : result.reason;
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure reproduces. */
function randomBytes(seed: number, length: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const BAD_MD5S: readonly unknown[] = [
  'D41D8CD98F00B204E9800998ECF8427E', // uppercase
  'd41d8cd98f00b204e9800998ecf8427', // 31 chars
  'd41d8cd98f00b204e9800998ecf8427ef', // 33 chars
  'g41d8cd98f00b204e9800998ecf8427e', // not hex
  ' d41d8cd98f00b204e9800998ecf8427e', // padded
  '',
  42,
  new Uint8Array(16),
];

describe('checkFrame: good frames pass', () => {
  const cases: Case<unknown, unknown>[] = [
    { description: 'change', given: change, expect: change },
    { description: 'change creating a file (prev null)', given: with_(change, { prev: null }), expect: with_(change, { prev: null }) },
    { description: 'change with empty content', given: with_(change, { data: new Uint8Array(0), size: 0, md5: md5('') }), expect: with_(change, { data: new Uint8Array(0), size: 0, md5: md5('') }) },
    { description: 'change of a large file announced without content (pulled in chunks)', given: with_(change, { data: null, size: LIMITS.inline + 1 }), expect: with_(change, { data: null, size: LIMITS.inline + 1 }) },
    { description: 'change whose name is exactly at the size limit', given: with_(change, { name: 'n'.repeat(LIMITS.name) }), expect: with_(change, { name: 'n'.repeat(LIMITS.name) }) },
    { description: 'have', given: have, expect: have },
    { description: 'have for a missing file with a conflict', given: with_(have, { md5: null, re: null, conflict: 'gamma' }), expect: with_(have, { md5: null, re: null, conflict: 'gamma' }) },
    { description: 'have answering a change it could not write, with its error', given: with_(have, { md5: PREV, error: 'EPERM: operation not permitted' }), expect: with_(have, { md5: PREV, error: 'EPERM: operation not permitted' }) },
    { description: 'have refusing a change in split-brain, with its error', given: with_(have, { md5: PREV, conflict: 'alpha', error: 'split-brain' }), expect: with_(have, { md5: PREV, conflict: 'alpha', error: 'split-brain' }) },
    { description: 'have whose error is exactly at the size limit', given: with_(have, { error: 'e'.repeat(LIMITS.error) }), expect: with_(have, { error: 'e'.repeat(LIMITS.error) }) },
    { description: 'heartbeat', given: heartbeat, expect: heartbeat },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.deepEqual(checkFrame(c.given), { ok: true, value: c.expect });
    });
  }
});

describe('checkFrame: malformed frames are rejected with a reason', () => {
  const cases: Case<unknown, string>[] = [
    { description: 'null', given: null, expect: 'not a map' },
    { description: 'a string', given: 'change', expect: 'not a map' },
    { description: 'a number', given: 1, expect: 'not a map' },
    { description: 'an array', given: [1, 'change'], expect: 'not a map' },
    { description: 'raw bytes', given: new Uint8Array([1, 2, 3]), expect: 'not a map' },
    { description: 'version 2', given: with_(change, { v: 2 }), expect: 'unsupported version' },
    { description: 'version 0', given: with_(heartbeat, { v: 0 }), expect: 'unsupported version' },
    { description: 'version as a string', given: with_(change, { v: '1' }), expect: 'unsupported version' },
    { description: 'no version', given: with_(have, { v: undefined }), expect: 'unsupported version' },
    { description: 'unknown kind', given: with_(change, { t: 'delete' }), expect: 'unknown kind' },
    { description: 'a request kind on the PUB channel', given: with_(heartbeat, { t: 'pull' }), expect: 'unknown kind' },
    { description: 'no kind', given: with_(heartbeat, { t: undefined }), expect: 'unknown kind' },
    { description: 'from missing', given: with_(change, { from: undefined }), expect: 'bad from' },
    { description: 'from empty', given: with_(change, { from: '' }), expect: 'bad from' },
    { description: 'from a number', given: with_(heartbeat, { from: 7 }), expect: 'bad from' },
    { description: 'from oversized', given: with_(heartbeat, { from: 'b'.repeat(LIMITS.node + 1) }), expect: 'bad from' },
    { description: 'epoch missing', given: with_(change, { epoch: undefined }), expect: 'bad epoch' },
    { description: 'epoch oversized', given: with_(have, { epoch: 'e'.repeat(LIMITS.epoch + 1) }), expect: 'bad epoch' },
    { description: 'change: name empty', given: with_(change, { name: '' }), expect: 'bad name' },
    { description: 'change: name not a string', given: with_(change, { name: ['app.conf'] }), expect: 'bad name' },
    { description: 'change: name oversized', given: with_(change, { name: 'n'.repeat(LIMITS.name + 1) }), expect: 'bad name' },
    { description: 'change: md5 null', given: with_(change, { md5: null }), expect: 'bad md5' },
    { description: 'change: prev missing', given: with_(change, { prev: undefined }), expect: 'bad prev' },
    { description: 'change: data missing', given: with_(change, { data: undefined }), expect: 'bad data' },
    { description: 'change: data as a string', given: with_(change, { data: 'listen 80;\n' }), expect: 'bad data' },
    { description: 'change: data as an array of numbers', given: with_(change, { data: [1, 2, 3] }), expect: 'bad data' },
    { description: 'change: ts missing', given: with_(change, { ts: undefined }), expect: 'bad ts' },
    { description: 'change: ts as a string', given: with_(change, { ts: '1700000000000' }), expect: 'bad ts' },
    { description: 'change: ts NaN', given: with_(change, { ts: Number.NaN }), expect: 'bad ts' },
    { description: 'change: ts Infinity', given: with_(change, { ts: Number.POSITIVE_INFINITY }), expect: 'bad ts' },
    { description: 'change: to missing', given: with_(change, { to: undefined }), expect: 'bad to' },
    { description: 'change: also missing', given: with_(change, { also: undefined }), expect: 'bad also' },
    { description: 'change: also with a bad md5', given: with_(change, { also: ['nope'] }), expect: 'bad also' },
    { description: 'change: also too long', given: with_(change, { also: Array.from({ length: 65 }, () => PREV) }), expect: 'bad also' },
    { description: 'change: to as a list', given: with_(change, { to: ['alpha'] }), expect: 'bad to' },
    { description: 'change: to with a non-string epoch', given: with_(change, { to: { alpha: 7 } }), expect: 'bad to' },
    { description: 'change: to with an empty epoch', given: with_(change, { to: { alpha: '' } }), expect: 'bad to' },
    { description: 'change: to with too many peers', given: with_(change, { to: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`n${i}`, 'e'])) }), expect: 'bad to' },
    { description: 'have: name oversized', given: with_(have, { name: 'n'.repeat(LIMITS.name + 1) }), expect: 'bad name' },
    { description: 'have: md5 missing', given: with_(have, { md5: undefined }), expect: 'bad md5' },
    { description: 're not an md5', given: with_(have, { re: 'xyz' }), expect: 'bad re' },
    { description: 'have: conflict empty', given: with_(have, { conflict: '' }), expect: 'bad conflict' },
    { description: 'have: conflict a number', given: with_(have, { conflict: 1 }), expect: 'bad conflict' },
    { description: 'have: conflict missing', given: with_(have, { conflict: undefined }), expect: 'bad conflict' },
    { description: 'have: error empty', given: with_(have, { error: '' }), expect: 'bad error' },
    { description: 'have: error null', given: with_(have, { error: null }), expect: 'bad error' },
    { description: 'have: error a number', given: with_(have, { error: 13 }), expect: 'bad error' },
    { description: 'have: error oversized', given: with_(have, { error: 'e'.repeat(LIMITS.error + 1) }), expect: 'bad error' },
    { description: 'have: error without the change it answers (re null)', given: with_(have, { re: null, error: 'EPERM' }), expect: 'bad error' },
    { description: 'heartbeat: sum missing', given: with_(heartbeat, { sum: undefined }), expect: 'bad sum' },
    { description: 'heartbeat: sum oversized', given: with_(heartbeat, { sum: 's'.repeat(LIMITS.sum + 1) }), expect: 'bad sum' },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.equal(rejected(checkFrame(c.given)), c.expect);
    });
  }

  for (const bad of BAD_MD5S) {
    test(`bad md5 strings are rejected: ${JSON.stringify(bad)}`, () => {
      assert.equal(rejected(checkFrame(with_(change, { md5: bad }))), 'bad md5');
      assert.equal(rejected(checkFrame(with_(change, { prev: bad }))), 'bad prev');
      assert.equal(rejected(checkFrame(with_(have, { md5: bad }))), 'bad md5');
      assert.equal(rejected(checkFrame(with_(have, { re: bad }))), 'bad re');
    });
  }
});

describe('checkRequest', () => {
  const takeReq = { v: 1, t: 'take', from: 'beta', name: 'app.conf', md5: md5('x'), data: new Uint8Array(Buffer.from('x')), size: 1 };
  const good: Case<unknown, unknown>[] = [
    { description: 'digests request passes', given: digestsReq, expect: digestsReq },
    { description: 'pull request passes', given: pullReq, expect: pullReq },
    { description: 'take request passes', given: takeReq, expect: takeReq },
    { description: 'take request naming the copy it expects passes', given: with_(takeReq, { expected: md5('y') }), expect: with_(takeReq, { expected: md5('y') }) },
    { description: 'take request expecting no copy passes', given: with_(takeReq, { expected: null }), expect: with_(takeReq, { expected: null }) },
  ];
  for (const c of good) {
    test(c.description, () => {
      assert.deepEqual(checkRequest(c.given), { ok: true, value: c.expect });
    });
  }
  const bad: Case<unknown, string>[] = [
    { description: 'not a map', given: ['digests'], expect: 'not a map' },
    { description: 'wrong version', given: with_(digestsReq, { v: 2 }), expect: 'unsupported version' },
    { description: 'from missing', given: with_(digestsReq, { from: undefined }), expect: 'bad from' },
    { description: 'from oversized', given: with_(pullReq, { from: 'b'.repeat(LIMITS.node + 1) }), expect: 'bad from' },
    { description: 'digests without an epoch', given: with_(digestsReq, { epoch: undefined }), expect: 'bad epoch' },
    { description: 'digests with an empty epoch', given: with_(digestsReq, { epoch: '' }), expect: 'bad epoch' },
    { description: 'digests with an oversized epoch', given: with_(digestsReq, { epoch: 'e'.repeat(LIMITS.epoch + 1) }), expect: 'bad epoch' },
    { description: 'pull without a name', given: with_(pullReq, { name: undefined }), expect: 'bad name' },
    { description: 'pull with an oversized name', given: with_(pullReq, { name: 'n'.repeat(LIMITS.name + 1) }), expect: 'bad name' },
    { description: 'pull with a numeric name', given: with_(pullReq, { name: 5 }), expect: 'bad name' },
    { description: 'take expecting something that is not an md5', given: with_(takeReq, { expected: 'nope' }), expect: 'bad expected' },
    { description: 'unknown kind', given: with_(digestsReq, { t: 'push' }), expect: 'unknown kind' },
    { description: 'a frame kind is not a request', given: with_(digestsReq, { t: 'change' }), expect: 'unknown kind' },
  ];
  for (const c of bad) {
    test(`rejects ${c.description}`, () => {
      assert.equal(rejected(checkRequest(c.given)), c.expect);
    });
  }
});

describe('checkReply', () => {
  const good: Case<unknown, unknown>[] = [
    { description: 'digests reply passes', given: digestsReply, expect: digestsReply },
    { description: 'digests reply with no files passes', given: with_(digestsReply, { files: {}, pending: [] }), expect: with_(digestsReply, { files: {}, pending: [] }) },
    { description: 'content reply passes', given: contentReply, expect: contentReply },
    { description: 'content reply for an absent file passes', given: absentReply, expect: absentReply },
    { description: 'error reply passes', given: errorReply, expect: errorReply },
    { description: 'a replay refusal with the highest counter taken passes', given: { ...errorReply, counter: 1_700_000_000_000_000 }, expect: { ...errorReply, counter: 1_700_000_000_000_000 } },
  ];
  for (const c of good) {
    test(c.description, () => {
      assert.deepEqual(checkReply(c.given), { ok: true, value: c.expect });
    });
  }
  const bad: Case<unknown, string | RegExp>[] = [
    { description: 'not a map', given: 'digests', expect: 'not a map' },
    { description: 'wrong version', given: with_(contentReply, { v: 3 }), expect: 'unsupported version' },
    { description: 'unknown kind', given: with_(errorReply, { t: 'oops' }), expect: 'unknown kind' },
    { description: 'digests: from missing', given: with_(digestsReply, { from: undefined }), expect: 'bad from' },
    { description: 'digests: epoch oversized', given: with_(digestsReply, { epoch: 'e'.repeat(LIMITS.epoch + 1) }), expect: /^bad (from|epoch)$/ },
    { description: 'digests: files an array', given: with_(digestsReply, { files: [md5(DATA)] }), expect: 'bad files' },
    { description: 'digests: files missing', given: with_(digestsReply, { files: undefined }), expect: 'bad files' },
    { description: 'digests: a bad digest', given: with_(digestsReply, { files: { 'app.conf': 'NOT-AN-MD5' } }), expect: 'bad digest' },
    { description: 'digests: pending not an array', given: with_(digestsReply, { pending: 'app.conf' }), expect: 'bad pending' },
    { description: 'digests: pending holds a non-string', given: with_(digestsReply, { pending: ['app.conf', 3] }), expect: 'bad pending' },
    { description: 'digests: pending holds an oversized name', given: with_(digestsReply, { pending: ['n'.repeat(LIMITS.name + 1)] }), expect: 'bad pending' },
    { description: 'content: name missing', given: with_(contentReply, { name: undefined }), expect: 'bad name' },
    { description: 'content: bad md5', given: with_(contentReply, { md5: 'abc' }), expect: 'bad md5' },
    { description: 'content: md5 set but no data', given: with_(contentReply, { data: null }), expect: 'bad data' },
    { description: 'content: md5 null but data present', given: with_(absentReply, { data: DATA }), expect: 'bad data' },
    { description: 'content: data as a string', given: with_(contentReply, { data: 'listen 80;\n' }), expect: 'bad data' },
    { description: 'error: message not a string', given: with_(errorReply, { message: 42 }), expect: 'bad message' },
    { description: 'error: a counter that is no count', given: with_(errorReply, { counter: -1 }), expect: 'bad counter' },
    { description: 'error: a counter past the last safe one', given: with_(errorReply, { counter: Number.MAX_SAFE_INTEGER }), expect: 'bad counter' },
    { description: 'error: a counter not a number', given: with_(errorReply, { counter: '5' }), expect: 'bad counter' },
  ];
  for (const c of bad) {
    test(`rejects ${c.description}`, () => {
      const reason = rejected(checkReply(c.given));
      if (typeof c.expect === 'string') assert.equal(reason, c.expect);
      else assert.match(reason, c.expect);
    });
  }
});

describe('decodeFrame(bytes, scope)', () => {
  const good: Case<ChangeFrame | HaveFrame | HeartbeatFrame, unknown>[] = [
    { description: 'an encoded change passes', given: change, expect: change },
    { description: 'an encoded have passes', given: have, expect: have },
    { description: 'an encoded have with an error passes', given: { ...have, md5: PREV, error: 'validate refused' }, expect: { ...have, md5: PREV, error: 'validate refused' } },
    { description: 'an encoded heartbeat passes', given: heartbeat, expect: heartbeat },
  ];
  for (const c of good) {
    test(c.description, () => {
      const result = decodeFrame(encode(c.given), scope);
      assert.equal(result.ok, true, JSON.stringify(result));
      if (!result.ok) return;
      // msgpack hands bytes back as a Buffer; compare the bytes, not the class.
      const { data: gotData, ...got } = result.value as unknown as Record<string, unknown>;
      const { data: wantData, ...want } = c.expect as Record<string, unknown>;
      assert.deepEqual(got, want);
      if (wantData !== undefined) {
        assert.ok(gotData instanceof Uint8Array);
        assert.deepEqual(Buffer.from(gotData), Buffer.from(wantData as Uint8Array));
      }
    });
  }

  test('a frame hand-packed with msgpackr (not via encode) passes too', () => {
    const result = decodeFrame(pack({ ...change }), scope);
    assert.equal(result.ok, true, JSON.stringify(result));
  });

  const bad: Case<Uint8Array, string | RegExp>[] = [
    { description: 'empty bytes', given: new Uint8Array(0), expect: 'not msgpack' },
    { description: 'a truncated frame', given: encode(change).subarray(0, 20), expect: 'not msgpack' },
    { description: 'JSON text (msgpack with trailing bytes)', given: new TextEncoder().encode('{"v":1,"t":"hb"}'), expect: 'not msgpack' },
    { description: 'a msgpack array', given: pack([1, 'change', 'beta']), expect: 'not a map' },
    { description: 'a msgpack string', given: pack('change'), expect: 'not a map' },
    { description: 'wrong version', given: pack(with_(change, { v: 2 })), expect: 'unsupported version' },
    { description: 'unknown kind', given: pack(with_(change, { t: 'rm' })), expect: 'unknown kind' },
    { description: 'md5 in uppercase', given: pack(with_(change, { md5: md5(DATA).toUpperCase() })), expect: 'bad md5' },
    { description: 'md5 too short', given: pack(with_(have, { md5: 'abc123' })), expect: 'bad md5' },
    { description: 'a have whose error is oversized', given: pack(with_(have, { error: 'e'.repeat(LIMITS.error + 1) })), expect: 'bad error' },
    { description: 'data as a string', given: pack(with_(change, { data: 'listen 80;\n' })), expect: 'bad data' },
    { description: 'ts as a string', given: pack(with_(change, { ts: 'now' })), expect: 'bad ts' },
    { description: 'oversized name', given: pack(with_(change, { name: 'n'.repeat(LIMITS.name + 1) })), expect: 'bad name' },
    { description: 'oversized from', given: pack(with_(heartbeat, { from: 'b'.repeat(LIMITS.node + 1) })), expect: 'bad from' },
    { description: 'a change to a name not in the allow-list', given: encode({ ...change, name: '../../etc/passwd' }), expect: 'name not listed here' },
    { description: 'a change to an absolute path not in the allow-list', given: encode({ ...change, name: '/etc/shadow' }), expect: 'name not listed here' },
    { description: 'a have about a name not in the allow-list', given: encode({ ...have, name: '../../etc/passwd' }), expect: 'name not listed here' },
    { description: 'a change from a sender that is not the expected peer', given: encode({ ...change, from: 'mallory' }), expect: /mallory/ },
    { description: 'a heartbeat from a sender that is not the expected peer', given: encode({ ...heartbeat, from: 'gamma' }), expect: /gamma/ },
    { description: 'content whose md5 does not match', given: encode({ ...change, data: OTHER, size: OTHER.length }), expect: 'content does not match md5' },
    { description: 'empty content claiming a non-empty md5', given: encode({ ...change, data: new Uint8Array(0), size: 0 }), expect: 'content does not match md5' },
    { description: 'a small file announced without content', given: encode({ ...change, data: null, size: 10 }), expect: 'bad data' },
    { description: 'a size that does not match the content', given: encode({ ...change, size: DATA.length + 1 }), expect: 'bad data' },
    { description: 'inline content larger than the inline limit', given: encode({ ...change, data: new Uint8Array(LIMITS.inline + 1), size: LIMITS.inline + 1 }), expect: 'bad data' },
  ];
  for (const c of bad) {
    test(`rejects ${c.description}`, () => {
      const reason = rejected(decodeFrame(c.given, scope));
      if (typeof c.expect === 'string') assert.equal(reason, c.expect);
      else assert.match(reason, c.expect);
    });
  }

  test('rejects every one of 2000 random byte strings without throwing', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const bytes = randomBytes(seed, 1 + (seed % 97));
      const result = decodeFrame(bytes, scope);
      assert.equal(result.ok, false, `seed ${seed} was accepted: ${JSON.stringify(result)}`);
    }
  });

  test('rejects random bytes behind a valid msgpack map header without throwing', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const bytes = new Uint8Array([0x86, ...randomBytes(seed, 64)]);
      assert.equal(decodeFrame(bytes, scope).ok, false, `seed ${seed}`);
    }
  });
});

describe('decodeRequest(bytes, peers)', () => {
  test('an encoded digests request from a known peer passes', () => {
    assert.deepEqual(decodeRequest(encode(digestsReq), peers), { ok: true, value: digestsReq });
  });
  test('an encoded pull request from a known peer passes', () => {
    assert.deepEqual(decodeRequest(encode(pullReq), peers), { ok: true, value: pullReq });
  });
  const bad: Case<Uint8Array, string>[] = [
    { description: 'a request from a peer not in the configuration', given: encode({ ...digestsReq, from: 'mallory' }), expect: 'unknown peer "mallory"' },
    { description: 'a pull from a peer not in the configuration', given: encode({ ...pullReq, from: 'mallory' }), expect: 'unknown peer "mallory"' },
    { description: 'not msgpack', given: new Uint8Array(0), expect: 'not msgpack' },
    { description: 'wrong version', given: pack(with_(pullReq, { v: 2 })), expect: 'unsupported version' },
    { description: 'unknown kind', given: pack(with_(pullReq, { t: 'push' })), expect: 'unknown kind' },
    { description: 'pull with a numeric name', given: pack(with_(pullReq, { name: 12 })), expect: 'bad name' },
  ];
  for (const c of bad) {
    test(`rejects ${c.description}`, () => {
      assert.equal(rejected(decodeRequest(c.given, peers)), c.expect);
    });
  }
  test('rejects random bytes without throwing', () => {
    for (let seed = 1; seed <= 500; seed++) {
      assert.equal(decodeRequest(randomBytes(seed, 1 + (seed % 41)), peers).ok, false, `seed ${seed}`);
    }
  });
});

describe('decodeReply(bytes)', () => {
  test('an encoded digests reply passes', () => {
    assert.deepEqual(decodeReply(encode(digestsReply)), { ok: true, value: digestsReply });
  });
  test('an encoded content reply passes with its bytes', () => {
    const result = decodeReply(encode(contentReply));
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok || result.value.t !== 'content') return assert.fail('not a content reply');
    assert.equal(result.value.md5, md5(DATA));
    assert.ok(result.value.data instanceof Uint8Array);
    assert.deepEqual(Buffer.from(result.value.data), Buffer.from(DATA));
  });
  test('an encoded content reply for an absent file passes', () => {
    assert.deepEqual(decodeReply(encode(absentReply)), { ok: true, value: absentReply });
  });
  test('an encoded error reply passes', () => {
    assert.deepEqual(decodeReply(encode(errorReply)), { ok: true, value: errorReply });
  });
  const bad: Case<Uint8Array, string>[] = [
    { description: 'content whose md5 does not match', given: encode({ ...contentReply, data: OTHER, size: OTHER.length }), expect: 'content does not match md5' },
    { description: 'not msgpack', given: encode(contentReply).subarray(0, 10), expect: 'not msgpack' },
    { description: 'wrong version', given: pack(with_(errorReply, { v: 0 })), expect: 'unsupported version' },
    { description: 'unknown kind', given: pack(with_(errorReply, { t: 'hb' })), expect: 'unknown kind' },
    { description: 'a digests reply with a bad md5', given: pack(with_(digestsReply, { files: { 'app.conf': 'zz' } })), expect: 'bad digest' },
    { description: 'content with md5 but null data', given: pack(with_(contentReply, { data: null })), expect: 'bad data' },
  ];
  for (const c of bad) {
    test(`rejects ${c.description}`, () => {
      assert.equal(rejected(decodeReply(c.given)), c.expect);
    });
  }
  test('rejects random bytes without throwing', () => {
    for (let seed = 1; seed <= 500; seed++) {
      assert.equal(decodeReply(randomBytes(seed, 1 + (seed % 53))).ok, false, `seed ${seed}`);
    }
  });
});

describe('checkReply: chunks of a large file', () => {
  const chunk = { v: 1, t: 'chunk', name: 'app.conf', md5: md5(DATA), offset: 0, size: LIMITS.chunk * 2, data: new Uint8Array(16) };
  const cases: Case<Record<string, unknown>, string | 'ok'>[] = [
    { description: 'a chunk inside the file', given: chunk, expect: 'ok' },
    { description: 'the last, short chunk', given: { ...chunk, offset: LIMITS.chunk * 2 - 16 }, expect: 'ok' },
    { description: 'a chunk past the end of the file', given: { ...chunk, offset: LIMITS.chunk * 2 - 8 }, expect: 'bad data' },
    { description: 'a chunk larger than the chunk limit', given: { ...chunk, data: new Uint8Array(LIMITS.chunk + 1) }, expect: 'bad data' },
    { description: 'a negative offset', given: { ...chunk, offset: -1 }, expect: 'bad offset' },
    { description: 'a fractional size', given: { ...chunk, size: 10.5 }, expect: 'bad offset' },
    { description: 'a bad md5', given: { ...chunk, md5: 'x' }, expect: 'bad md5' },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const r = checkReply(c.given);
      assert.equal(r.ok ? 'ok' : r.reason, c.expect);
    });
  }
});
