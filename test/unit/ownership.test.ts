import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeOwnership, otherWriter, unsafeMessage, type EntryFacts, type OwnershipVerdict, type Trusted, type WalkStep } from '../../src/core/ownership.js';
import type { Case } from '../helpers/table.js';

// CONTRACT.md, "Only files that no other user controls".
const ROOT_NODE: Trusted = { uid: 0, gid: 0 };
const NOBODY = 65534;

const folder = (p: string, over: Partial<EntryFacts> = {}): EntryFacts => ({ path: p, kind: 'folder', uid: 0, gid: 0, mode: 0o755, nlink: 2, ...over });
const file = (p: string, over: Partial<EntryFacts> = {}): EntryFacts => ({ path: p, kind: 'file', uid: 0, gid: 0, mode: 0o644, nlink: 1, ...over });
const link = (p: string, over: Partial<EntryFacts> = {}): EntryFacts => ({ path: p, kind: 'link', uid: 0, gid: 0, mode: 0o777, nlink: 1, ...over });

/** The steps of a walk through `entries`, each held by the folder before it (`/` first). */
function chain(...entries: (EntryFacts | { path: string; kind: 'absent' })[]): WalkStep[] {
  const steps: WalkStep[] = [];
  let holder: EntryFacts | null = null;
  for (const e of entries) {
    steps.push({ entry: e, holder });
    if (e.kind === 'folder') holder = e;
  }
  return steps;
}
const ROOT = folder('/');
const ETC = folder('/etc');
const SRV = folder('/srv');
const TMP = folder('/tmp', { mode: 0o1777 });

