import { Subscriber as ZmqSubscriber } from 'zeromq';
import { MAX_MESSAGE_BYTES } from './codec.js';

/** Owns one SUB socket connected to one peer's PUB; a single receive loop feeds `onMessage`. */
export class PeerSubscriber {
  readonly #sock = new ZmqSubscriber({
    linger: 0,
    maxMessageSize: MAX_MESSAGE_BYTES,
    receiveHighWaterMark: 100_000,
    // No exponential back-off: a peer that comes up is heard within 100 ms (its heartbeats
    // are what keep it "in reach"), and a refused connect on a LAN costs next to nothing.
    reconnectInterval: 100,
    reconnectMaxInterval: 0,
    heartbeatInterval: 1000,
    heartbeatTimeout: 3000,
  });
  #loop: Promise<void> | null = null;

  constructor(readonly endpoint: string) {}

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

  async close(): Promise<void> {
    this.#sock.close();
    await this.#loop;
  }
}
