import type { Held } from '../core/hold.js';
import type { Clock } from './context.js';

/**
 * One file's read that is not sent yet (decideHold: an empty file right after content, a change
 * under settleMs, a read the file changed under): what is held, when the file is read again (a
 * timer calls `reread`), and the reads waiting for that. The decision is decideHold's; this
 * only keeps its facts and its timer.
 */
export class ReadHold {
  /** The version held back, as decideHold last described it; null when none is. */
  held: Held | null = null;
  /** When the file is read again (monotonic ms); null when nothing waits. */
  #at: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly #waiting = new Set<() => void>();
  readonly #clock: Clock;
  readonly #reread: () => void;

  constructor(clock: Clock, reread: () => void) {
    this.#clock = clock;
    this.#reread = reread;
  }

  /** Whether a read is held back or due again: what is on disk is not the file's version yet. */
  get active(): boolean {
    return this.#at !== null;
  }

  /** Holds `held` until `until` (monotonic ms), when the file is read again. */
  hold(held: Held, until: number): void {
    this.held = held;
    this.rereadAt(until);
  }

  /** Reads the file again at `at` (monotonic ms), replacing any read already due. */
  rereadAt(at: number): void {
    this.#at = at;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#reread();
    }, this.#delay(at));
  }

  /** Nothing is held any more (the read was announced, or a peer's version written). */
  end(): void {
    this.held = null;
    this.#at = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Resolves when the read now due is (or at once when none is), or when quiet() is called. */
  due(): Promise<void> {
    if (this.#at === null) return Promise.resolve();
    const at = this.#at;
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.#delay(at));
      this.#waiting.add(wake);
    });
  }

  /** Stops the timer and wakes every waiting read (at stop, or once the file is unlisted); what is held stays unsent. */
  quiet(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const wake of [...this.#waiting]) wake();
  }

  /** One ms more than the wait: a timer may fire within its last millisecond by the monotonic clock. */
  #delay(at: number): number {
    return Math.max(0, Math.ceil(at - this.#clock.now())) + 1;
  }
}
