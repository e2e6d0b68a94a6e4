import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { curveKeyPair } from 'zeromq';
import { checkSeal, curvePublicKey, isCurveKey, openSeal, requestKey, sealRequest, z85Decode, z85Encode } from '../../src/net/curve-keys.js';
import { judgeZap, RefusalThrottle, ZAP_DOMAIN } from '../../src/net/zap.js';
import type { Case } from '../helpers/table.js';

describe('Z85', () => {
  test('encodes and decodes the example of ZeroMQ RFC 32', () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    assert.equal(z85Encode(bytes), 'HelloWorld');
    assert.deepEqual(z85Decode('HelloWorld'), bytes);
  });

  test('round-trips the keys of zeromq\'s curveKeyPair and the edge values of a group', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey, secretKey } = curveKeyPair();
      for (const key of [publicKey, secretKey]) {
        assert.equal(z85Decode(key).length, 32);
        assert.equal(z85Encode(z85Decode(key)), key);
      }
    }
    for (const word of [0, 1, 84, 85, 0x7fffffff, 0xffffffff]) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(word);
      assert.equal(z85Decode(z85Encode(b)).readUInt32BE(), word);
    }
    assert.equal(z85Encode(Buffer.from([0xff, 0xff, 0xff, 0xff])), '%nSc0');
  });

  const bad: Case<string, RegExp>[] = [
    { description: 'a length that is not a multiple of 5', given: 'Hello1', expect: /multiple of 5/ },
    { description: 'a character outside the alphabet', given: 'Hel~o', expect: /not a Z85 character/ },
    { description: 'a group above 32 bits', given: '%nSc1', expect: /overflows/ },
  ];
  for (const c of bad) {
    test(`refuses ${c.description}`, () => assert.throws(() => z85Decode(c.given), c.expect));
  }

  test('isCurveKey takes 40 valid characters only', () => {
    assert.equal(isCurveKey(curveKeyPair().publicKey), true);
    assert.equal(isCurveKey('#'.repeat(40)), false);
    assert.equal(isCurveKey('0'.repeat(35)), false);
  });
});

describe('curvePublicKey(secretKey)', () => {
  test('derives the public key that zeromq\'s curveKeyPair paired with the secret', () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey, secretKey } = curveKeyPair();
      assert.equal(curvePublicKey(secretKey), publicKey);
    }
  });

  test('differs for another secret', () => {
    const a = curveKeyPair();
    const b = curveKeyPair();
    assert.notEqual(curvePublicKey(b.secretKey), a.publicKey);
  });
});

describe('judgeZap(request, allowed)', () => {
  const beta = curveKeyPair();
  const other = curveKeyPair();
  const allowed = new Map([[beta.publicKey, 'beta']]);
  const request = (mechanism: string, credentials: Buffer[], domain = ZAP_DOMAIN, version = '1.0'): Buffer[] =>
    [...[version, '7', domain, '192.0.2.9', '', mechanism].map((s): Buffer => Buffer.from(s)), ...credentials];

  const cases: Case<Buffer[], { allowed: boolean; peer: string | null; key: string | null }>[] = [
    { description: 'a listed key', given: request('CURVE', [z85Decode(beta.publicKey)]), expect: { allowed: true, peer: 'beta', key: beta.publicKey } },
    { description: 'another key', given: request('CURVE', [z85Decode(other.publicKey)]), expect: { allowed: false, peer: null, key: other.publicKey } },
    { description: 'no CURVE (NULL mechanism)', given: request('NULL', []), expect: { allowed: false, peer: null, key: null } },
    { description: 'PLAIN credentials', given: request('PLAIN', [Buffer.from('beta'), Buffer.from('x')]), expect: { allowed: false, peer: null, key: null } },
    { description: 'a listed key in another domain', given: request('CURVE', [z85Decode(beta.publicKey)], 'other'), expect: { allowed: false, peer: null, key: beta.publicKey } },
    { description: 'a listed key, another ZAP version', given: request('CURVE', [z85Decode(beta.publicKey)], ZAP_DOMAIN, '2.0'), expect: { allowed: false, peer: null, key: beta.publicKey } },
    { description: 'a short credential', given: request('CURVE', [Buffer.alloc(31)]), expect: { allowed: false, peer: null, key: null } },
    { description: 'a truncated request', given: [Buffer.from('1.0')], expect: { allowed: false, peer: null, key: null } },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const v = judgeZap(c.given, allowed);
      assert.deepEqual({ allowed: v.allowed, peer: v.peer, key: v.key }, c.expect);
    });
  }

  test('reports the address', () => {
    assert.equal(judgeZap(request('CURVE', [z85Decode(other.publicKey)]), allowed).address, '192.0.2.9');
  });
});

