import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_MAX_NAMED, checkState, checkUnknown, type CheckInput, type CheckResult } from '../../src/core/monitoring-check.js';
import type { Case } from '../helpers/table.js';

type File = CheckInput['files'][number];
const up = (name: string) => ({ name, connected: true });
const down = (name: string) => ({ name, connected: false });
const file = (name: string, peers: File['peers'], more: Partial<File> = {}): File => ({ name, status: 'aligned', error: null, peers, ...more });
const aligned = { status: 'aligned' };

describe('checkState(state)', () => {
  const cases: Case<CheckInput, CheckResult>[] = [
    {
      description: 'every file aligned with every peer: OK, counting both',
      given: { peers: [up('beta'), up('gamma')], files: ['a', 'b', 'c'].map((n) => file(n, { beta: aligned, gamma: aligned })) },
      expect: { exit: 0, line: 'OK: 3 files aligned with 2 peers' },
    },
    {
      description: 'one file, one peer: singular',
      given: { peers: [up('beta')], files: [file('app.conf', { beta: aligned })] },
      expect: { exit: 0, line: 'OK: 1 file aligned with 1 peer' },
    },
    {
      description: 'a pending file: WARNING naming file and peer',
      given: { peers: [up('beta')], files: [file('app.conf', { beta: { status: 'pending' } }, { status: 'pending' })] },
      expect: { exit: 1, line: 'WARNING: app.conf pending with beta' },
    },
    {
      description: 'a peer down: WARNING naming it, without repeating its unknown files',
      given: { peers: [down('beta')], files: [file('app.conf', { beta: { status: 'unknown' } }, { status: 'unknown' })] },
      expect: { exit: 1, line: 'WARNING: peer beta down' },
    },
    {
      description: 'a connected peer whose copy is not known yet: WARNING',
      given: { peers: [up('beta')], files: [file('app.conf', { beta: { status: 'unknown' } }, { status: 'unknown' })] },
      expect: { exit: 1, line: 'WARNING: app.conf unknown with beta' },
    },
    {
      description: 'a split-brain: CRITICAL, named before the warnings',
      given: {
        peers: [up('beta'), down('gamma')],
        files: [file('a.conf', { beta: { status: 'pending' }, gamma: { status: 'unknown' } }), file('b.conf', { beta: { status: 'split-brain' }, gamma: { status: 'split-brain' } })],
      },
      expect: { exit: 2, line: 'CRITICAL: b.conf split-brain with beta, gamma; peer gamma down; a.conf pending with beta' },
    },
    {
      description: 'a split-brain says which side changed since the last agreement, per peer',
      given: {
        peers: [up('beta'), up('gamma'), up('delta')],
        files: [file('c.conf', { beta: { status: 'split-brain', changed: ['alpha'] }, gamma: { status: 'split-brain', changed: ['alpha', 'gamma'] }, delta: { status: 'split-brain', changed: null } })],
      },
      expect: { exit: 2, line: 'CRITICAL: c.conf split-brain with beta, gamma, delta (beta: alpha changed; gamma: alpha and gamma changed; delta: no agreement on record)' },
    },
    {
      description: 'a split-brain with one peer: which side changed, without repeating the peer',
      given: { peers: [up('beta')], files: [file('d.conf', { beta: { status: 'split-brain', changed: ['alpha'] } })] },
      expect: { exit: 2, line: 'CRITICAL: d.conf split-brain with beta (alpha changed)' },
    },
    {
      description: 'missing here, and missing or unlisted on a peer',
      given: {
        peers: [up('beta'), up('gamma')],
        files: [file('gone.conf', { beta: { status: 'missing' }, gamma: { status: 'pending' } }, { status: 'missing' }), file('x.conf', { beta: { status: 'unlisted' }, gamma: aligned })],
      },
      expect: { exit: 1, line: 'WARNING: gone.conf missing here; gone.conf missing on beta; gone.conf pending with gamma; x.conf unlisted on beta' },
    },
    {
      description: 'missing here while the peer holds a copy: named once, as missing here (the peer is not missing it)',
      given: { peers: [up('beta')], files: [file('new.conf', { beta: { status: 'missing', md5: 'a00afb7c433b1a8fab592af77ed20eef' } }, { status: 'missing' })] },
      expect: { exit: 1, line: 'WARNING: new.conf missing here' },
    },
    {
      description: 'a status this version does not know is a warning, not OK',
      given: { peers: [up('beta')], files: [file('app.conf', { beta: { status: 'sideways' } })] },
      expect: { exit: 1, line: 'WARNING: app.conf sideways with beta' },
    },
    {
      description: "a file's own error and a peer's reported error are named, on one line",
      given: { peers: [up('beta')], files: [file('app.conf', { beta: { status: 'pending', error: 'validate refused\nexit 1' } }, { status: 'pending', error: 'EACCES: cannot read' })] },
      expect: { exit: 1, line: 'WARNING: app.conf: EACCES: cannot read; app.conf pending with beta (beta: validate refused exit 1)' },
    },
    {
      description: `more than ${CHECK_MAX_NAMED} problems: the first named, the rest counted`,
      given: { peers: [up('beta')], files: Array.from({ length: 11 }, (_, i) => file(`f${i}`, { beta: { status: 'pending' } })) },
      expect: { exit: 1, line: `WARNING: ${Array.from({ length: CHECK_MAX_NAMED }, (_, i) => `f${i} pending with beta`).join('; ')}; and 3 more` },
    },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(checkState(c.given), c.expect));
});

describe('checkUnknown(why)', () => {
  test('exit 3, one line', () => assert.deepEqual(checkUnknown('cannot reach\nthe API'), { exit: 3, line: 'UNKNOWN: cannot reach the API' }));
});
