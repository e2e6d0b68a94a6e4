import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHold, EMPTY_HOLD_MS, type HoldDecision, type ReadFacts } from '../../src/core/hold.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

// CONTRACT.md, "No torn version leaves a node"; STYLE.md habit 20.
const O: Md5 = '00000000000000000000000000000000';
const L: Md5 = '11111111111111111111111111111111';
const EMPTY: Md5 = 'd41d8cd98f00b204e9800998ecf8427e';
const T = 10_000;

/** A read at T of content `md5` (`size` bytes, identity `sig`), the known version O, nothing held, settleMs 0. */
const read = (over: Partial<ReadFacts> & { md5?: Md5; size?: number; sig?: string } = {}): ReadFacts => {
  const { md5 = L, size = 10, sig = 's1', ...rest } = over;
  return { known: O, fresh: { md5, size, sig }, moving: false, held: null, settleMs: 0, now: T, ...rest };
};
const emptyRead = (over: Partial<ReadFacts> & { sig?: string } = {}) => read({ md5: EMPTY, size: 0, ...over });

describe('decideHold: what a fresh local read may send', () => {
  const cases: Case<ReadFacts, HoldDecision>[] = [
    // The hot path.
    { description: 'new non-empty content, settleMs 0: announced at once', given: read(), expect: { kind: 'announce' } },
    { description: 'the known bytes again: announced (nothing to send)', given: read({ md5: O }), expect: { kind: 'announce' } },
    { description: 'absent: announced (a deletion is reported, not held)', given: read({ fresh: null }), expect: { kind: 'announce' } },
    // Torn reads.
    { description: 'a read the file changed under: read again', given: read({ moving: true }), expect: { kind: 'reread' } },
    { description: 'a moving read of the known bytes: read again all the same', given: read({ md5: O, moving: true }), expect: { kind: 'reread' } },
    { description: 'a moving read while a version is held: read again', given: emptyRead({ moving: true, held: { sig: 's1', since: T - 300 } }), expect: { kind: 'reread' } },
    // An empty file right after content (`cmd > file`).
    { description: 'content that becomes empty: held 250 ms from this first read', given: emptyRead(), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + EMPTY_HOLD_MS, why: 'empty' } },
    { description: 'still empty, same identity, 100 ms on: held until 250 ms after the first read', given: emptyRead({ now: T + 100, held: { sig: 's1', since: T } }), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + EMPTY_HOLD_MS, why: 'empty' } },
    { description: 'still empty, same identity, 250 ms on: announced (emptied on purpose)', given: emptyRead({ now: T + EMPTY_HOLD_MS, held: { sig: 's1', since: T } }), expect: { kind: 'announce' } },
    { description: 'empty again but truncated anew meanwhile (another identity): the 250 ms start over', given: emptyRead({ now: T + 300, sig: 's2', held: { sig: 's1', since: T } }), expect: { kind: 'hold', held: { sig: 's2', since: T + 300 }, until: T + 300 + EMPTY_HOLD_MS, why: 'empty' } },
    { description: 'the writer wrote while held: the new content is announced at once (settleMs 0)', given: read({ now: T + 50, sig: 's2', held: { sig: 's1', since: T } }), expect: { kind: 'announce' } },
    { description: 'the writer wrote back the known bytes (cat same > file): announced, nothing to send', given: read({ md5: O, now: T + 50, sig: 's2', held: { sig: 's1', since: T } }), expect: { kind: 'announce' } },
    { description: 'a file created empty where none was known (cmd > new): held too', given: emptyRead({ known: null }), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + EMPTY_HOLD_MS, why: 'empty' } },
    { description: 'empty, and empty was the known version: nothing to hold', given: emptyRead({ known: EMPTY }), expect: { kind: 'announce' } },
    { description: 'an empty file under a settleMs longer than 250 ms: held for settleMs', given: emptyRead({ settleMs: 1000 }), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + 1000, why: 'empty' } },
    { description: 'an empty file under a settleMs shorter than 250 ms: held 250 ms all the same', given: emptyRead({ settleMs: 100 }), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + EMPTY_HOLD_MS, why: 'empty' } },
    // settleMs: a change is sent once the file has been quiet that long.
    { description: 'settleMs 500, a first read of new content: held 500 ms', given: read({ settleMs: 500 }), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + 500, why: 'settle' } },
    { description: 'settleMs 500, the file grew meanwhile (another identity): quiet only from now', given: read({ settleMs: 500, now: T + 400, sig: 's2', held: { sig: 's1', since: T } }), expect: { kind: 'hold', held: { sig: 's2', since: T + 400 }, until: T + 900, why: 'settle' } },
    { description: 'settleMs 500, unchanged 499 ms on: still held', given: read({ settleMs: 500, now: T + 499, held: { sig: 's1', since: T } }), expect: { kind: 'hold', held: { sig: 's1', since: T }, until: T + 500, why: 'settle' } },
    { description: 'settleMs 500, unchanged 500 ms on: announced', given: read({ settleMs: 500, now: T + 500, held: { sig: 's1', since: T } }), expect: { kind: 'announce' } },
    { description: 'settleMs 500 and the known bytes: nothing to hold', given: read({ settleMs: 500, md5: O }), expect: { kind: 'announce' } },
    { description: 'settleMs lowered to 0 while a change was held (a reload): announced at the next read', given: read({ now: T + 10, held: { sig: 's1', since: T } }), expect: { kind: 'announce' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(decideHold(c.given), c.expect));
});
