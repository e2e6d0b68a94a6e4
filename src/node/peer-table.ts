import { EntangledError } from '../core/errors.js';
import type { Addressees } from './outbox.js';
import type { PeerSession } from './peer-session.js';

/** The node's peers by name: built with the node, changed by a reload. */
export class PeerTable implements Addressees {
  readonly #byName = new Map<string, PeerSession>();
  readonly #names = new Set<string>();

  add(session: PeerSession): void {
    this.#byName.set(session.name, session);
    this.#names.add(session.name);
  }

  /** Takes the peer out: no frame is addressed to it and no request in its name is served. */
  remove(name: string): PeerSession | undefined {
    const session = this.#byName.get(name);
    this.#byName.delete(name);
    this.#names.delete(name);
    return session;
  }

  /** The listed names, kept current (the replier checks requests against it). */
  get nameSet(): ReadonlySet<string> {
    return this.#names;
  }

  get(name: string): PeerSession | undefined {
    return this.#byName.get(name);
  }

  get names(): string[] {
    return [...this.#byName.keys()];
  }

  [Symbol.iterator](): IterableIterator<PeerSession> {
    return this.#byName.values();
  }

  connected(name: string): boolean {
    return this.#byName.get(name)?.connected ?? false;
  }

  addressees(): Record<string, string> {
    const to: Record<string, string> = {};
    for (const s of this.#byName.values()) if (s.connected && s.epoch !== null) to[s.name] = s.epoch;
    return to;
  }

  /** The peer an operator names, or the only one; BAD_REQUEST naming the peers otherwise. */
  resolve(name: string | undefined): PeerSession {
    if (name === undefined) {
      if (this.#byName.size > 1) throw new EntangledError('BAD_REQUEST', `several peers (${this.names.join(', ')}): name one`);
      return this.#byName.values().next().value as PeerSession;
    }
    const session = this.#byName.get(name);
    if (!session) throw new EntangledError('BAD_REQUEST', `unknown peer "${name}"`);
    return session;
  }
}
