import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideDigest, decideHave, type DigestFacts, type HaveFacts, type ReportDecision } from '../../src/core/peer-report.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

const O: Md5 = '00000000000000000000000000000000';
const L: Md5 = '11111111111111111111111111111111';
const S: Md5 = '22222222222222222222222222222222';
const have = (over: Partial<HaveFacts>): HaveFacts => ({ local: L, inFlight: null, md5: L, re: null, conflict: null, self: 'alpha', ...over });

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
