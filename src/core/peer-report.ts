import type { Md5 } from './types.js';

/** What a peer's report of its copy means for one file. */
export interface ReportDecision {
  /** Our in-flight change to that peer is confirmed (no longer pending). */
  readonly confirm: boolean;
  /** agree: both hold the same bytes (journal it, clear a split-brain); split-brain: the peer says so. */
  readonly outcome: 'agree' | 'split-brain' | 'none';
}

export interface HaveFacts {
  /** This node's copy; null when absent. */
  readonly local: Md5 | null;
  /** Our change to that peer not confirmed yet. */
  readonly inFlight: Md5 | null;
  /** The frame: the peer's copy now, the change it answers, the node it is in split-brain with. */
  readonly md5: Md5 | null;
  readonly re: Md5 | null;
  readonly conflict: string | null;
  /** The frame carries an error: the peer could not write or take change `re`. */
  readonly failed: boolean;
  /** This node's name. */
  readonly self: string;
}

/** Decides what a `have` frame means: confirmation, agreement, or a split-brain the peer saw. */
export function decideHave(f: HaveFacts): ReportDecision {
  // The peer could not write our change (no split-brain): it is still owed, so it stays in
  // flight, is retransmitted every heartbeat, and the peer tries again until it lands.
  const owed = f.failed && f.conflict === null && f.md5 !== f.inFlight;
  // The peer answers our in-flight change (applied, refused, or already moved on) or holds it.
  const confirm = !owed && f.inFlight !== null && (f.re === f.inFlight || f.md5 === f.inFlight);
  // Same bytes on both sides, whatever path led there.
  if (f.md5 !== null && f.md5 === f.local) return { confirm, outcome: 'agree' };
  // The peer could not apply a change because both sides changed, and names us.
  if (f.conflict === f.self) return { confirm, outcome: 'split-brain' };
  return { confirm, outcome: 'none' };
}

export interface DigestFacts {
  readonly local: Md5 | null;
  /** The peer's digest from a refresh (not a connect exchange); null when it has no such file. */
  readonly remote: Md5 | null;
  readonly inFlight: Md5 | null;
}

/** Decides what a refreshed digest means (outside a connect exchange: no reconcile here). */
export function decideDigest(f: DigestFacts): ReportDecision {
  // The peer holds the change we sent: it arrived, whatever became of its ack.
  const confirm = f.inFlight !== null && f.remote === f.inFlight;
  if (f.remote !== null && f.remote === f.local) return { confirm, outcome: 'agree' };
  return { confirm, outcome: 'none' };
}

/** What a peer reported when it could not write or take version `md5` of a file. */
export interface PeerError {
  readonly md5: Md5;
  readonly message: string;
}

export interface ReportedFacts {
  /** The error on record for this peer's copy, if any. */
  readonly prior: PeerError | null;
  /** What the peer now says: its copy (undefined: not said), the change it answers, and its error about it. */
  readonly md5?: Md5 | null;
  readonly re?: Md5 | null;
  readonly error?: string | null;
}

/**
 * The error on record for a peer's copy after it reports again (a have frame, or its digest):
 * its new error about the change it answers; none once it answers a change without one or
 * holds the version the error was about; otherwise what was on record.
 */
export function reportedError(f: ReportedFacts): PeerError | null {
  // It could not write or take the change it answers: that is the error now.
  if (f.error && f.re) return { md5: f.re, message: f.error };
  // It answered a change without an error: applied, already held, or moved on.
  if (f.re) return null;
  // It holds the version the error was about.
  if (f.prior !== null && f.md5 === f.prior.md5) return null;
  return f.prior;
}

/**
 * The error shown on a peer's entry: what it reported about the version this node holds, until
 * it holds that version itself; null otherwise (about a version this node moved on from).
 */
export function shownError(local: Md5 | null, peerMd5: Md5 | null | undefined, error: PeerError | null): string | null {
  if (error === null || local === null || error.md5 !== local || peerMd5 === local) return null;
  return error.message;
}
