import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { announceSnapshot, type Announcement, type SnapshotFacts } from '../../src/core/announce.js';
import type { Md5 } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

const O: Md5 = '00000000000000000000000000000000';
const L: Md5 = '11111111111111111111111111111111';

describe('announceSnapshot({known, fresh, wasPresent})', () => {
  const cases: Case<SnapshotFacts, Announcement>[] = [
    { description: 'the same bytes again (an echo of our write, a re-save): nothing', given: { known: O, fresh: O, wasPresent: true }, expect: { kind: 'none' } },
    { description: 'new bytes: published, naming the version they replace', given: { known: O, fresh: L, wasPresent: true }, expect: { kind: 'publish', prev: O, md5: L } },
    { description: 'a first version where none was known: published with prev null', given: { known: null, fresh: L, wasPresent: false }, expect: { kind: 'publish', prev: null, md5: L } },
    { description: 'deleted: announced once (peers keep their copies)', given: { known: O, fresh: null, wasPresent: true }, expect: { kind: 'deleted' } },
    { description: 'still absent: nothing more', given: { known: O, fresh: null, wasPresent: false }, expect: { kind: 'none' } },
    { description: 'back with the bytes it had: announced as held again, not as a change', given: { known: O, fresh: O, wasPresent: false }, expect: { kind: 'reappeared', md5: O } },
    { description: 'back with new bytes: a change chained to the version before the deletion', given: { known: O, fresh: L, wasPresent: false }, expect: { kind: 'publish', prev: O, md5: L } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(announceSnapshot(c.given), c.expect));
});
