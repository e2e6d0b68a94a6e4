import type { FileStatus, LocalFacts, Md5, PeerFileFacts, PeerStatus } from './types.js';

/**
 * Derives the contract's per-peer status from stored facts; never stored itself.
 * `connected` is whether the peer is in reach now; `journaled` whether the agreement on `local`
 * with it is on disk (what is shown aligned must survive a crash right after).
 */
export function peerStatus(local: Md5 | null, peer: PeerFileFacts, connected: boolean, journaled = true): PeerStatus {
  // A recorded split-brain outlives a disconnection: only agreement clears it.
  if (peer.splitBrain) return 'split-brain';
  // Out of reach, or never reached since start: its copy is not known.
  if (!connected || peer.md5 === undefined) return 'unknown';
  // The peer's digest map has no such name: nothing is replicated with it.
  if (peer.unlisted) return 'unlisted';
  // We sent a change that is not confirmed yet.
  if (peer.inFlight !== null) return 'pending';
  // One side has no copy (the peer's, or ours while the peer has one): nothing is on its way
  // until a change or a force; absence is not a version.
  if (peer.md5 === null || local === null) return 'missing';
  // Same bytes, the agreement not on disk yet: a moment more.
  if (peer.md5 === local) return journaled ? 'aligned' : 'pending';
  // Digests differ with nothing recorded: a change is on its way one way or the other.
  return 'pending';
}

const SEVERITY: readonly PeerStatus[] = ['split-brain', 'missing', 'unlisted', 'pending', 'unknown', 'aligned'];

/** The file's status: `missing` when absent here, else the worst of its peers' statuses. */
export function fileStatus(local: LocalFacts, peers: readonly PeerStatus[]): FileStatus {
  if (local.md5 === null) return 'missing';
  let worst = SEVERITY.length - 1;
  for (const status of peers) worst = Math.min(worst, SEVERITY.indexOf(status));
  return SEVERITY[worst] ?? 'aligned';
}
