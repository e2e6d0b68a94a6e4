import { Subscriber as ZmqSubscriber } from 'zeromq';
import { MAX_MESSAGE_BYTES } from './codec.js';
import type { PeerCurve } from './peer-keys.js';

/**
 * How long a dropped connection may go without libzmq retrying before we connect again
 * ourselves. libzmq gives up on an endpoint for good after a refused handshake (a key not
 * listed yet, during a key rotation) or a message over maxMessageSize; without this, one
 * refusal or one oversized frame would leave the peer unheard until a restart.
 */
const GIVE_UP_RETRY_MS = 1000;

/** The SUB socket's options, CURVE aside (the bench's bare pipeline uses them too). */
export const SUBSCRIBER_OPTIONS = Object.freeze({
  linger: 0,
  maxMessageSize: MAX_MESSAGE_BYTES,
  receiveHighWaterMark: 100_000,
  // No exponential back-off: a peer that comes up is heard within 100 ms (its heartbeats are
  // what keep it "in reach"), and a refused connect on a LAN costs next to nothing.
  reconnectInterval: 100,
  reconnectMaxInterval: 0,
  heartbeatInterval: 1000,
  heartbeatTimeout: 3000,
});

/** Why a CURVE handshake with the peer failed: it refused our key, or the two ends disagree on security. */
export type HandshakeFailure = 'auth' | 'protocol';

/**
 * Owns the SUB socket connected to one peer's PUB; a single receive loop per socket feeds
 * `onMessage`. Over CURVE the socket expects the peer's current key (`curve.keys`): a handshake
 * that fails the way a server with another key fails it moves to the next key, and the socket
 * is then replaced by one that expects it.
 */
export class PeerSubscriber {
  #sock: ZmqSubscriber | null = null;
  /** The key the socket expects the peer to present (null without CURVE). */
  #key: string | null = null;
  #loops: Promise<void>[] = [];
  #retry: NodeJS.Timeout | null = null;
  #onMessage: ((bytes: Buffer) => void) | null = null;
  #closed = false;

  /**
   * `curve`: how to reach the peer over CURVE when the node's links are secured; a handshake the
   * peer refuses, or that fails for lack of CURVE on one side, is then reported to `onRefused`.
   */
  constructor(
    readonly endpoint: string,
    readonly curve: PeerCurve | null = null,
    readonly onRefused: (failure: HandshakeFailure, message: string) => void = () => undefined,
  ) {
    curve?.keys.onSwitch((key) => {
      if (this.#closed || !this.#sock || key === this.#key) return;
      this.#disarmRetry();
      this.#sock.close();
      this.#open();
    });
  }

  start(onMessage: (bytes: Buffer) => void): void {
    this.#onMessage = onMessage;
    this.#open();
  }

  /** A new socket that expects the peer's current key, connected, with its receive loop. */
  #open(): void {
    const key = this.curve?.keys.current ?? null;
    const sock = new ZmqSubscriber({
      ...SUBSCRIBER_OPTIONS,
      ...(key !== null ? this.curve!.options(key) : {}),
    });
    this.#sock = sock;
    this.#key = key;
    const events = sock.events;
    // Events of a socket that was replaced are stale.
    const mine = (): boolean => !this.#closed && this.#sock === sock;
    events.on('disconnect', () => mine() && this.#armRetry());
    events.on('connect:retry', () => mine() && this.#disarmRetry());
    events.on('connect', () => mine() && this.#disarmRetry());
    if (key !== null) {
      const keys = this.curve!.keys;
      // A handshake that succeeds, or that the peer refuses (it opened our HELLO), used its key.
      events.on('handshake', () => mine() && keys.worked(key));
      // A server with another key cannot open our HELLO and hangs up: "other" on this side.
      events.on('handshake:error:other', () => mine() && keys.failed(key));
      events.on('handshake:error:auth', (e) => {
        if (!mine()) return;
        keys.worked(key);
        this.onRefused('auth', e.error.message);
      });
      events.on('handshake:error:protocol', (e) => mine() && this.onRefused('protocol', `${e.error.message} (${e.error.code})`));
    }
    sock.connect(this.endpoint);
    sock.subscribe();
    const onMessage = this.#onMessage!;
    const loop = (async () => {
      try {
        for await (const [msg] of sock) if (msg) onMessage(msg);
      } catch {
        // The socket was closed: the loop ends.
      }
    })();
    this.#loops.push(loop);
    void loop.then(() => {
      this.#loops = this.#loops.filter((l) => l !== loop);
    });
  }

  /** A dropped connection: unless libzmq schedules its own retry, connect again after a while. */
  #armRetry(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      const sock = this.#sock;
      if (this.#closed || !sock) return;
      try {
        sock.disconnect(this.endpoint);
      } catch {
        // libzmq already dropped the endpoint.
      }
      sock.connect(this.endpoint);
    }, GIVE_UP_RETRY_MS);
  }

  #disarmRetry(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#disarmRetry();
    this.#sock?.close();
    await Promise.all(this.#loops);
  }
}
