import { sidesChanged } from './changed-sides.js';
import type { Md5, PeerFileFacts, ReconcileMode } from './types.js';

/** What to do after re-hashing a local file. */
export type LocalDecision =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'publish'; readonly prev: Md5 | null; readonly md5: Md5 };

/**
 * Decides on a fresh local digest. `known` is the last version this node had (it survives a
 * deletion, so delete-then-recreate still chains to it); `fresh` is null when the file is absent.
 */
export function decideLocal(known: Md5 | null, fresh: Md5 | null): LocalDecision {
  // Deletions are never propagated.
  if (fresh === null) return { kind: 'gone' };
  // Same bytes as the last version we had or wrote: covers echoes of our own applies.
  if (fresh === known) return { kind: 'unchanged' };
  return { kind: 'publish', prev: known, md5: fresh };
}

/** What to do with a change a peer sent. */
export type IncomingDecision =
  | { readonly kind: 'already' }
  | { readonly kind: 'stale' }
  | { readonly kind: 'apply'; readonly reason: 'create' | 'fast-forward' | 'resolve' }
  | { readonly kind: 'split-brain' };

export interface IncomingFacts {
  /** md5 of this node's copy as just read from disk; null when absent. */
  readonly local: Md5 | null;
  /** The change: the sender's previous version and its new one. */
  readonly prev: Md5 | null;
  /**
   * Older versions of the sender's, each replaced since by `prev`, back to the oldest version
   * the sender knew a peer of its to hold: a receiver that missed a frame of a chain of quick
   * changes still recognises its copy as one the change supersedes.
   */
  readonly also?: readonly Md5[];
  readonly md5: Md5;
  /** What we know of the sender's copy of this file before this change (`splitTheirs`: none when not given). */
  readonly peer: Pick<PeerFileFacts, 'md5' | 'splitBrain'> & Partial<Pick<PeerFileFacts, 'splitTheirs'>>;
  /** Versions this node held before its current one (any order). */
  readonly history?: readonly Md5[];
}

/**
 * Decides whether a peer's change may replace the local copy. A change applies only when the
 * local copy is the version it replaces, when the file is absent here, or when it is a new
 * change on top of the sender's side of a recorded split-brain.
 */
export function decideIncoming(f: IncomingFacts): IncomingDecision {
  // Already holding those bytes: nothing to write, but it is agreement.
  if (f.local === f.md5) return { kind: 'already' };
  // Absent here: the peer's version creates it.
  if (f.local === null) return { kind: 'apply', reason: 'create' };
  // Our copy is exactly what the sender replaced: a plain fast-forward.
  if (f.local === f.prev) return { kind: 'apply', reason: 'fast-forward' };
  // Our copy is an earlier version of the sender's (we missed a frame of its chain): the sender
  // had our bytes and moved on from them, so nothing of ours is lost.
  if (f.also?.includes(f.local)) return { kind: 'apply', reason: 'fast-forward' };
  // In split-brain with the sender, and the sender changed its own side of it after we saw it
  // (its copy as we know it, or as it was when the split-brain was found: a digest exchange may
  // already have told us the result of a change whose frame we missed and now get again): a new
  // change made while in reach resolves the split-brain.
  if (f.peer.splitBrain && f.prev !== null && (f.prev === f.peer.md5 || f.prev === f.peer.splitTheirs)) {
    return { kind: 'apply', reason: 'resolve' };
  }
  // The change brings bytes we held before and moved on from (a late retransmission): the
  // sender is behind us, not beside us; our own change reaches it and fast-forwards it.
  if (f.history?.includes(f.md5)) return { kind: 'stale' };
  // Our copy differs from what the sender replaced: both sides changed.
  return { kind: 'split-brain' };
}

/** The outcome of comparing one file with a peer when the peer (re)appears. */
export type ConnectDecision =
  | { readonly kind: 'aligned' }
  | { readonly kind: 'pending' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'split-brain' }
  | { readonly kind: 'take-theirs' }
  | { readonly kind: 'keep-ours' };

