import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptFrame, type FrameAcceptFacts, type FrameVerdict } from '../../src/core/frame-accept.js';
import type { Case } from '../helpers/table.js';

const SELF = { node: 'alpha', epoch: 'e-alpha' };
const LIVE = { connected: true, epoch: 'e-beta', needsConnectExchange: false };
const change = (over: Partial<FrameAcceptFacts> = {}): FrameAcceptFacts => ({ kind: 'change', epoch: 'e-beta', to: { alpha: 'e-alpha' }, link: LIVE, self: SELF, ...over });

describe('acceptFrame(facts)', () => {
  const cases: Case<FrameAcceptFacts, FrameVerdict>[] = [
    { description: 'a heartbeat is always heard, even from a peer not in reach', given: { kind: 'hb', epoch: 'e-new', link: { connected: false, epoch: null, needsConnectExchange: false }, self: SELF }, expect: { kind: 'heartbeat' } },
    { description: 'a change from the live incarnation, addressed to ours: accepted', given: change(), expect: { kind: 'accept' } },
    { description: 'a have from the live incarnation: accepted (it carries no addressees)', given: { kind: 'have', epoch: 'e-beta', link: LIVE, self: SELF }, expect: { kind: 'accept' } },
    { description: 'from a peer not in reach: dropped', given: change({ link: { ...LIVE, connected: false } }), expect: { kind: 'drop', reason: 'out of reach' } },
    { description: 'a have from a peer not in reach: dropped', given: { kind: 'have', epoch: 'e-beta', link: { ...LIVE, connected: false }, self: SELF }, expect: { kind: 'drop', reason: 'out of reach' } },
    { description: 'from another incarnation of the sender (it restarted): dropped', given: change({ epoch: 'e-beta-old' }), expect: { kind: 'drop', reason: 'out of reach' } },
    { description: 'before the connect exchange is done: dropped, the exchange decides', given: change({ link: { ...LIVE, needsConnectExchange: true } }), expect: { kind: 'drop', reason: 'out of reach' } },
    { description: 'a change not addressed to this node: dropped', given: change({ to: { gamma: 'e-gamma' } }), expect: { kind: 'drop', reason: 'not addressed' } },
    { description: 'a change addressed to an older incarnation of this node: dropped', given: change({ to: { alpha: 'e-alpha-old' } }), expect: { kind: 'drop', reason: 'not addressed' } },
    { description: 'a change without addressees: dropped', given: change({ to: undefined }), expect: { kind: 'drop', reason: 'not addressed' } },
    { description: 'an addressee inherited from the prototype is no addressee', given: change({ to: Object.create({ alpha: 'e-alpha' }) as Record<string, string> }), expect: { kind: 'drop', reason: 'not addressed' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(acceptFrame(c.given), c.expect));
});
