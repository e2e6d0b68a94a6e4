import type { Md5 } from './types.js';

export interface DueFacts {
  /** Our change to the peer not confirmed yet, and when it was last sent (monotonic ms). */
  readonly inFlight: Md5 | null;
  readonly sentAt: number;
  readonly now: number;
  /** The heartbeat period: an ack normally comes well within it. */
  readonly hbMs: number;
}

/** Whether an unconfirmed change is due to be sent again. */
export function retransmitDue(f: DueFacts): boolean {
  return f.inFlight !== null && f.now - f.sentAt >= f.hbMs;
}

export interface OwedFacts {
  /** The version the retransmission was scheduled for. */
  readonly want: Md5;
  /** What is in flight to the peer now. */
  readonly inFlight: Md5 | null;
  readonly connected: boolean;
  /** The peer's incarnation now, and when the retransmission was scheduled. */
  readonly epoch: string | null;
  readonly epochThen: string | null;
  /** After the re-read: our copy now (undefined when not read yet, null when absent), and the last change we published. */
  readonly local?: Md5 | null;
  readonly lastSent?: Md5 | null;
}

/**
 * Whether a scheduled retransmission is still owed: the same version is still unconfirmed, to
 * the same incarnation of a peer still in reach, and (once re-read) our copy is still that
 * version and still the last change we published.
 */
export function stillOwed(f: OwedFacts): boolean {
  // Confirmed, replaced by a newer change, or forgotten because the peer went away or restarted.
  if (f.inFlight !== f.want || !f.connected || f.epoch !== f.epochThen) return false;
  // Not re-read yet: worth the read.
  if (f.local === undefined) return true;
  // Our copy moved on (its own change is on its way) or the last publication was another version.
  return f.local === f.want && f.lastSent === f.want;
}
