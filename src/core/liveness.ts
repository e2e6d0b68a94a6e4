/**
 * Liveness judgements. Every time here is a monotonic clock reading in milliseconds (never the
 * wall clock: a step of it must not make a live peer look lost, nor a dead one look alive).
 */

/** How long this node's own timer went unserved, and what that means for its peers. */
export interface Stall {
  /** Time since the previous tick. */
  readonly ms: number;
  /** Late enough that the peers' silence meanwhile is not theirs to answer for. */
  readonly stalled: boolean;
  /** Long enough that the peers have declared this node lost: drop them too. */
  readonly away: boolean;
}

export interface StallFacts {
  readonly now: number;
  readonly lastTick: number;
  /** The heartbeat period: the tick's own interval. */
  readonly hbMs: number;
  readonly peerTimeoutMs: number;
}

/** Judges this node's own stall (a frozen process, a paused VM) from the gap between two ticks. */
export function judgeStall(f: StallFacts): Stall {
  const ms = Math.max(0, f.now - f.lastTick);
  // Over two periods late: the timer was not served, so nothing was read from the peers either.
  const stalled = ms > f.hbMs * 2;
  // Over half a timeout: the peers, which heard nothing meanwhile, may already have lost us.
  const away = ms > f.peerTimeoutMs / 2;
  return { ms, stalled, away };
}

export type PeerVerdict =
  | { readonly kind: 'live'; readonly lastSeen: number }
  | { readonly kind: 'lost'; readonly reason: 'stalled' | 'silent'; readonly silentMs: number };

export interface PeerLivenessFacts {
  readonly now: number;
  /** When the peer was last heard (monotonic); null when never. */
  readonly lastSeen: number | null;
  readonly stall: Stall;
  readonly peerTimeoutMs: number;
}

/** Judges one connected peer at a tick: still live (with the lastSeen to keep), or lost and why. */
export function judgePeer(f: PeerLivenessFacts): PeerVerdict {
  // This node was away: the peer lost it, so it loses the peer, and the digest exchange decides.
  if (f.stall.away) return { kind: 'lost', reason: 'stalled', silentMs: f.lastSeen === null ? 0 : f.now - f.lastSeen };
  // A short stall of ours: the peer's silence counts from now.
  const lastSeen = f.stall.stalled || f.lastSeen === null ? f.now : f.lastSeen;
  const silentMs = f.now - lastSeen;
  if (silentMs > f.peerTimeoutMs) return { kind: 'lost', reason: 'silent', silentMs };
  return { kind: 'live', lastSeen };
}

export interface RefreshFacts {
  readonly now: number;
  /** The digest sum the peer's heartbeat carries, and the one of its digests as we know them. */
  readonly sum: string;
  readonly knownSum: string;
  /** When the peer's digests were last fetched (monotonic). */
  readonly lastRefresh: number;
  readonly hbMs: number;
  /** A digest exchange is running, or the connect exchange is still owed. */
  readonly busy: boolean;
}

/** Whether a heartbeat calls for a refresh of the peer's digests (it drifted from what we know). */
export function shouldRefresh(f: RefreshFacts): boolean {
  // An exchange under way or owed brings the digests anyway.
  if (f.busy) return false;
  // What we know is what the peer has.
  if (f.sum === f.knownSum) return false;
  // A drift is often a change whose frame is still on its way: give it two periods first.
  return f.now - f.lastRefresh >= f.hbMs * 2;
}