describe('RefusalThrottle', () => {
  test('one line per key per window, at most maxLines in all; the next line counts what was left out', () => {
    const t = new RefusalThrottle(1000, 2);
    assert.equal(t.admit('a', 0), 0);
    for (let i = 1; i <= 50; i++) assert.equal(t.admit('a', i), null);
    assert.equal(t.admit('b', 60), 50, 'another key is logged, with the refusals left out before it');
    assert.equal(t.admit('c', 70), null, 'a third key in the window stays silent');
    assert.equal(t.admit('a', 1000), 1, 'a new window logs again');
    assert.equal(t.admit('a', 1001), null);
  });
});

describe('request seals (requestKey, sealRequest, openSeal, checkSeal)', () => {
  const a = curveKeyPair();
  const b = curveKeyPair();
  const c = curveKeyPair();
  const payload = Buffer.from('a request in a\'s name');
  const stamp = { epoch: 'e-a', counter: 1_700_000_000_000_123 };
  const checks = (key: Buffer, bytes: Buffer, seal: Buffer): boolean => {
    const opened = openSeal(seal);
    return opened !== null && checkSeal(key, bytes, opened);
  };
  test('the two nodes of a pair derive the same key, either way round; a third node another', () => {
    assert.deepEqual(requestKey(a.secretKey, b.publicKey), requestKey(b.secretKey, a.publicKey));
    assert.notDeepEqual(requestKey(c.secretKey, b.publicKey), requestKey(a.secretKey, b.publicKey));
    assert.equal(requestKey(a.secretKey, b.publicKey).length, 32);
  });
  test('a seal opens to its stamp, and checks under the pair\'s key only, for those bytes and that stamp only', () => {
    const key = requestKey(a.secretKey, b.publicKey);
    const seal = sealRequest(key, payload, stamp);
    assert.deepEqual(openSeal(seal)?.stamp, stamp);
    assert.equal(checks(requestKey(b.secretKey, a.publicKey), payload, seal), true);
    assert.equal(checks(requestKey(b.secretKey, c.publicKey), payload, seal), false, 'c\'s key with b');
    assert.equal(checks(key, Buffer.from('another request'), seal), false, 'other bytes');
    // The stamp is signed: another counter or epoch on the same signature does not check.
    const recounted = Buffer.from(seal);
    recounted.writeUInt8(recounted.readUInt8(recounted.length - 33) ^ 1, recounted.length - 33);
    assert.equal(openSeal(recounted)?.stamp.counter, stamp.counter - 1, 'the last counter bit flipped');
    assert.equal(checks(key, payload, recounted), false, 'another counter');
    const reepoched = Buffer.from(seal);
    reepoched[1] = 'f'.charCodeAt(0);
    assert.equal(checks(key, payload, reepoched), false, 'another epoch');
    // The stamp and the bytes are told apart: moving a byte from one to the other does not check.
    assert.equal(checks(key, Buffer.concat([Buffer.from([0]), payload]), sealRequest(key, payload, stamp)), false);
  });
  test('what is not a seal does not open', () => {
    const seal = sealRequest(requestKey(a.secretKey, b.publicKey), payload, stamp);
    assert.equal(openSeal(seal.subarray(0, seal.length - 1)), null, 'a truncated signature');
    assert.equal(openSeal(Buffer.alloc(0)), null, 'nothing');
    assert.equal(openSeal(Buffer.alloc(32)), null, 'a bare 32-byte signature (an older node\'s)');
    const huge = Buffer.from(seal);
    huge.writeBigUInt64BE(2n ** 63n, 1 + 3);
    assert.equal(openSeal(huge), null, 'a counter past 2^53');
  });
  test('bad key text, an epoch too long or a counter that is no count is a RangeError', () => {
    assert.throws(() => requestKey('short', b.publicKey), RangeError);
    const key = requestKey(a.secretKey, b.publicKey);
    assert.throws(() => sealRequest(key, payload, { epoch: 'e'.repeat(65), counter: 1 }), RangeError);
    assert.throws(() => sealRequest(key, payload, { epoch: 'e', counter: -1 }), RangeError);
    assert.throws(() => sealRequest(key, payload, { epoch: 'e', counter: 2 ** 53 }), RangeError);
  });
});
