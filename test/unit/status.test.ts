import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileStatus, peerStatus } from '../../src/core/status.js';
import type { FileStatus, LocalFacts, Md5, PeerFileFacts, PeerStatus } from '../../src/core/types.js';
import type { Case } from '../helpers/table.js';

const A: Md5 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B: Md5 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';


const peer = (p: Partial<PeerFileFacts>): PeerFileFacts => ({ md5: A, inFlight: null, splitBrain: false, unlisted: false, splitTheirs: null, ...p });
const present: LocalFacts = { md5: A, size: 3, mtimeMs: 1_700_000_000_000 };
const absent: LocalFacts = { md5: null, size: 0, mtimeMs: 0 };

describe('peerStatus(local, peer, connected, journaled)', () => {
  const cases: Case<{ local: Md5 | null; peer: PeerFileFacts; connected: boolean; journaled?: boolean }, PeerStatus>[] = [
    {
      description: 'same digest, but the agreement is not on disk yet: pending (aligned must survive a crash)',
      given: { local: A, peer: peer({ md5: A }), connected: true, journaled: false },
      expect: 'pending',
    },
    {
      description: 'a split-brain not journaled is still split-brain',
      given: { local: A, peer: peer({ md5: B, splitBrain: true }), connected: true, journaled: false },
      expect: 'split-brain',
    },
    {
      description: 'a missing copy does not wait on the journal',
      given: { local: A, peer: peer({ md5: null }), connected: true, journaled: false },
      expect: 'missing',
    },
    {
      description: 'same digest, connected, nothing in flight: aligned',
      given: { local: A, peer: peer({ md5: A }), connected: true },
      expect: 'aligned',
    },
    {
      description: 'a recorded split-brain is split-brain while connected',
      given: { local: A, peer: peer({ md5: B, splitBrain: true }), connected: true },
      expect: 'split-brain',
    },
    {
      description: 'a recorded split-brain survives disconnection',
      given: { local: A, peer: peer({ md5: B, splitBrain: true }), connected: false },
      expect: 'split-brain',
    },
    {
      description: 'a recorded split-brain survives an unknown peer digest',
      given: { local: A, peer: peer({ md5: undefined, splitBrain: true }), connected: true },
      expect: 'split-brain',
    },
    {
      description: 'a recorded split-brain stays until cleared, even if digests now match',
      given: { local: A, peer: peer({ md5: A, splitBrain: true }), connected: true },
      expect: 'split-brain',
    },
    {
      description: 'disconnected: unknown even if the last digest matched',
      given: { local: A, peer: peer({ md5: A }), connected: false },
      expect: 'unknown',
    },
    {
      description: 'disconnected: unknown even with a change in flight',
      given: { local: A, peer: peer({ md5: B, inFlight: A }), connected: false },
      expect: 'unknown',
    },
    {
      description: 'disconnected: unknown even if the peer had no file',
      given: { local: A, peer: peer({ md5: null }), connected: false },
      expect: 'unknown',
    },
    {
      description: 'connected but never reached (md5 undefined): unknown',
      given: { local: A, peer: peer({ md5: undefined }), connected: true },
      expect: 'unknown',
    },
    {
      description: 'connected, md5 undefined and a change in flight: still unknown',
      given: { local: A, peer: peer({ md5: undefined, inFlight: A }), connected: true },
      expect: 'unknown',
    },
    {
      description: 'a change we sent is not confirmed yet: pending',
      given: { local: B, peer: peer({ md5: A, inFlight: B }), connected: true },
      expect: 'pending',
    },
    {
      description: 'in flight wins over a peer that has no file yet: pending',
      given: { local: B, peer: peer({ md5: null, inFlight: B }), connected: true },
      expect: 'pending',
    },
    {
      description: 'the peer has no such file: missing',
      given: { local: A, peer: peer({ md5: null }), connected: true },
      expect: 'missing',
    },
    {
      description: 'neither side has the file: missing',
      given: { local: null, peer: peer({ md5: null }), connected: true },
      expect: 'missing',
    },
    {
      description: 'digests differ with nothing recorded: pending',
      given: { local: A, peer: peer({ md5: B }), connected: true },
      expect: 'pending',
    },
    {
      description: 'absent here while the peer has it, nothing in flight: missing (nothing is on its way until a change or a force)',
      given: { local: null, peer: peer({ md5: B }), connected: true },
      expect: 'missing',
    },
    {
      description: 'absent here, the peer has it, and a change of ours is still unconfirmed: pending',
      given: { local: null, peer: peer({ md5: B, inFlight: A }), connected: true },
      expect: 'pending',
    },
    {
      description: 'the peer does not list the name: unlisted',
      given: { local: A, peer: peer({ md5: null, unlisted: true }), connected: true },
      expect: 'unlisted',
    },
    {
      description: 'unlisted wins over a change left in flight',
      given: { local: B, peer: peer({ md5: null, unlisted: true, inFlight: B }), connected: true },
      expect: 'unlisted',
    },
    {
      description: 'unlisted and absent here: unlisted (the file\'s own status says it is absent)',
      given: { local: null, peer: peer({ md5: null, unlisted: true }), connected: true },
      expect: 'unlisted',
    },
    {
      description: 'unlisted does not wait on the journal',
      given: { local: A, peer: peer({ md5: null, unlisted: true }), connected: true, journaled: false },
      expect: 'unlisted',
    },
    {
      description: 'unlisted and disconnected: unknown (what it lists now is not known)',
      given: { local: A, peer: peer({ md5: null, unlisted: true }), connected: false },
      expect: 'unknown',
    },
    {
      description: 'a recorded split-brain stays split-brain even if the peer no longer lists the name',
      given: { local: A, peer: peer({ md5: null, unlisted: true, splitBrain: true }), connected: true },
      expect: 'split-brain',
    },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.equal(peerStatus(c.given.local, c.given.peer, c.given.connected, c.given.journaled), c.expect);
    });
  }
});

