import type { Logger } from '../log.js';
import type { CurveClientOptions, RequestSigner } from './curve.js';

/**
 * After every listed key has failed in turn, the next switch waits this long, so that a list
 * without the peer's key cannot spin the sockets (they keep retrying the current key meanwhile).
 */
export const ROUND_PAUSE_MS = 1000;

/** What a peer's SUB and REQ need to reach it over CURVE: the key to try and its options and signer. */
export interface PeerCurve {
  readonly keys: PeerKeyRing;
  /** Client options of a socket that expects the peer to present `serverKey`. */
  options(serverKey: string): CurveClientOptions;
  /** The signer of requests sent over a socket that expects `serverKey` (see ServerSecurity.admit). */
  signer(serverKey: string): RequestSigner;
  /** The peer refused a request as a replay, having taken `counter`: later requests count above it. */
  countAbove(counter: number): void;
}

/**
 * Which of a peer's listed CURVE public keys this node expects it to present, shared by the
 * peer's SUB and REQ. A failed handshake with the current key moves on to the next one,
 * round-robin; a handshake the peer answers keeps (or brings back) its key. Each switch is logged
 * once (info, `peer` from `log`) and reported to the listeners, whose sockets reconnect.
 */
export class PeerKeyRing {
  #keys: readonly string[];
  #index = 0;
  /** The keys that failed since a handshake last succeeded (or the list changed). */
  readonly #failed = new Set<string>();
  /** Every key failed since a success: switches are then paced by ROUND_PAUSE_MS and logged at debug. */
  #exhausted = false;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  readonly #listeners: ((key: string) => void)[] = [];

  /** `keys`: at least one; `onExhausted` hears each round in which every key failed. */
  constructor(
    keys: readonly string[],
    readonly log: Logger,
    readonly onExhausted: () => void = () => undefined,
    readonly now: () => number = () => performance.now(),
  ) {
    if (keys.length === 0) throw new RangeError('a peer over CURVE has at least one key');
    this.#keys = [...keys];
  }

  /** The key the peer's sockets connect with now. */
  get current(): string {
    return this.#keys[this.#index]!;
  }

  get keys(): readonly string[] {
    return this.#keys;
  }

  /** Calls `listener` with the new key after each switch. */
  onSwitch(listener: (key: string) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * The peer's end answered a handshake with `key` (admitted us, or refused our own key after
   * opening our HELLO): the peer presents it, so it is the one to keep. An unlisted key is ignored.
   */
  worked(key: string): void {
    const i = this.#keys.indexOf(key);
    if (i < 0) return;
    this.#failed.clear();
    this.#exhausted = false;
    this.#pausedUntil = Number.NEGATIVE_INFINITY;
    if (i === this.#index) return;
    this.#index = i;
    this.log.info({ key: key.slice(0, 8) }, 'the peer presents another of its listed CURVE keys: using it');
    this.#emit();
  }

  /**
   * A handshake with `key` failed the way a server with another key fails it. Moves to the next
   * key when `key` is still the current one (a report from a socket that already moved on is
   * stale), unless a full round has just failed and the pause is not over.
   */
  failed(key: string): void {
    if (key !== this.current) return;
    const now = this.now();
    if (now < this.#pausedUntil) return;
    this.#failed.add(key);
    if (this.#failed.size >= this.#keys.length) {
      // Every key failed since the last success: say so, and pace the next round.
      this.#exhausted = true;
      this.#failed.clear();
      this.#pausedUntil = now + ROUND_PAUSE_MS;
      this.onExhausted();
      return;
    }
    if (this.#keys.length === 1) return;
    this.#index = (this.#index + 1) % this.#keys.length;
    const fields = { key: this.current.slice(0, 8), failed: key.slice(0, 8) };
    const msg = 'CURVE handshake with the peer failed with one of its listed keys: trying the next';
    if (this.#exhausted) this.log.debug(fields, msg);
    else this.log.info(fields, msg);
    this.#emit();
  }

  /**
   * Takes a new list (a reload). The current key is kept when it is still listed; otherwise the
   * first new key becomes current and the listeners reconnect. Returns whether they were told to.
   */
  replace(keys: readonly string[]): boolean {
    if (keys.length === 0) throw new RangeError('a peer over CURVE has at least one key');
    const current = this.current;
    this.#keys = [...keys];
    this.#failed.clear();
    this.#exhausted = false;
    this.#pausedUntil = Number.NEGATIVE_INFINITY;
    const i = this.#keys.indexOf(current);
    this.#index = Math.max(i, 0);
    if (i >= 0) return false;
    this.log.info({ key: this.current.slice(0, 8), removed: current.slice(0, 8) }, 'the peer\'s CURVE key in use is no longer listed: reconnecting with its first listed key');
    this.#emit();
    return true;
  }

  #emit(): void {
    const key = this.current;
    for (const listener of this.#listeners) listener(key);
  }
}
