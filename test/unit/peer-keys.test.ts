import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { PeerKeyRing, ROUND_PAUSE_MS } from '../../src/net/peer-keys.js';
import type { Case } from '../helpers/table.js';

interface Line {
  level: number;
  msg: string;
  peer?: string;
  key?: string;
}

/** A ring over `keys` with a hand-moved clock, its log lines (with `peer`), switches and exhausted rounds. */
function ring(keys: readonly string[]) {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  const clock = { now: 0 };
  let exhausted = 0;
  const r = new PeerKeyRing(keys, pino({ level: 'debug' }, sink).child({ peer: 'beta' }), () => exhausted++, () => clock.now);
  const switches: string[] = [];
  r.onSwitch((k) => switches.push(k));
  return { r, lines, clock, switches, exhausted: () => exhausted };
}

// 40-character stand-ins: the ring only compares and prints keys.
const K1 = `k1${'1'.repeat(38)}`;
const K2 = `k2${'2'.repeat(38)}`;
const K3 = `k3${'3'.repeat(38)}`;

type Step = ['failed' | 'worked', string] | ['wait', number];

describe('PeerKeyRing: which listed key the peer\'s sockets expect', () => {
  const cases: Case<{ keys: string[]; steps: Step[] }, { current: string; switches: string[]; info: number; exhausted: number }>[] = [
    { description: 'starts with the first listed key', given: { keys: [K1, K2], steps: [] }, expect: { current: K1, switches: [], info: 0, exhausted: 0 } },
    { description: 'a failure moves to the next key, logged once at info', given: { keys: [K1, K2], steps: [['failed', K1]] }, expect: { current: K2, switches: [K2], info: 1, exhausted: 0 } },
    {
      description: 'a failure reported for a key already left is stale: no second switch',
      given: { keys: [K1, K2], steps: [['failed', K1], ['failed', K1]] },
      expect: { current: K2, switches: [K2], info: 1, exhausted: 0 },
    },
    {
      description: 'the key that worked is kept; after the peer changes key, round-robin wraps to the first',
      given: { keys: [K1, K2, K3], steps: [['failed', K1], ['failed', K2], ['worked', K3], ['failed', K3]] },
      expect: { current: K1, switches: [K2, K3, K1], info: 3, exhausted: 0 },
    },
    {
      description: 'a handshake that worked with another listed key brings it back',
      given: { keys: [K1, K2], steps: [['failed', K1], ['worked', K1]] },
      expect: { current: K1, switches: [K2, K1], info: 2, exhausted: 0 },
    },
    {
      description: 'a key that is not listed and works changes nothing',
      given: { keys: [K1, K2], steps: [['worked', K3]] },
      expect: { current: K1, switches: [], info: 0, exhausted: 0 },
    },
    {
      description: 'a single key never switches; each failed round is reported, paced',
      given: { keys: [K1], steps: [['failed', K1], ['failed', K1], ['wait', ROUND_PAUSE_MS], ['failed', K1]] },
      expect: { current: K1, switches: [], info: 0, exhausted: 2 },
    },
    {
      description: 'when every key failed, the ring pauses, then goes round again logging at debug',
      given: { keys: [K1, K2], steps: [['failed', K1], ['failed', K2], ['failed', K2], ['wait', ROUND_PAUSE_MS], ['failed', K2]] },
      expect: { current: K1, switches: [K2, K1], info: 1, exhausted: 1 },
    },
    {
      description: 'a success after a failed round makes switches info again',
      given: { keys: [K1, K2], steps: [['failed', K1], ['failed', K2], ['wait', ROUND_PAUSE_MS], ['failed', K2], ['worked', K1], ['failed', K1]] },
      expect: { current: K2, switches: [K2, K1, K2], info: 2, exhausted: 1 },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const t = ring(c.given.keys);
      for (const step of c.given.steps) {
        if (step[0] === 'wait') t.clock.now += step[1];
        else t.r[step[0]](step[1]);
      }
      assert.equal(t.r.current, c.expect.current);
      assert.deepEqual(t.switches, c.expect.switches);
      const info = t.lines.filter((l) => l.level === 30);
      assert.equal(info.length, c.expect.info, JSON.stringify(t.lines));
      for (const l of t.lines) assert.equal(l.peer, 'beta');
      assert.equal(t.exhausted(), c.expect.exhausted);
    });
  }

  test('a new list keeps the current key when it is still listed (no reconnect)', () => {
    const t = ring([K1, K2]);
    t.r.failed(K1);
    assert.equal(t.r.replace([K3, K2]), false);
    assert.equal(t.r.current, K2);
    assert.deepEqual(t.switches, [K2]);
    t.r.failed(K2);
    assert.equal(t.r.current, K3, 'the new list is the one tried');
  });

  test('a new list without the current key switches to its first key and tells the sockets', () => {
    const t = ring([K1, K2]);
    assert.equal(t.r.replace([K2, K3]), true);
    assert.equal(t.r.current, K2);
    assert.deepEqual(t.switches, [K2]);
    assert.ok(t.lines.some((l) => l.level === 30 && /no longer listed/.test(l.msg) && l.key === K2.slice(0, 8)));
    assert.throws(() => t.r.replace([]), RangeError);
  });

  test('a new list ends a paused round at once', () => {
    const t = ring([K1]);
    t.r.failed(K1);
    assert.equal(t.exhausted(), 1);
    t.r.replace([K1, K2]);
    t.r.failed(K1);
    assert.equal(t.r.current, K2);
  });
});
