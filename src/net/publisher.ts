import { Publisher as ZmqPublisher } from 'zeromq';
import type { Frame } from '../core/frame.js';
import { encode, MAX_MESSAGE_BYTES } from './codec.js';
import { watchHandshakes, type ServerSecurity } from './curve.js';
import { SendQueue } from './send-queue.js';
import { mark } from '../trace.js';

/** The PUB socket's options, CURVE aside (the bench's bare pipeline uses them too). */
export const PUBLISHER_OPTIONS = Object.freeze({
  linger: 0,
  sendHighWaterMark: 100_000,
  maxMessageSize: MAX_MESSAGE_BYTES,
  heartbeatInterval: 1000,
  heartbeatTimeout: 3000,
});

/** How long a rebind waits for the old listening socket to be gone, and how often it tries. */
const REBIND_PATIENCE_MS = 1000;
const REBIND_RETRY_MS = 10;

/**
 * Owns the PUB socket: frames are queued and sent one at a time (zeromq allows a single
 * pending send). PUB drops frames at the high-water mark; the digest exchange repairs that.
 */
export class FramePublisher {
  readonly #sock: ZmqPublisher;
  readonly #queue: SendQueue<Buffer>;

  /** `security`: the CURVE server's options and failure report when the node's links are secured. */
  constructor(security: ServerSecurity | null = null) {
    this.#sock = new ZmqPublisher({ ...PUBLISHER_OPTIONS, ...security?.options });
    if (security) watchHandshakes(this.#sock, security);
    this.#queue = new SendQueue((msg) => this.#sock.send(msg));
  }

  async bind(endpoint: string): Promise<void> {
    await this.#sock.bind(endpoint);
  }

  /**
   * Unbinds and binds `endpoint` again: every connected subscriber is dropped and must make a
   * new handshake (so a key a reload removed is asked about again, and refused). The listed
   * peers reconnect within ZeroMQ's reconnect interval; what they miss meanwhile is retransmitted.
   */
  async rebind(endpoint: string): Promise<void> {
    await this.#sock.unbind(this.#sock.lastEndpoint ?? endpoint);
    // RACE: the unbind resolves before libzmq's I/O thread has closed the listening socket, so
    // the bind may meet our own old port for a moment: EADDRINUSE is retried, for up to a second.
    for (let waited = 0; ; waited += REBIND_RETRY_MS) {
      try {
        await this.#sock.bind(endpoint);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EADDRINUSE' || waited >= REBIND_PATIENCE_MS) throw err;
        await new Promise((r) => setTimeout(r, REBIND_RETRY_MS));
      }
    }
  }

  publish(frame: Frame): void {
    const msg = encode(frame);
    mark('send');
    this.#queue.push(msg);
  }

  close(): void {
    this.#queue.close();
    this.#sock.close();
  }
}
