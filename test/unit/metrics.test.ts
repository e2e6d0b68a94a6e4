import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DROP_REASONS, dropReason, type DropReason } from '../../src/node/metrics.js';
import type { Case } from '../helpers/table.js';

// The reasons decodeFrame gives (src/net/codec.ts, src/core/frame.ts): some name a peer, which
// must never become a label value (a forged frame would mint a series per made-up name).
describe('dropReason(reason): the label of entangled_frames_dropped_total', () => {
  const cases: Case<string, DropReason>[] = [
    { description: 'not msgpack at all', given: 'not msgpack', expect: 'malformed' },
    { description: 'a shape check', given: 'bad md5', expect: 'malformed' },
    { description: 'another protocol version', given: 'unsupported version', expect: 'malformed' },
    { description: 'an unknown kind', given: 'unknown kind', expect: 'malformed' },
    { description: 'not a map', given: 'not a map', expect: 'malformed' },
    { description: 'a sender other than the link, whatever its name', given: 'sender "mallory-1234" is not beta', expect: 'wrong_sender' },
    { description: 'a name this node does not list', given: 'name not listed here', expect: 'not_listed' },
    { description: 'content that does not hash to its md5', given: 'content does not match md5', expect: 'md5_mismatch' },
    { description: 'anything else', given: 'something new', expect: 'other' },
  ];
  for (const c of cases) test(c.description, () => assert.equal(dropReason(c.given), c.expect));
  test('every label it gives is one of DROP_REASONS', () => {
    for (const c of cases) assert.ok(DROP_REASONS.includes(dropReason(c.given)));
  });
});
