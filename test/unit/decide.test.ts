import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isSuperseded,
  rememberVersion,
  supersededVersions,
  decideIncoming,
  decideLocal,
  reconcileOnConnect,
  type ConnectDecision,
  type ConnectFacts,
  type IncomingDecision,
  type IncomingFacts,
  type LocalDecision,
} from '../../src/core/decide.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

// Shared fixtures: distinct, well-formed digests. O is the old common version; L and S are the
// local and the sender's divergent edits of it; S2 is the sender's next change on top of S.
const O: Md5 = '00000000000000000000000000000000';
const L: Md5 = '11111111111111111111111111111111';
const S: Md5 = '22222222222222222222222222222222';
const S2: Md5 = '33333333333333333333333333333333';
const X: Md5 = '44444444444444444444444444444444';


describe('decideLocal(known, fresh)', () => {
  const cases: Case<{ known: Md5 | null; fresh: Md5 | null }, LocalDecision>[] = [
    {
      description: 'a deleted file is never propagated',
      given: { known: O, fresh: null },
      expect: { kind: 'gone' },
    },
    {
      description: 'a file absent before and after is still gone, not a change',
      given: { known: null, fresh: null },
      expect: { kind: 'gone' },
    },
    {
      description: 'same bytes as the cached version (an echo of our own apply, a re-save) is unchanged',
      given: { known: O, fresh: O },
      expect: { kind: 'unchanged' },
    },
    {
      description: 'new bytes are published naming the version they replace',
      given: { known: O, fresh: L },
      expect: { kind: 'publish', prev: O, md5: L },
    },
    {
      description: 'a file that appears where none was known is published with prev null',
      given: { known: null, fresh: L },
      expect: { kind: 'publish', prev: null, md5: L },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.deepEqual(decideLocal(c.given.known, c.given.fresh), c.expect);
    });
  }
});

