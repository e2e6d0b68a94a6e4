import { Publisher as ZmqPublisher } from 'zeromq';
import type { Frame } from '../core/frame.js';
import { encode, MAX_MESSAGE_BYTES } from './codec.js';
import { watchHandshakes, type ServerSecurity } from './curve.js';

/**
 * Owns the PUB socket: frames are queued and sent one at a time (zeromq allows a single
 * pending send). PUB drops frames at the high-water mark; the digest exchange repairs that.
 */
export class FramePublisher {
  readonly #sock: ZmqPublisher;
  readonly #queue: Buffer[] = [];
  #draining = false;
  #closed = false;

  /** `security`: the CURVE server's options and failure report when the node's links are secured. */
  constructor(security: ServerSecurity | null = null) {
    this.#sock = new ZmqPublisher({
      linger: 0,
      sendHighWaterMark: 100_000,
      maxMessageSize: MAX_MESSAGE_BYTES,
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
      ...security?.options,
    });
    if (security) watchHandshakes(this.#sock, security);
  }

  async bind(endpoint: string): Promise<void> {
    await this.#sock.bind(endpoint);
  }

  publish(frame: Frame): void {
    if (this.#closed) return;
    this.#queue.push(encode(frame));
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      let msg: Buffer | undefined;
      while ((msg = this.#queue.shift()) !== undefined && !this.#closed) {
        try {
          await this.#sock.send(msg);
        } catch {
          // Closed while sending, or mute: a frame lost here is repaired by the digest exchange.
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#sock.close();
  }
}
