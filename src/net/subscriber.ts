import { Subscriber as ZmqSubscriber } from 'zeromq';
import { MAX_MESSAGE_BYTES } from './codec.js';
import type { CurveClientOptions } from './curve.js';

/**
 * How long a dropped connection may go without libzmq retrying before we connect again
 * ourselves. libzmq gives up on an endpoint for good after a refused handshake (a key not
 * listed yet, during a key rotation) or a message over maxMessageSize; without this, one
 * refusal or one oversized frame would leave the peer unheard until a restart.
 */
const GIVE_UP_RETRY_MS = 1000;

/** Why a CURVE handshake with the peer failed: it refused our key, or the two ends disagree on security. */
export type HandshakeFailure = 'auth' | 'protocol';

/** Owns one SUB socket connected to one peer's PUB; a single receive loop feeds `onMessage`. */
export class PeerSubscriber {
  readonly #sock: ZmqSubscriber;
  #loop: Promise<void> | null = null;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;

  /**
   * `curve`: the CURVE client options (the peer's key) when the node's links are secured; a
   * failed handshake is then reported to `onRefused`.
   */
  constructor(
    readonly endpoint: string,
    curve: CurveClientOptions | null = null,
    readonly onRefused: (failure: HandshakeFailure, message: string) => void = () => undefined,
  ) {
    this.#sock = new ZmqSubscriber({
      linger: 0,
      maxMessageSize: MAX_MESSAGE_BYTES,
      receiveHighWaterMark: 100_000,
      // No exponential back-off: a peer that comes up is heard within 100 ms (its heartbeats
      // are what keep it "in reach"), and a refused connect on a LAN costs next to nothing.
      reconnectInterval: 100,
      reconnectMaxInterval: 0,
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
      ...curve,
    });
    const events = this.#sock.events;
    events.on('disconnect', () => this.#armRetry());
    events.on('connect:retry', () => this.#disarmRetry());
    events.on('connect', () => this.#disarmRetry());
    if (curve) {
      events.on('handshake:error:auth', (e) => this.#report('auth', e.error.message));
      events.on('handshake:error:protocol', (e) => this.#report('protocol', `${e.error.message} (${e.error.code})`));
    }
  }

  start(onMessage: (bytes: Buffer) => void): void {
    this.#sock.connect(this.endpoint);
    this.#sock.subscribe();
    this.#loop = (async () => {
      try {
        for await (const [msg] of this.#sock) if (msg) onMessage(msg);
      } catch {
        // The socket was closed: the loop ends.
      }
    })();
  }

  #report(failure: HandshakeFailure, message: string): void {
    if (!this.#closed) this.onRefused(failure, message);
  }

  /** A dropped connection: unless libzmq schedules its own retry, connect again after a while. */
  #armRetry(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#closed) return;
      try {
        this.#sock.disconnect(this.endpoint);
      } catch {
        // libzmq already dropped the endpoint.
      }
      this.#sock.connect(this.endpoint);
    }, GIVE_UP_RETRY_MS);
  }

  #disarmRetry(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#disarmRetry();
    this.#sock.close();
    await this.#loop;
  }
}
