import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideDigest, decideHave, reportedError, shownError, type DigestFacts, type HaveFacts, type PeerError, type ReportDecision, type ReportedFacts } from '../../src/core/peer-report.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

const O: Md5 = '00000000000000000000000000000000';
const L: Md5 = '11111111111111111111111111111111';
const S: Md5 = '22222222222222222222222222222222';
const have = (over: Partial<HaveFacts>): HaveFacts => ({ local: L, inFlight: null, md5: L, re: null, conflict: null, failed: false, self: 'alpha', ...over });

describe('decideHave(facts)', () => {
  const cases: Case<HaveFacts, ReportDecision>[] = [
    { description: 'the ack of our change (re = in flight, same bytes): confirmed and agreed', given: have({ inFlight: L, re: L }), expect: { confirm: true, outcome: 'agree' } },
    { description: 'the peer holds our in-flight version unprompted: confirmed and agreed', given: have({ inFlight: L }), expect: { confirm: true, outcome: 'agree' } },
    { description: 'the peer answers our change but holds other bytes (it refused as stale): confirmed, nothing agreed', given: have({ inFlight: L, re: L, md5: S }), expect: { confirm: true, outcome: 'none' } },
    { description: 'the peer names us in a split-brain over our change: confirmed and split-brain', given: have({ inFlight: L, re: L, md5: S, conflict: 'alpha' }), expect: { confirm: true, outcome: 'split-brain' } },
    { description: 'a split-brain with another node: none of ours', given: have({ md5: S, conflict: 'gamma' }), expect: { confirm: false, outcome: 'none' } },
    { description: 'same bytes with nothing in flight: agreed', given: have({}), expect: { confirm: false, outcome: 'agree' } },
    { description: 'same bytes outweigh a conflict naming us (the peer converged since)', given: have({ conflict: 'alpha' }), expect: { confirm: false, outcome: 'agree' } },
    { description: 'an answer to an older change of ours: not a confirmation of the one in flight', given: have({ inFlight: L, re: O, md5: O }), expect: { confirm: false, outcome: 'none' } },
    { description: 'both absent is not agreement: absence is not a version', given: have({ local: null, md5: null }), expect: { confirm: false, outcome: 'none' } },
    { description: 'the peer deleted its copy: no agreement, no confirmation', given: have({ inFlight: L, md5: null }), expect: { confirm: false, outcome: 'none' } },
    { description: 'the peer could not write our change (an error, its old copy): still in flight, retransmitted', given: have({ inFlight: L, re: L, md5: O, failed: true }), expect: { confirm: false, outcome: 'none' } },
    { description: 'the peer refused our change in a split-brain, with an error: confirmed and split-brain', given: have({ inFlight: L, re: L, md5: O, conflict: 'alpha', failed: true }), expect: { confirm: true, outcome: 'split-brain' } },
    { description: 'an error about our change from a peer that holds it all the same: confirmed and agreed', given: have({ inFlight: L, re: L, md5: L, failed: true }), expect: { confirm: true, outcome: 'agree' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(decideHave(c.given), c.expect));
});

describe('decideDigest(facts)', () => {
  const cases: Case<DigestFacts, ReportDecision>[] = [
    { description: 'the peer holds our in-flight change: confirmed (its ack was lost) and agreed', given: { local: L, remote: L, inFlight: L }, expect: { confirm: true, outcome: 'agree' } },
    { description: 'same bytes, nothing in flight: agreed', given: { local: L, remote: L, inFlight: null }, expect: { confirm: false, outcome: 'agree' } },
    { description: 'the peer still holds the old version: our change is still pending', given: { local: L, remote: O, inFlight: L }, expect: { confirm: false, outcome: 'none' } },
    { description: 'the peer holds our in-flight version but we moved on since: confirmed, not agreed', given: { local: S, remote: L, inFlight: L }, expect: { confirm: true, outcome: 'none' } },
    { description: 'different bytes outside an exchange: no verdict (reconcile is the connect exchange\'s)', given: { local: L, remote: S, inFlight: null }, expect: { confirm: false, outcome: 'none' } },
    { description: 'both absent: nothing', given: { local: null, remote: null, inFlight: null }, expect: { confirm: false, outcome: 'none' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(decideDigest(c.given), c.expect));
});

describe('reportedError(facts)', () => {
  const E: PeerError = { md5: L, message: 'EPERM: cannot keep the owner' };
  const cases: Case<ReportedFacts, PeerError | null>[] = [
    { description: 'a have with an error about the change it answers: recorded', given: { prior: null, md5: O, re: L, error: E.message }, expect: E },
    { description: 'a new error replaces the one on record', given: { prior: E, md5: O, re: S, error: 'ENOSPC' }, expect: { md5: S, message: 'ENOSPC' } },
    { description: 'an answer to a change without an error (applied, or stale): cleared', given: { prior: E, md5: L, re: L, error: null }, expect: null },
    { description: 'an answer to another change without an error: cleared (it moved on)', given: { prior: E, md5: S, re: S }, expect: null },
    { description: 'the peer holds the version the error was about (its digest, an unprompted have): cleared', given: { prior: E, md5: L }, expect: null },
    { description: 'an unprompted report of another copy: the error stays', given: { prior: E, md5: O, re: null }, expect: E },
    { description: 'nothing said about its copy: the error stays', given: { prior: E }, expect: E },
    { description: 'an error without the change it answers is not recorded', given: { prior: null, md5: O, re: null, error: 'EPERM' }, expect: null },
    { description: 'nothing on record and nothing new: none', given: { prior: null, md5: O }, expect: null },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(reportedError(c.given), c.expect));
});

describe('shownError(local, peerMd5, error)', () => {
  const E: PeerError = { md5: L, message: 'validate refused' };
  const cases: Case<[Md5 | null, Md5 | null | undefined, PeerError | null], string | null>[] = [
    { description: 'about the version this node holds, the peer on another: shown', given: [L, O, E], expect: 'validate refused' },
    { description: 'while the peer\'s copy is not known (out of reach): shown', given: [L, undefined, E], expect: 'validate refused' },
    { description: 'the peer has no copy: shown', given: [L, null, E], expect: 'validate refused' },
    { description: 'the peer holds the version now: not shown', given: [L, L, E], expect: null },
    { description: 'about a version this node moved on from: not shown', given: [S, O, E], expect: null },
    { description: 'this node has no copy: not shown', given: [null, O, E], expect: null },
    { description: 'no error on record: none', given: [L, O, null], expect: null },
  ];
  for (const c of cases) test(c.description, () => assert.equal(shownError(...c.given), c.expect));
});
