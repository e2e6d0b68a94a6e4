import { Request as ZmqRequest } from 'zeromq';
import type { Reply, Request } from '../core/frame.js';
import { EntangledError } from '../core/errors.js';
import { decodeReply, encode, MAX_MESSAGE_BYTES } from './codec.js';
import { BUSY_MESSAGE, STOPPING_MESSAGE } from './replier.js';
import type { CurveClientOptions, RequestSigner } from './curve.js';

/** The refusals that mean "not now" (the peer is stopping, or has too many requests in hand). */
export const UNAVAILABLE: ReadonlySet<string> = new Set([STOPPING_MESSAGE, BUSY_MESSAGE]);

/**
 * Owns the REQ link to one peer's REP socket. Requests go one at a time through a queue; a
 * request that gets no reply within `timeoutMs` fails with PEER_UNREACHABLE and the socket is
 * recreated (REQ's strict send/receive alternation would otherwise wedge it).
 */
export class PeerRequester {
  #sock: ZmqRequest | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * `curve`: the CURVE client options (the peer's key) when the node's links are secured, and
   * `sign` the signer of requests to that peer (each request then goes out with its signature).
   */
  constructor(
    readonly endpoint: string,
    readonly timeoutMs: number,
    readonly curve: CurveClientOptions | null = null,
    readonly sign: RequestSigner | null = null,
  ) {}

  #socket(): ZmqRequest {
    if (!this.#sock) {
      this.#sock = new ZmqRequest({
        linger: 0,
        maxMessageSize: MAX_MESSAGE_BYTES,
        receiveTimeout: this.timeoutMs,
        sendTimeout: this.timeoutMs,
        reconnectInterval: 100,
        reconnectMaxInterval: 1000,
        ...this.curve,
      });
      this.#sock.connect(this.endpoint);
    }
    return this.#sock;
  }

  #reset(): void {
    this.#sock?.close();
    this.#sock = null;
  }

  /**
   * Sends one request and resolves with its checked reply; throws EntangledError otherwise:
   * PEER_UNREACHABLE (no reply in time, stopping, busy) or PEER_FAULT (a malformed reply, a refusal).
   * `timeoutMs` overrides the link's timeout for a request known to take long.
   */
  request(req: Request, timeoutMs = this.timeoutMs): Promise<Reply> {
    const run = async (): Promise<Reply> => {
      if (this.#closed) throw new EntangledError('PEER_UNREACHABLE', 'node is stopping');
      const sock = this.#socket();
      sock.receiveTimeout = timeoutMs;
      let reply: Buffer | undefined;
      try {
        const bytes = encode(req);
        await sock.send(this.sign ? [bytes, this.sign(bytes)] : bytes);
        [reply] = await sock.receive();
      } catch (err) {
        this.#reset();
        const code = (err as { code?: string }).code;
        throw new EntangledError('PEER_UNREACHABLE', code === 'EAGAIN' ? 'no reply in time' : `request failed (${code ?? 'error'})`);
      }
      const checked = reply ? decodeReply(reply) : { ok: false as const, reason: 'empty reply' };
      if (!checked.ok) throw new EntangledError('PEER_FAULT', `malformed reply from the peer: ${checked.reason}`);
      if (checked.value.t === 'error') {
        // A peer that is stopping or saturated is out of reach for now; any other refusal is its answer.
        const away = UNAVAILABLE.has(checked.value.message);
        throw new EntangledError(away ? 'PEER_UNREACHABLE' : 'PEER_FAULT', `peer refused: ${checked.value.message}`);
      }
      return checked.value;
    };
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.#closed = true;
    this.#reset();
  }
}
