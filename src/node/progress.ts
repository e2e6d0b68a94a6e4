import type { Md5 } from '../core/types.js';
import type { Clock, Notifier } from './context.js';
import type { FileActor } from './file-actor.js';

/** Progress notifications (SSE) go out at most this often while bytes move; a start or an end goes out at once. */
export const PROGRESS_NOTIFY_MS = 200;
/** How often the outgoing transfers are looked at for one the receiver abandoned. */
const EXPIRY_CHECK_MS = 250;

export type TransferDirection = 'in' | 'out';

/**
 * One chunked transfer of version `md5` between this node and a peer, as a fact of that peer's
 * copy of the file: `in` we pull it, `out` the peer pulls ours; `bytes` of `total` moved so far,
 * `at` when a chunk last moved (monotonic ms).
 */
export interface TransferFacts {
  readonly direction: TransferDirection;
  readonly md5: Md5;
  readonly total: number;
  bytes: number;
  at: number;
}

/**
 * The owner of the transfer facts (`PeerFacts.transfer`): a pull in chunks shows from its first
 * request to its end; a version served in chunks shows from the first chunk served until the
 * last one is, until this node no longer holds that version, until the peer is lost, or until
 * no chunk was asked for in `staleMs` (the receiver gave up). Only large files (pulled in
 * chunks) ever pass here. Changes reach the view's subscribers at once for a start or an end,
 * at most every PROGRESS_NOTIFY_MS in between.
 */
export class TransferProgress {
  readonly #clock: Clock;
  readonly #notify: Notifier;
  readonly #staleMs: number;
  /** Outgoing transfers shown now, with their file and peer (looked at for expiry). */
  readonly #outgoing = new Map<TransferFacts, { actor: FileActor; peer: string }>();
  #lastNotify = Number.NEGATIVE_INFINITY;
  #notifyTimer: NodeJS.Timeout | null = null;
  #expiryTimer: NodeJS.Timeout | null = null;

  /** `staleMs`: an outgoing transfer with no chunk asked for this long is taken as abandoned. */
  constructor(clock: Clock, notify: Notifier, staleMs: number) {
    this.#clock = clock;
    this.#notify = notify;
    this.#staleMs = staleMs;
  }

  /** A transfer of version `md5` (`total` bytes) with `peer` starts, `bytes` in: shown at once; pass the result to advance and end. */
  begin(actor: FileActor, peer: string, direction: TransferDirection, md5: Md5, total: number, bytes = 0): TransferFacts {
    const t: TransferFacts = { direction, md5, total, bytes, at: this.#clock.now() };
    actor.peer(peer).transfer = t;
    this.#notifyNow();
    return t;
  }

  /** `bytes` of transfer `t` have moved; shown (throttled) while it is still the peer's current one. */
  advance(actor: FileActor, peer: string, t: TransferFacts, bytes: number): void {
    t.bytes = Math.max(t.bytes, bytes);
    t.at = this.#clock.now();
    if (actor.peers.get(peer)?.transfer === t) this.#notifyThrottled();
  }

  /** Transfer `t` is over (done, failed or abandoned): no longer shown. */
  end(actor: FileActor, peer: string, t: TransferFacts): void {
    this.#outgoing.delete(t);
    const facts = actor.peers.get(peer);
    if (facts?.transfer !== t) return;
    facts.transfer = null;
    this.#notifyNow();
  }

  /**
   * The sending side: `length` bytes at `offset` of version `md5` (`total` bytes) were served to
   * `peer`. A request at offset 0 starts a transfer (a receiver that starts over, too); the one
   * that brings the bytes served to `total` ends it. Bytes are counted, not offsets, because
   * the receiver's prefetch lets two chunk requests run at once and finish in either order.
   */
  served(actor: FileActor, peer: string, md5: Md5, offset: number, length: number, total: number): void {
    const facts = actor.peers.get(peer);
    if (!facts) return;
    const t = facts.transfer;
    const current = t !== null && t.direction === 'out' && t.md5 === md5 && t.total === total && offset !== 0 ? t : null;
    if (current === null) {
      // An earlier transfer to this peer is over; a version of one chunk is over as soon as it is served.
      if (t?.direction === 'out') this.end(actor, peer, t);
      if (length >= total) return;
      this.#outgoing.set(this.begin(actor, peer, 'out', md5, total, length), { actor, peer });
      this.#scheduleExpiry();
      return;
    }
    this.advance(actor, peer, current, current.bytes + length);
    if (current.bytes >= total) this.end(actor, peer, current);
  }

  /** This node no longer holds version `md5`: a transfer of it to `peer` cannot complete. */
  refused(actor: FileActor, peer: string, md5: Md5): void {
    const t = actor.peers.get(peer)?.transfer;
    if (t && t.direction === 'out' && t.md5 === md5) this.end(actor, peer, t);
  }

  /** The peer was lost or restarted: whatever moved between it and this node has stopped. */
  dropPeer(actors: Iterable<FileActor>, peer: string): void {
    for (const actor of actors) {
      const t = actor.peers.get(peer)?.transfer;
      if (t) this.end(actor, peer, t);
    }
  }

  /** Stops the timers (at node stop). */
  stop(): void {
    if (this.#notifyTimer) clearTimeout(this.#notifyTimer);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#notifyTimer = this.#expiryTimer = null;
  }

  #scheduleExpiry(): void {
    if (this.#expiryTimer !== null) return;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = null;
      this.#expire();
    }, EXPIRY_CHECK_MS);
    this.#expiryTimer.unref();
  }

  /** An outgoing transfer whose receiver asked for nothing in staleMs was abandoned (a receiver asks for the next chunk as soon as it has the last). */
  #expire(): void {
    const now = this.#clock.now();
    for (const [t, { actor, peer }] of this.#outgoing) {
      if (actor.peers.get(peer)?.transfer !== t) this.#outgoing.delete(t);
      else if (now - t.at > this.#staleMs) {
        actor.log.info({ peer, md5: t.md5, bytes: t.bytes, total: t.total, silentMs: Math.round(now - t.at) }, 'outgoing transfer abandoned by the peer');
        this.end(actor, peer, t);
      }
    }
    if (this.#outgoing.size > 0) this.#scheduleExpiry();
  }

  #notifyNow(): void {
    if (this.#notifyTimer) clearTimeout(this.#notifyTimer);
    this.#notifyTimer = null;
    this.#lastNotify = this.#clock.now();
    this.#notify.changed();
  }

  #notifyThrottled(): void {
    if (this.#notifyTimer !== null) return;
    const wait = this.#lastNotify + PROGRESS_NOTIFY_MS - this.#clock.now();
    if (wait <= 0) return this.#notifyNow();
    this.#notifyTimer = setTimeout(() => this.#notifyNow(), Math.min(wait, PROGRESS_NOTIFY_MS));
    this.#notifyTimer.unref();
  }
}
