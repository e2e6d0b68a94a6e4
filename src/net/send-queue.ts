/**
 * Messages for one zeromq socket, sent one at a time (zeromq.js allows a single pending send
 * per socket). A failed send is dropped: on PUB the digest exchange repairs a lost frame, on
 * the request socket the requester times out.
 */
export class SendQueue<M> {
  readonly #queue: M[] = [];
  readonly #send: (msg: M) => Promise<void>;
  #drained: Promise<void> = Promise.resolve();
  #draining = false;
  #closed = false;

  constructor(send: (msg: M) => Promise<void>) {
    this.#send = send;
  }

  push(msg: M): void {
    if (this.#closed) return;
    this.#queue.push(msg);
    if (this.#draining) return;
    this.#draining = true;
    this.#drained = this.#drain();
  }

  /** Resolves when everything pushed so far was sent (or dropped). */
  get drained(): Promise<void> {
    return this.#drained;
  }

  /** Drops what is queued; later pushes are ignored. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  async #drain(): Promise<void> {
    try {
      let msg: M | undefined;
      while (!this.#closed && (msg = this.#queue.shift()) !== undefined) {
        try {
          await this.#send(msg);
        } catch {
          // Closed while sending, mute, or the peer is gone: see the class comment.
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
