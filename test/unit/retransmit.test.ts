import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { retransmitDue, stillOwed, type DueFacts, type OwedFacts } from '../../src/core/retransmit.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

const L: Md5 = '11111111111111111111111111111111';
const S: Md5 = '22222222222222222222222222222222';

describe('retransmitDue({inFlight, sentAt, now, hbMs})', () => {
  const cases: Case<DueFacts, boolean>[] = [
    { description: 'nothing in flight: nothing to send', given: { inFlight: null, sentAt: 0, now: 10_000, hbMs: 600 }, expect: false },
    { description: 'sent less than a period ago: the ack may still come', given: { inFlight: L, sentAt: 9_500, now: 10_000, hbMs: 600 }, expect: false },
    { description: 'sent exactly a period ago: due', given: { inFlight: L, sentAt: 9_400, now: 10_000, hbMs: 600 }, expect: true },
    { description: 'unconfirmed for long: due', given: { inFlight: L, sentAt: 0, now: 10_000, hbMs: 600 }, expect: true },
  ];
  for (const c of cases) test(c.description, () => assert.equal(retransmitDue(c.given), c.expect));
});

describe('stillOwed(facts)', () => {
  const base: OwedFacts = { want: L, inFlight: L, connected: true, epoch: 'e1', epochThen: 'e1' };
  const cases: Case<OwedFacts, boolean>[] = [
    { description: 'the same version unconfirmed to the same incarnation, not read yet: owed (read it)', given: base, expect: true },
    { description: 'confirmed meanwhile: not owed', given: { ...base, inFlight: null }, expect: false },
    { description: 'a newer change is in flight instead: not owed (the newer one is sent)', given: { ...base, inFlight: S }, expect: false },
    { description: 'the peer was lost meanwhile: nothing is queued for an absent peer', given: { ...base, connected: false }, expect: false },
    { description: 'the peer restarted meanwhile: the exchange decides', given: { ...base, epoch: 'e2' }, expect: false },
    { description: 'read: still our copy and our last publication: owed, send it', given: { ...base, local: L, lastSent: L }, expect: true },
    { description: 'read: our copy moved on (its own change goes out): not owed', given: { ...base, local: S, lastSent: L }, expect: false },
    { description: 'read: the file is gone: not owed', given: { ...base, local: null, lastSent: L }, expect: false },
    { description: 'read: the last publication was another version: not owed', given: { ...base, local: L, lastSent: S }, expect: false },
  ];
  for (const c of cases) test(c.description, () => assert.equal(stillOwed(c.given), c.expect));
});
