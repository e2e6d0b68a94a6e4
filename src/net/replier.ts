import { Reply as ZmqReply } from 'zeromq';
import type { Reply, Request } from '../core/frame.js';
import { decodeRequest, encode, MAX_MESSAGE_BYTES } from './codec.js';
import { watchHandshakes, type ServerSecurity } from './curve.js';

export type RequestHandler = (req: Request) => Promise<Reply>;

/** Owns the REP socket: one loop, one request at a time, every request answered. */
export class RequestReplier {
  readonly #sock: ZmqReply;
  #loop: Promise<void> | null = null;

  /** `security`: the CURVE server's options and failure report when the node's links are secured. */
  constructor(security: ServerSecurity | null = null) {
    this.#sock = new ZmqReply({ linger: 0, maxMessageSize: MAX_MESSAGE_BYTES, sendTimeout: 2000, ...security?.options });
    if (security) watchHandshakes(this.#sock, security);
  }

  async bind(endpoint: string): Promise<void> {
    await this.#sock.bind(endpoint);
  }

  start(peers: ReadonlySet<string>, handle: RequestHandler, onRejected: (reason: string) => void): void {
    this.#loop = (async () => {
      try {
        for await (const [msg] of this.#sock) {
          let reply: Reply;
          const req = msg ? decodeRequest(msg, peers) : { ok: false as const, reason: 'empty request' };
          if (!req.ok) {
            onRejected(req.reason);
            reply = { v: 1, t: 'error', message: req.reason };
          } else {
            try {
              reply = await handle(req.value);
            } catch (err) {
              reply = { v: 1, t: 'error', message: (err as Error).message };
            }
          }
          try {
            await this.#sock.send(encode(reply));
          } catch {
            // The requester went away; REP is ready for the next request anyway.
          }
        }
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