describe('judgeOwnership: may another user change where a listed path leads', () => {
  const cases: Case<{ steps: WalkStep[]; me?: Trusted }, OwnershipVerdict>[] = [
    { description: 'root-owned folders and file: safe', given: { steps: chain(ROOT, ETC, file('/etc/app.conf')) }, expect: { kind: 'safe' } },
    { description: 'an absent file in a root-owned folder: safe (created there)', given: { steps: chain(ROOT, ETC, { path: '/etc/app.conf', kind: 'absent' }) }, expect: { kind: 'safe' } },
    {
      description: 'the file\'s folder owned by nobody: its folder fails',
      given: { steps: chain(ROOT, SRV, folder('/srv/app', { uid: NOBODY }), file('/srv/app/app.conf')) },
      expect: { kind: 'unsafe', step: '/srv/app', what: 'folder', writer: { uid: NOBODY } },
    },
    {
      description: 'a folder further up owned by nobody: that folder fails, the first on the way',
      given: { steps: chain(ROOT, folder('/srv', { uid: NOBODY }), folder('/srv/app', { uid: NOBODY }), file('/srv/app/app.conf')) },
      expect: { kind: 'unsafe', step: '/srv', what: 'folder', writer: { uid: NOBODY } },
    },
    {
      description: 'a link in a folder nobody owns, to a root file in a root folder: the link\'s folder fails',
      given: { steps: [...chain(ROOT, SRV, folder('/srv/app', { uid: NOBODY }), link('/srv/app/app.conf')), { entry: ETC, holder: ROOT }, { entry: file('/etc/shadow', { mode: 0o600 }), holder: ETC }] },
      expect: { kind: 'unsafe', step: '/srv/app', what: 'folder', writer: { uid: NOBODY } },
    },
    {
      description: 'a link in a root folder to a file in a folder nobody owns: the target\'s folder fails',
      given: { steps: [...chain(ROOT, ETC, link('/etc/app.conf')), { entry: SRV, holder: ROOT }, { entry: folder('/srv/app', { uid: NOBODY }), holder: SRV }, { entry: file('/srv/app/real.conf'), holder: folder('/srv/app', { uid: NOBODY }) }] },
      expect: { kind: 'unsafe', step: '/srv/app', what: 'folder', writer: { uid: NOBODY } },
    },
    {
      description: 'a link owned by nobody in a root folder: safe (only the folder\'s writers may change a link)',
      given: { steps: [...chain(ROOT, ETC, link('/etc/app.conf', { uid: NOBODY })), { entry: file('/etc/real.conf'), holder: ETC }] },
      expect: { kind: 'safe' },
    },
    {
      description: 'the final file owned by nobody: the file fails (its owner writes its content)',
      given: { steps: chain(ROOT, ETC, file('/etc/app.conf', { uid: NOBODY })) },
      expect: { kind: 'unsafe', step: '/etc/app.conf', what: 'file', writer: { uid: NOBODY } },
    },
    { description: 'a world-writable file: fails', given: { steps: chain(ROOT, ETC, file('/etc/app.conf', { mode: 0o666 })) }, expect: { kind: 'unsafe', step: '/etc/app.conf', what: 'file', writer: 'everyone' } },
    { description: 'a group-writable folder of a user group: fails', given: { steps: chain(ROOT, folder('/etc', { gid: 50, mode: 0o775 }), file('/etc/app.conf')) }, expect: { kind: 'unsafe', step: '/etc', what: 'folder', writer: { gid: 50 } } },
    { description: 'a group-writable folder of root\'s group: safe', given: { steps: chain(ROOT, folder('/etc', { mode: 0o775 }), file('/etc/app.conf')) }, expect: { kind: 'safe' } },
    { description: 'a group-writable file of a user group: fails', given: { steps: chain(ROOT, ETC, file('/etc/app.conf', { gid: 50, mode: 0o664 })) }, expect: { kind: 'unsafe', step: '/etc/app.conf', what: 'file', writer: { gid: 50 } } },
    { description: 'a group-readable file of a user group: safe', given: { steps: chain(ROOT, ETC, file('/etc/app.conf', { gid: 50, mode: 0o640 })) }, expect: { kind: 'safe' } },
    // Sticky folders.
    { description: 'a root folder in sticky /tmp: safe', given: { steps: chain(ROOT, TMP, folder('/tmp/e', { mode: 0o700 }), file('/tmp/e/app.conf')) }, expect: { kind: 'safe' } },
    { description: 'a root file straight in sticky /tmp: safe', given: { steps: chain(ROOT, TMP, file('/tmp/app.conf')) }, expect: { kind: 'safe' } },
    { description: 'an absent file straight in sticky /tmp: safe (the rename replaces whatever appears)', given: { steps: chain(ROOT, TMP, { path: '/tmp/app.conf', kind: 'absent' }) }, expect: { kind: 'safe' } },
    { description: 'a folder of nobody\'s in sticky /tmp: fails at that folder', given: { steps: chain(ROOT, TMP, folder('/tmp/e', { uid: NOBODY }), file('/tmp/e/app.conf')) }, expect: { kind: 'unsafe', step: '/tmp', what: 'folder', writer: 'everyone' } },
    { description: 'a link of nobody\'s in sticky /tmp: fails at /tmp (nobody may retarget it)', given: { steps: [...chain(ROOT, TMP, link('/tmp/app.conf', { uid: NOBODY })), { entry: ETC, holder: ROOT }, { entry: file('/etc/shadow'), holder: ETC }] }, expect: { kind: 'unsafe', step: '/tmp', what: 'folder', writer: 'everyone' } },
    { description: 'a root file with a second hard link in sticky /tmp: fails (a hard link another user may have made)', given: { steps: chain(ROOT, TMP, file('/tmp/app.conf', { nlink: 2 })) }, expect: { kind: 'unsafe', step: '/tmp', what: 'folder', writer: 'everyone' } },
    { description: 'a world-writable folder, not sticky: fails', given: { steps: chain(ROOT, folder('/tmp', { mode: 0o777 }), folder('/tmp/e'), file('/tmp/e/app.conf')) }, expect: { kind: 'unsafe', step: '/tmp', what: 'folder', writer: 'everyone' } },
    { description: 'a sticky folder owned by nobody: fails (its owner may remove anything in it)', given: { steps: chain(ROOT, folder('/tmp', { uid: NOBODY, mode: 0o1777 }), file('/tmp/app.conf')) }, expect: { kind: 'unsafe', step: '/tmp', what: 'folder', writer: { uid: NOBODY } } },
    // The node's own user.
    {
      description: 'a node running as nobody: its own folder and file are safe',
      given: { steps: chain(ROOT, SRV, folder('/srv/app', { uid: NOBODY, gid: NOBODY, mode: 0o775 }), file('/srv/app/app.conf', { uid: NOBODY, gid: NOBODY })), me: { uid: NOBODY, gid: NOBODY } },
      expect: { kind: 'safe' },
    },
    {
      description: 'a node running as nobody: a folder of another user\'s fails',
      given: { steps: chain(ROOT, SRV, folder('/srv/app', { uid: 1000 }), file('/srv/app/app.conf', { uid: NOBODY })), me: { uid: NOBODY, gid: NOBODY } },
      expect: { kind: 'unsafe', step: '/srv/app', what: 'folder', writer: { uid: 1000 } },
    },
    { description: 'a FIFO owned by nobody in its place: fails as the file', given: { steps: chain(ROOT, ETC, { ...file('/etc/app.conf', { uid: NOBODY }), kind: 'other' }) }, expect: { kind: 'unsafe', step: '/etc/app.conf', what: 'file', writer: { uid: NOBODY } } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(judgeOwnership(c.given.steps, c.given.me ?? ROOT_NODE), c.expect));
});

describe('otherWriter', () => {
  const cases: Case<Pick<EntryFacts, 'uid' | 'gid' | 'mode'>, ReturnType<typeof otherWriter>>[] = [
    { description: 'root, 0755', given: { uid: 0, gid: 0, mode: 0o755 }, expect: null },
    { description: 'root, 0757', given: { uid: 0, gid: 0, mode: 0o757 }, expect: 'everyone' },
    { description: 'nobody, 0700: its owner', given: { uid: NOBODY, gid: 0, mode: 0o700 }, expect: { uid: NOBODY } },
    { description: 'root:50, 0770', given: { uid: 0, gid: 50, mode: 0o770 }, expect: { gid: 50 } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(otherWriter(c.given, ROOT_NODE), c.expect));
});

describe('unsafeMessage', () => {
  test('names the step, who may write it, and the fix', () => {
    const m = unsafeMessage('/srv/app/app.conf', { kind: 'unsafe', step: '/srv/app', what: 'folder', writer: { uid: NOBODY } }, { user: 'nobody', group: null });
    assert.equal(m, '/srv/app is writable by uid 65534 (nobody), so another user can change where /srv/app/app.conf leads; nothing is read from it or written to it until it is not (chown root /srv/app)');
  });
  test('a group and everyone', () => {
    assert.match(unsafeMessage('/etc/a', { kind: 'unsafe', step: '/etc/a', what: 'file', writer: { gid: 50 } }, { user: null, group: 'staff' }), /^\/etc\/a is writable by group gid 50 \(staff\), so another user controls the content of it;.*chmod go-w \/etc\/a\)$/);
    assert.match(unsafeMessage('/etc/a', { kind: 'unsafe', step: '/etc/real', what: 'file', writer: 'everyone' }, { user: null, group: null }), /^\/etc\/real is writable by everyone, so another user controls the content of \/etc\/a \(a link to it\);/);
  });
});
