import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_MAX_BYTES, lackOfRoom, overMaxBytes, parseFileMode, type NoRoom, type RoomNeed } from '../../src/core/limits.js';
import type { Case } from '../helpers/table.js';

// CONTRACT.md, Replication behaviour: "maxBytes (top-level and per file, default 1 GiB) caps a
// file's size …, and a peer never pulls a version its filesystem has no room for, together with
// its backup"; createMode (configuration).

describe('overMaxBytes: a version against the cap', () => {
  const cases: Case<{ size: number; maxBytes: number }, string | null>[] = [
    { description: 'an empty file', given: { size: 0, maxBytes: 1 }, expect: null },
    { description: 'exactly the cap', given: { size: 100, maxBytes: 100 }, expect: null },
    { description: 'one byte over', given: { size: 101, maxBytes: 100 }, expect: '101 bytes, over maxBytes (100)' },
    { description: 'a 2 GiB sparse file under the default', given: { size: 2 * 1024 ** 3, maxBytes: DEFAULT_MAX_BYTES }, expect: '2147483648 bytes, over maxBytes (1073741824)' },
    { description: '1 GiB under the default', given: { size: 1024 ** 3, maxBytes: DEFAULT_MAX_BYTES }, expect: null },
  ];
  for (const c of cases) test(c.description, () => assert.equal(overMaxBytes(c.given.size, c.given.maxBytes), c.expect));
});

describe('lackOfRoom: a pull and its backup copy against the free space', () => {
  const fs = (bavail: number, bsize = 4096) => ({ bavail, bsize });
  const cases: Case<RoomNeed, NoRoom | null>[] = [
    { description: 'room to spare, no backup copy (a hard link or nothing to keep)', given: { size: 10_000, target: fs(100), backup: null }, expect: null },
    { description: 'exactly the blocks needed', given: { size: 8192, target: fs(2), backup: null }, expect: null },
    { description: 'one byte into a block that is not free', given: { size: 8193, target: fs(2), backup: null }, expect: { where: 'target', need: 8193, free: 8192 } },
    { description: 'a full filesystem', given: { size: 1, target: fs(0), backup: null }, expect: { where: 'target', need: 1, free: 0 } },
    { description: 'an empty version always fits', given: { size: 0, target: fs(0), backup: null }, expect: null },
    { description: 'the version fits, its backup copy too', given: { size: 4096, target: fs(1), backup: { size: 4096, room: fs(1) } }, expect: null },
    { description: 'the version fits, the backup copy does not', given: { size: 4096, target: fs(10), backup: { size: 4097, room: fs(1) } }, expect: { where: 'backup', need: 4097, free: 4096 } },
    { description: 'neither fits: the version is named first', given: { size: 9000, target: fs(1), backup: { size: 9000, room: fs(1) } }, expect: { where: 'target', need: 9000, free: 4096 } },
    { description: 'blocks of another size on the backups\' filesystem', given: { size: 1, target: fs(1), backup: { size: 1024, room: fs(1, 1024) } }, expect: null },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(lackOfRoom(c.given), c.expect));
});

describe('parseFileMode: createMode as written', () => {
  const cases: Case<string, number | null>[] = [
    { description: 'four digits', given: '0600', expect: 0o600 },
    { description: 'three digits', given: '640', expect: 0o640 },
    { description: 'the default', given: '0644', expect: 0o644 },
    { description: 'all permission bits', given: '0777', expect: 0o777 },
    { description: 'no bits at all', given: '000', expect: 0 },
    { description: 'a set-uid bit: refused', given: '4755', expect: null },
    { description: 'the sticky bit: refused', given: '1644', expect: null },
    { description: 'a digit that is not octal', given: '0680', expect: null },
    { description: 'two digits', given: '60', expect: null },
    { description: 'five digits', given: '00600', expect: null },
    { description: 'a 0o prefix', given: '0o600', expect: null },
    { description: 'symbolic', given: 'u=rw', expect: null },
    { description: 'spaces around it', given: ' 600', expect: null },
  ];
  for (const c of cases) test(c.description, () => assert.equal(parseFileMode(c.given), c.expect));
});