describe('decideIncoming(facts)', () => {
  const cases: Case<IncomingFacts, IncomingDecision>[] = [
    {
      description: 'already holding the new bytes: nothing to write',
      given: { local: S, prev: O, md5: S, peer: { md5: O, splitBrain: false } },
      expect: { kind: 'already' },
    },
    {
      description: 'already holding the new bytes wins even over a recorded split-brain',
      given: { local: S, prev: X, md5: S, peer: { md5: X, splitBrain: true } },
      expect: { kind: 'already' },
    },
    {
      description: 'absent here: the change creates the file',
      given: { local: null, prev: O, md5: S, peer: { md5: O, splitBrain: false } },
      expect: { kind: 'apply', reason: 'create' },
    },
    {
      description: 'absent here and the sender created it too (prev null): create',
      given: { local: null, prev: null, md5: S, peer: { md5: undefined, splitBrain: false } },
      expect: { kind: 'apply', reason: 'create' },
    },
    {
      description: 'our copy is exactly what the sender replaced: fast-forward',
      given: { local: O, prev: O, md5: S, peer: { md5: O, splitBrain: false } },
      expect: { kind: 'apply', reason: 'fast-forward' },
    },
    {
      description: 'fast-forward does not depend on what we knew of the sender',
      given: { local: O, prev: O, md5: S, peer: { md5: undefined, splitBrain: false } },
      expect: { kind: 'apply', reason: 'fast-forward' },
    },
    {
      description: 'we missed a frame of the sender\'s chain: our copy is in `also`, fast-forward',
      given: { local: O, prev: X, also: [O], md5: S, peer: { md5: O, splitBrain: false } },
      expect: { kind: 'apply', reason: 'fast-forward' },
    },
    {
      description: 'a late retransmission of bytes we held and moved on from: stale, no write',
      given: { local: L, prev: O, md5: S, history: [O, S], peer: { md5: O, splitBrain: false } },
      expect: { kind: 'stale' },
    },
    {
      description: 'a revert to one of our older versions on top of our current copy still applies',
      given: { local: L, prev: L, md5: S, history: [O, S], peer: { md5: L, splitBrain: false } },
      expect: { kind: 'apply', reason: 'fast-forward' },
    },
    {
      description: 'our copy is in neither prev nor `also`: split-brain, no write',
      given: { local: L, prev: X, also: [O], md5: S, peer: { md5: O, splitBrain: false } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'our copy differs from what the sender replaced: split-brain, no write',
      given: { local: L, prev: O, md5: S, peer: { md5: O, splitBrain: false } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'sender created the file (prev null) while we hold another version: split-brain',
      given: { local: L, prev: null, md5: S, peer: { md5: null, splitBrain: false } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'in split-brain, a new change on top of the sender side we know resolves it',
      given: { local: L, prev: S, md5: S2, peer: { md5: S, splitBrain: true } },
      expect: { kind: 'apply', reason: 'resolve' },
    },
    {
      description:
        'in split-brain, a concurrent change whose prev is the old common version must NOT apply',
      given: { local: L, prev: O, md5: S2, peer: { md5: S, splitBrain: true } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'in split-brain, a change whose prev is some other version must NOT apply',
      given: { local: L, prev: X, md5: S2, peer: { md5: S, splitBrain: true } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'in split-brain but the sender digest is not known: cannot prove it, split-brain',
      given: { local: L, prev: S, md5: S2, peer: { md5: undefined, splitBrain: true } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'in split-brain with a sender that had no file, prev null does not resolve',
      given: { local: L, prev: null, md5: S2, peer: { md5: null, splitBrain: true } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'prev equals the sender digest we know but no split-brain is recorded: split-brain',
      given: { local: L, prev: S, md5: S2, peer: { md5: S, splitBrain: false } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'in split-brain, a digest exchange already told us the result (S2): the change on top of the side the split-brain was found with (S) resolves it',
      given: { local: L, prev: S, md5: S2, peer: { md5: S2, splitBrain: true, splitTheirs: S } },
      expect: { kind: 'apply', reason: 'resolve' },
    },
    {
      description: 'in split-brain, the sender digest forgotten at a reconnect: the side the split-brain was found with still proves it',
      given: { local: L, prev: S, md5: S2, peer: { md5: undefined, splitBrain: true, splitTheirs: S } },
      expect: { kind: 'apply', reason: 'resolve' },
    },
    {
      description: 'in split-brain, a change whose prev is neither the sender digest we know nor its side of the split-brain must NOT apply',
      given: { local: L, prev: O, md5: S2, peer: { md5: S2, splitBrain: true, splitTheirs: S } },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'the side of a split-brain no longer recorded proves nothing: split-brain',
      given: { local: L, prev: S, md5: S2, peer: { md5: S2, splitBrain: false, splitTheirs: S } },
      expect: { kind: 'split-brain' },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.deepEqual(decideIncoming(c.given), c.expect);
    });
  }
});

describe('reconcileOnConnect(facts)', () => {
  const base: ConnectFacts = { local: O, remote: O, agreed: O, mode: 'manual', inFlight: false };
  const cases: Case<Partial<ConnectFacts>, ConnectDecision>[] = [
    {
      description: 'auto: our journal lost the last agreement (a crash before its save) but the peer\'s has it: only the peer changed since',
      given: { mode: 'auto', local: L, remote: S, agreed: O, peerAgreed: L },
      expect: { kind: 'take-theirs' },
    },
    {
      description: 'auto: the peer\'s journal lags ours: only the peer still holds what we agreed, it takes ours',
      given: { mode: 'auto', local: S, remote: L, agreed: L, peerAgreed: O },
      expect: { kind: 'keep-ours' },
    },
    {
      description: 'auto: each side holds a version agreed at some time (which was later cannot be told): split-brain',
      given: { mode: 'auto', local: L, remote: S, agreed: L, peerAgreed: S },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'auto: neither journal names either copy: split-brain',
      given: { mode: 'auto', local: L, remote: S, agreed: O, peerAgreed: X },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'manual: the peer\'s record changes nothing, it is still a split-brain',
      given: { mode: 'manual', local: L, remote: S, agreed: O, peerAgreed: L },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'manual: same digest on both sides is aligned',
      given: { local: O, remote: O },
      expect: { kind: 'aligned' },
    },
    {
      description: 'auto: same digest on both sides is aligned even if never agreed before',
      given: { mode: 'auto', local: S, remote: S, agreed: null },
      expect: { kind: 'aligned' },
    },
    {
      description: 'equal digests are aligned even while a change is in flight',
      given: { local: S, remote: S, inFlight: true },
      expect: { kind: 'aligned' },
    },
    {
      description: 'manual: digests differ while a change is in flight: pending, the frame decides',
      given: { local: L, remote: S, inFlight: true },
      expect: { kind: 'pending' },
    },
    {
      description: 'auto: digests differ while a change is in flight: pending, not take-theirs',
      given: { mode: 'auto', local: O, remote: S, agreed: O, inFlight: true },
      expect: { kind: 'pending' },
    },
    {
      description: 'absent here with a change in flight: pending',
      given: { local: null, remote: S, inFlight: true },
      expect: { kind: 'pending' },
    },
    {
      description: 'absent here, present there: missing (absence is not a version)',
      given: { local: null, remote: S },
      expect: { kind: 'missing' },
    },
    {
      description: 'present here, absent there: missing',
      given: { local: L, remote: null },
      expect: { kind: 'missing' },
    },
    {
      description: 'absent on both sides: missing, not aligned',
      given: { local: null, remote: null, agreed: null },
      expect: { kind: 'missing' },
    },
    {
      description: 'auto: absent here though we agreed before: still missing, deletions never propagate',
      given: { mode: 'auto', local: null, remote: O, agreed: O },
      expect: { kind: 'missing' },
    },
    {
      description: 'manual: both exist and differ: split-brain, even when only the peer changed',
      given: { mode: 'manual', local: O, remote: S, agreed: O },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'manual: both exist and differ, only we changed: still split-brain',
      given: { mode: 'manual', local: L, remote: O, agreed: O },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'auto: only the peer changed since the last agreement: take theirs',
      given: { mode: 'auto', local: O, remote: S, agreed: O },
      expect: { kind: 'take-theirs' },
    },
    {
      description: 'auto: only we changed since the last agreement: keep ours',
      given: { mode: 'auto', local: L, remote: O, agreed: O },
      expect: { kind: 'keep-ours' },
    },
    {
      description: 'auto: both changed since the last agreement: split-brain',
      given: { mode: 'auto', local: L, remote: S, agreed: O },
      expect: { kind: 'split-brain' },
    },
    {
      description: 'auto: never agreed (no journal entry): split-brain',
      given: { mode: 'auto', local: L, remote: S, agreed: null },
      expect: { kind: 'split-brain' },
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.deepEqual(reconcileOnConnect({ ...base, ...c.given }), c.expect);
    });
  }
});

describe('isSuperseded(local, change, waiting)', () => {
  const change = { from: 'beta', epoch: 'e1', prev: O, md5: S, also: [] as Md5[] };
  const next = { from: 'beta', epoch: 'e1', prev: S, md5: S2, also: [O] };
  const cases: Case<{ local: Md5 | null; waiting: (typeof next)[] }, boolean>[] = [
    { description: 'a queued next change that lists our copy replaces it', given: { local: O, waiting: [next] }, expect: true },
    { description: 'nothing queued: apply it', given: { local: O, waiting: [] }, expect: false },
    { description: 'the queued change does not list our copy: apply this one first', given: { local: L, waiting: [next] }, expect: false },
    { description: 'the queued change is from another incarnation', given: { local: O, waiting: [{ ...next, epoch: 'e2' }] }, expect: false },
    { description: 'the queued change is from another sender', given: { local: O, waiting: [{ ...next, from: 'gamma' }] }, expect: false },
    { description: 'the queued change does not chain to this one', given: { local: O, waiting: [{ ...next, prev: X }] }, expect: false },
    { description: 'the file is absent here: the first change creates it', given: { local: null, waiting: [next] }, expect: false },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.equal(isSuperseded(c.given.local, change, c.given.waiting), c.expect);
    });
  }
});

describe('supersededVersions(history, peersHold, prev, md5) and rememberVersion', () => {
  const cases: Case<{ history: Md5[]; held: Md5[]; prev: Md5 | null; md5: Md5 }, Md5[]>[] = [
    { description: 'the peer holds the version before prev: it is listed', given: { history: [O, L, S], held: [O], prev: L, md5: S }, expect: [O] },
    { description: 'the peer holds prev itself: nothing more to list', given: { history: [O, L, S], held: [L], prev: L, md5: S }, expect: [] },
    { description: 'a peer holding a version we never had adds nothing', given: { history: [O, L, S], held: [X], prev: L, md5: S }, expect: [] },
    { description: 'the oldest version any peer holds wins', given: { history: [O, X, L, S], held: [L, O], prev: L, md5: S }, expect: [O, X] },
    { description: 'no peer in reach: nothing listed', given: { history: [O, L, S], held: [], prev: L, md5: S }, expect: [] },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.deepEqual(supersededVersions(c.given.history, c.given.held, c.given.prev, c.given.md5), c.expect);
    });
  }
  test('rememberVersion keeps a bounded history without repeating the last version', () => {
    const h: Md5[] = [];
    for (const v of [O, O, L, S, X]) rememberVersion(h, v, 3);
    assert.deepEqual(h, [L, S, X]);
  });
});
