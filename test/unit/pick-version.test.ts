import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isMd5Prefix, pickVersion, type Pick } from '../../src/core/pick-version.js';
import type { Case } from '../helpers/table.js';

// Kept versions, newest first: two share the prefix "ab12".
const NEW = { md5: 'ab12000000000000000000000000000a', size: 3 };
const MID = { md5: 'ab12ffffffffffffffffffffffffffff', size: 4 };
const OLD = { md5: '9f00000000000000000000000000000c', size: 5 };
const KEPT = [NEW, MID, OLD];

describe('pickVersion(kept, prefix)', () => {
  const cases: Case<{ kept: typeof KEPT; prefix: string | undefined }, Pick<(typeof KEPT)[number]>>[] = [
    { description: 'no prefix: the newest', given: { kept: KEPT, prefix: undefined }, expect: { kind: 'found', version: NEW } },
    { description: 'no prefix and nothing kept: none', given: { kept: [], prefix: undefined }, expect: { kind: 'none' } },
    { description: 'a whole md5', given: { kept: KEPT, prefix: MID.md5 }, expect: { kind: 'found', version: MID } },
    { description: 'the 10 characters status prints', given: { kept: KEPT, prefix: MID.md5.slice(0, 10) }, expect: { kind: 'found', version: MID } },
    { description: 'one character, when only one version starts with it', given: { kept: KEPT, prefix: '9' }, expect: { kind: 'found', version: OLD } },
    { description: 'upper case is the same digest', given: { kept: KEPT, prefix: '9F00' }, expect: { kind: 'found', version: OLD } },
    { description: 'a prefix two versions share: ambiguous, both named (newest first)', given: { kept: KEPT, prefix: 'ab12' }, expect: { kind: 'ambiguous', matches: [NEW, MID] } },
    { description: 'a prefix no version has: none', given: { kept: KEPT, prefix: 'ab13' }, expect: { kind: 'none' } },
    { description: 'a prefix, nothing kept: none', given: { kept: [], prefix: 'ab' }, expect: { kind: 'none' } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(pickVersion(c.given.kept, c.given.prefix), c.expect));
});

describe('isMd5Prefix(s)', () => {
  const cases: Case<string, boolean>[] = [
    { description: 'a whole md5', given: NEW.md5, expect: true },
    { description: 'one hex digit', given: 'a', expect: true },
    { description: 'upper case hex', given: 'AB12', expect: true },
    { description: 'empty', given: '', expect: false },
    { description: 'longer than an md5', given: `${NEW.md5}0`, expect: false },
    { description: 'not hex', given: 'xyz', expect: false },
  ];
  for (const c of cases) test(c.description, () => assert.equal(isMd5Prefix(c.given), c.expect));
});