export interface ConnectFacts {
  readonly local: Md5 | null;
  /** The peer's digest; null when it has no such file. */
  readonly remote: Md5 | null;
  /** The last md5 both sides agreed on (journal); null when never. */
  readonly agreed: Md5 | null;
  /**
   * The last agreement as the peer's journal has it (null when it has none or does not say): a
   * node killed before its own journal was saved learns it back from the peer.
   */
  readonly peerAgreed?: Md5 | null;
  readonly mode: ReconcileMode;
  /** A change of ours to that peer, or of the peer's to us, is still on its way. */
  readonly inFlight: boolean;
}

/**
 * Decides a file's fate when a peer (re)connects. Never writes on its own in `manual` mode; in
 * `auto` mode it fast-forwards the side that provably did not change since the last agreement.
 */
export function reconcileOnConnect(f: ConnectFacts): ConnectDecision {
  if (f.local !== null && f.local === f.remote) return { kind: 'aligned' };
  // A change is travelling: its frame or its retransmission decides, not the digests.
  if (f.inFlight) return { kind: 'pending' };
  // One side has no file: deletions are not propagated and absence is not a version.
  if (f.local === null || f.remote === null) return { kind: 'missing' };
  // Both copies exist and differ.
  if (f.mode === 'manual') return { kind: 'split-brain' };
  // auto: which side moved on from the versions either journal says the two agreed on (they
  // differ when one side's save was lost).
  const changed = sidesChanged(f);
  // auto: only our side still holds an agreed version, so only the peer changed.
  if (changed !== null && !changed.ours && changed.theirs === true) return { kind: 'take-theirs' };
  // auto: only the peer still holds an agreed version; it takes ours on its side.
  if (changed !== null && changed.ours && changed.theirs === false) return { kind: 'keep-ours' };
  // Both changed since the last agreement, they never agreed, or each holds a version agreed at
  // some time and which agreement is the later cannot be told.
  return { kind: 'split-brain' };
}

/** The parts of a change that decide whether a queued later one replaces it. */
export interface ChainLink {
  readonly from: string;
  readonly epoch: string;
  readonly prev: Md5 | null;
  readonly md5: Md5;
  readonly also: readonly Md5[];
}

/**
 * True when a change already waiting behind `change`, from the same sender and incarnation,
 * replaces it and still lists `local` among the versions it supersedes: writing `change` would
 * only produce a version that lives microseconds, and the later change applies on `local`.
 */
export function isSuperseded(local: Md5 | null, change: ChainLink, waiting: readonly ChainLink[]): boolean {
  // Nothing to skip to when the file is absent: the first change creates it.
  if (local === null) return false;
  return waiting.some((w) => w !== change && w.from === change.from && w.epoch === change.epoch && w.prev === change.md5 && w.also.includes(local));
}

/** Appends `md5` to a bounded history of versions held (oldest first), unless it is the last. */
export function rememberVersion(history: Md5[], md5: Md5, limit: number): void {
  if (history[history.length - 1] === md5) return;
  history.push(md5);
  if (history.length > limit) history.shift();
}

/**
 * The versions a change from `prev` to `md5` also supersedes (a frame's `also`): this node's
 * history from the oldest version any peer in reach is known to hold, when that version is one
 * of ours; without `prev` and `md5` themselves. A peer that missed frames of the chain still
 * recognises its copy.
 */
export function supersededVersions(history: readonly Md5[], peersHold: Iterable<Md5>, prev: Md5 | null, md5: Md5): Md5[] {
  let from = history.length;
  for (const held of peersHold) {
    const i = history.lastIndexOf(held);
    if (i >= 0 && i < from) from = i;
  }
  const out: Md5[] = [];
  for (let i = from; i < history.length; i++) {
    const v = history[i]!;
    if (v !== prev && v !== md5 && !out.includes(v)) out.push(v);
  }
  return out;
}