describe('fileStatus(local, peers)', () => {
  const cases: Case<{ local: LocalFacts; peers: PeerStatus[] }, FileStatus>[] = [
    { description: 'absent here: missing, even if every peer is aligned', given: { local: absent, peers: ['aligned', 'aligned'] }, expect: 'missing' },
    { description: 'absent here: missing, even over a split-brain', given: { local: absent, peers: ['split-brain'] }, expect: 'missing' },
    { description: 'absent here and no peers: missing', given: { local: absent, peers: [] }, expect: 'missing' },
    { description: 'present, no peers: aligned', given: { local: present, peers: [] }, expect: 'aligned' },
    { description: 'every peer aligned: aligned', given: { local: present, peers: ['aligned', 'aligned'] }, expect: 'aligned' },
    { description: 'unknown is worse than aligned', given: { local: present, peers: ['aligned', 'unknown'] }, expect: 'unknown' },
    { description: 'pending is worse than unknown', given: { local: present, peers: ['unknown', 'pending'] }, expect: 'pending' },
    { description: 'missing is worse than pending', given: { local: present, peers: ['pending', 'missing'] }, expect: 'missing' },
    { description: 'split-brain is worse than missing', given: { local: present, peers: ['missing', 'split-brain'] }, expect: 'split-brain' },
    { description: 'unlisted is worse than pending', given: { local: present, peers: ['pending', 'unlisted'] }, expect: 'unlisted' },
    { description: 'missing is worse than unlisted', given: { local: present, peers: ['unlisted', 'missing'] }, expect: 'missing' },
    { description: 'absent here: missing, even when a peer does not list it', given: { local: absent, peers: ['unlisted'] }, expect: 'missing' },
    { description: 'split-brain first in the list still wins', given: { local: present, peers: ['split-brain', 'aligned', 'unknown'] }, expect: 'split-brain' },
    {
      description: 'every status at once: split-brain',
      given: { local: present, peers: ['aligned', 'unknown', 'pending', 'unlisted', 'missing', 'split-brain'] },
      expect: 'split-brain',
    },
    { description: 'a single peer status is passed through', given: { local: present, peers: ['pending'] }, expect: 'pending' },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.equal(fileStatus(c.given.local, c.given.peers), c.expect);
    });
  }

  // Exhaustive worst-of check over every ordered pair, in both list orders.
  const order: PeerStatus[] = ['split-brain', 'missing', 'unlisted', 'pending', 'unknown', 'aligned'];
  test('worst-of holds for every pair of peer statuses, in either order', () => {
    for (let i = 0; i < order.length; i++) {
      for (let j = 0; j < order.length; j++) {
        const a = order[i]!;
        const b = order[j]!;
        const worst = order[Math.min(i, j)]!;
        assert.equal(fileStatus(present, [a, b]), worst, `[${a}, ${b}]`);
      }
    }
  });
});
