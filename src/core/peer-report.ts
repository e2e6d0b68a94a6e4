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
  /** This node's name. */
  readonly self: string;
}

/** Decides what a `have` frame means: confirmation, agreement, or a split-brain the peer saw. */
export function decideHave(f: HaveFacts): ReportDecision {
  // The peer answers our in-flight change (applied, refused, or already moved on) or holds it.
  const confirm = f.inFlight !== null && (f.re === f.inFlight || f.md5 === f.inFlight);
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
