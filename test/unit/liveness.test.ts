import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { judgePeer, judgeStall, shouldRefresh, type PeerLivenessFacts, type PeerVerdict, type RefreshFacts, type Stall, type StallFacts } from '../../src/core/liveness.js';
import type { Case } from '../helpers/table.js';

// peerTimeoutMs 3000, heartbeat every 600 ms (the node's own ratio: five per timeout).
const T = 3000;
const HB = 600;
const ON_TIME: Stall = { ms: HB, stalled: false, away: false };
const LATE: Stall = { ms: 1400, stalled: true, away: false };
const AWAY: Stall = { ms: 3600_000, stalled: true, away: true };

describe('judgeStall({now, lastTick, hbMs, peerTimeoutMs})', () => {
  const cases: Case<StallFacts, Stall>[] = [
    { description: 'a tick on time is no stall', given: { now: 10_600, lastTick: 10_000, hbMs: HB, peerTimeoutMs: T }, expect: { ms: 600, stalled: false, away: false } },
    { description: 'exactly two periods late is still no stall', given: { now: 11_200, lastTick: 10_000, hbMs: HB, peerTimeoutMs: T }, expect: { ms: 1200, stalled: false, away: false } },
    { description: 'over two periods late: stalled, the peers are excused', given: { now: 11_201, lastTick: 10_000, hbMs: HB, peerTimeoutMs: T }, expect: { ms: 1201, stalled: true, away: false } },
    { description: 'exactly half a timeout: stalled, not away', given: { now: 11_500, lastTick: 10_000, hbMs: HB, peerTimeoutMs: T }, expect: { ms: 1500, stalled: true, away: false } },
    { description: 'over half a timeout: away, the peers may have lost us', given: { now: 11_501, lastTick: 10_000, hbMs: HB, peerTimeoutMs: T }, expect: { ms: 1501, stalled: true, away: true } },
    { description: 'a clock reading behind the last tick counts as no time (never negative)', given: { now: 9_000, lastTick: 10_000, hbMs: HB, peerTimeoutMs: T }, expect: { ms: 0, stalled: false, away: false } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(judgeStall(c.given), c.expect));
});

describe('judgePeer({now, lastSeen, stall, peerTimeoutMs})', () => {
  const cases: Case<PeerLivenessFacts, PeerVerdict>[] = [
    { description: 'heard a moment ago: live, lastSeen kept', given: { now: 10_000, lastSeen: 9_500, stall: ON_TIME, peerTimeoutMs: T }, expect: { kind: 'live', lastSeen: 9_500 } },
    { description: 'silent exactly the timeout: still live', given: { now: 10_000, lastSeen: 7_000, stall: ON_TIME, peerTimeoutMs: T }, expect: { kind: 'live', lastSeen: 7_000 } },
    { description: 'silent past the timeout: lost, silent', given: { now: 10_000, lastSeen: 6_999, stall: ON_TIME, peerTimeoutMs: T }, expect: { kind: 'lost', reason: 'silent', silentMs: 3_001 } },
    { description: 'a short stall of ours: the silence counts from now', given: { now: 10_000, lastSeen: 5_000, stall: LATE, peerTimeoutMs: T }, expect: { kind: 'live', lastSeen: 10_000 } },
    { description: 'this node was away: lost, stalled, however recently heard', given: { now: 10_000, lastSeen: 9_900, stall: AWAY, peerTimeoutMs: T }, expect: { kind: 'lost', reason: 'stalled', silentMs: 100 } },
    { description: 'connected but never heard: its silence counts from now', given: { now: 10_000, lastSeen: null, stall: ON_TIME, peerTimeoutMs: T }, expect: { kind: 'live', lastSeen: 10_000 } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(judgePeer(c.given), c.expect));
});

describe('shouldRefresh({now, sum, knownSum, lastRefresh, hbMs, busy})', () => {
  const base: RefreshFacts = { now: 10_000, sum: 'a', knownSum: 'b', lastRefresh: 8_000, hbMs: HB, busy: false };
  const cases: Case<RefreshFacts, boolean>[] = [
    { description: 'the sums differ and the last refresh is two periods old: refresh', given: base, expect: true },
    { description: 'the sums agree: nothing to refresh', given: { ...base, knownSum: 'a' }, expect: false },
    { description: 'an exchange is running or owed: it brings the digests', given: { ...base, busy: true }, expect: false },
    { description: 'refreshed less than two periods ago: give the frames in flight a chance', given: { ...base, lastRefresh: 8_801 }, expect: false },
    { description: 'refreshed exactly two periods ago: refresh', given: { ...base, lastRefresh: 8_800 }, expect: true },
    { description: 'never refreshed: refresh', given: { ...base, lastRefresh: Number.NEGATIVE_INFINITY }, expect: true },
  ];
  for (const c of cases) test(c.description, () => assert.equal(shouldRefresh(c.given), c.expect));
});
