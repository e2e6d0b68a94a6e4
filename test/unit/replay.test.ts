import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { admitRequest, firstCounter, REPLAY_WINDOW, type ReplayState, type ReplayVerdict, type RequestStamp } from '../../src/core/replay.js';
import type { Case } from '../helpers/table.js';

const RUN = 'e-alpha';
/** A run seen for a while: its window reaches REPLAY_WINDOW below `highest` (or `floor`, when given). */
const at = (highest: number, below: number[] = [], epoch = RUN, floor = highest - REPLAY_WINDOW): ReplayState => ({ epoch, highest, floor, below });
/** A run just seen for the first time at `counter`. */
const first = (counter: number, epoch = RUN): ReplayState => ({ epoch, highest: counter, floor: counter, below: [] });
const stamp = (counter: number, epoch = RUN): RequestStamp => ({ epoch, counter });
const taken = (state: ReplayState): ReplayVerdict => ({ accept: true, state });

describe('admitRequest(state, stamp)', () => {
  const cases: Case<{ state: ReplayState | null; stamp: RequestStamp }, ReplayVerdict>[] = [
    { description: 'nothing seen from the peer (this node just started): its request is taken', given: { state: null, stamp: stamp(7) }, expect: taken(first(7)) },
    { description: 'just after the first request taken, one sent before it (never seen here): refused, a replay cannot be told from it', given: { state: first(7), stamp: stamp(6) }, expect: { accept: false, reason: 'too old' } },
    { description: 'the next after the first: taken; the window reaches down to the first (which is refused as too old, not remembered)', given: { state: first(7), stamp: stamp(8) }, expect: taken(at(8, [], RUN, 7)) },
    { description: 'the window grows from the first request until it is REPLAY_WINDOW wide', given: { state: at(8, [], RUN, 7), stamp: stamp(7 + 2 * REPLAY_WINDOW) }, expect: taken(at(7 + 2 * REPLAY_WINDOW)) },
    { description: 'the next counter of the same run: taken, the last one is remembered below', given: { state: at(10), stamp: stamp(11) }, expect: taken(at(11, [10])) },
    { description: 'a gap (requests to this peer were skipped): taken', given: { state: at(10), stamp: stamp(15) }, expect: taken(at(15, [10])) },
    { description: 'the same request again: refused', given: { state: at(10, [9]), stamp: stamp(10) }, expect: { accept: false, reason: 'replayed' } },
    { description: 'an earlier request again, within the window: refused', given: { state: at(10, [8, 9]), stamp: stamp(9) }, expect: { accept: false, reason: 'replayed' } },
    { description: 'a request of this run read late, never seen, within the window: taken', given: { state: at(10, [8]), stamp: stamp(9) }, expect: taken(at(10, [8, 9])) },
    { description: 'a request at the window\'s bottom edge: refused as too old', given: { state: at(100), stamp: stamp(100 - REPLAY_WINDOW) }, expect: { accept: false, reason: 'too old' } },
    { description: 'just inside the window: taken', given: { state: at(100), stamp: stamp(101 - REPLAY_WINDOW) }, expect: taken(at(100, [101 - REPLAY_WINDOW])) },
    { description: 'the window slides: counters that fall out of it are forgotten', given: { state: at(100, [40, 90]), stamp: stamp(150) }, expect: taken(at(150, [90, 100])) },
    { description: 'a new run counting higher (the requester restarted): taken, the old run forgotten', given: { state: at(10, [9]), stamp: stamp(5000, 'e-alpha-2') }, expect: taken(first(5000, 'e-alpha-2')) },
    { description: 'an earlier run\'s request after a later run was seen: refused', given: { state: at(5000, [], 'e-alpha-2'), stamp: stamp(10) }, expect: { accept: false, reason: 'earlier run' } },
    { description: 'another run at the very counter seen: refused as an earlier run', given: { state: at(5000, [], 'e-alpha-2'), stamp: stamp(5000) }, expect: { accept: false, reason: 'earlier run' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(admitRequest(c.given.state, c.given.stamp), c.expect));

  test('a run started a millisecond later counts above a thousand requests of the earlier one', () => {
    const earlier = firstCounter(1_700_000_000_000);
    const later = firstCounter(1_700_000_000_001);
    assert.ok(later > earlier + 999);
    assert.ok(Number.isSafeInteger(firstCounter(Date.UTC(2200, 0, 1))), 'counters stay exact for a long while');
  });

  test('a run replayed in full, in order, after its requests were taken: every one refused', () => {
    let state: ReplayState | null = null;
    const sent = Array.from({ length: 200 }, (_, i) => stamp(1000 + i));
    for (const s of sent) {
      const v = admitRequest(state, s);
      assert.equal(v.accept, true);
      if (v.accept) state = v.state;
    }
    for (const s of sent) assert.equal(admitRequest(state, s).accept, false, `counter ${s.counter} taken twice`);
  });
});
