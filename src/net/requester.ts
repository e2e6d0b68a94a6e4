import { Request as ZmqRequest } from 'zeromq';
import type { Checked, Reply, Request } from '../core/frame.js';
import { EntangledError } from '../core/errors.js';
import { decodeReply, encode, MAX_MESSAGE_BYTES } from './codec.js';
import { BUSY_MESSAGE, STOPPING_MESSAGE } from './replier.js';
import type { PeerCurve } from './peer-keys.js';

/** The refusals that mean "not now" (the peer is stopping, or has too many requests in hand). */
export const UNAVAILABLE: ReadonlySet<string> = new Set([STOPPING_MESSAGE, BUSY_MESSAGE]);

/** One REQ socket and what it has seen of its peer. */
interface Link {
  readonly sock: ZmqRequest;
  /** The key the socket expects the peer to present (null without CURVE). */
  readonly key: string | null;
  /** A TCP connection was made; the peer's end answered a handshake with this key (admitted or refused us). */
  tcp: boolean;
  answered: boolean;
  /** Closed because the peer's key switched: a request on it was never delivered. */
  retired: boolean;
}

/**
 * Owns the REQ link to one peer's REP socket. Requests go one at a time through a queue; a
 * request that gets no reply within `timeoutMs` fails with PEER_UNREACHABLE and the socket is
 * recreated (REQ's strict send/receive alternation would otherwise wedge it). Over CURVE the
 * socket expects the peer's current key (`curve.keys`); a failed handshake, or a timeout on a
 * connection whose handshake never succeeded, moves to the next key and a new socket.
 */
export class PeerRequester {
  #link: Link | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * `curve`: how to reach the peer over CURVE (each request then goes out with its signature);
   * `peer`: its name, which the errors give (default: the endpoint).
   */
  constructor(
    readonly endpoint: string,
    readonly timeoutMs: number,
    readonly curve: PeerCurve | null = null,
    readonly peer: string | null = null,
  ) {
    // A request waiting on a socket that expects the old key is sent again on a new one.
    curve?.keys.onSwitch((key) => {
      if (this.#link && this.#link.key !== key) this.#reset(true);
    });
  }

  #socket(): Link {
    const key = this.curve?.keys.current ?? null;
    if (this.#link && this.#link.key !== key) this.#reset(true);
    if (this.#link) return this.#link;
    const sock = new ZmqRequest({
      linger: 0,
      maxMessageSize: MAX_MESSAGE_BYTES,
      receiveTimeout: this.timeoutMs,
      sendTimeout: this.timeoutMs,
      reconnectInterval: 100,
      reconnectMaxInterval: 1000,
      ...(key !== null ? this.curve!.options(key) : {}),
    });
    const link: Link = { sock, key, tcp: false, answered: false, retired: false };
    if (key !== null) {
      const keys = this.curve!.keys;
      const mine = (): boolean => this.#link === link;
      sock.events.on('connect', () => {
        link.tcp = true;
      });
      // A handshake that succeeds, or that the peer refuses (it opened our HELLO), used its key.
      for (const ev of ['handshake', 'handshake:error:auth'] as const) {
        sock.events.on(ev, () => {
          link.answered = true;
          if (mine()) keys.worked(key);
        });
      }
      // A server with another key cannot open our HELLO and hangs up: "other" on this side.
      sock.events.on('handshake:error:other', () => mine() && keys.failed(key));
    }
    sock.connect(this.endpoint);
    this.#link = link;
    return link;
  }

  #reset(retired = false): void {
    const link = this.#link;
    if (!link) return;
    link.retired = retired;
    link.sock.close();
    this.#link = null;
  }

  /**
   * Sends one request and resolves with its checked reply; throws EntangledError otherwise:
   * PEER_UNREACHABLE (no reply in time, stopping, busy) or PEER_FAULT (a malformed reply, a refusal).
   * `timeoutMs` overrides the link's timeout for a request known to take long.
   */
  request(req: Request, timeoutMs = this.timeoutMs): Promise<Reply> {
    const run = async (): Promise<Reply> => {
      const deadline = performance.now() + timeoutMs;
      let checked: Checked<Reply>;
      let recounted = false;
      for (;;) {
        if (this.#closed) throw new EntangledError('PEER_UNREACHABLE', 'node is stopping');
        const link = this.#socket();
        link.sock.receiveTimeout = Math.max(1, Math.round(deadline - performance.now()));
        try {
          const bytes = encode(req);
          await link.sock.send(link.key !== null ? [bytes, this.curve!.signer(link.key)(bytes)] : bytes);
          const [reply] = await link.sock.receive();
          checked = reply ? decodeReply(reply) : { ok: false, reason: 'empty reply' };
        } catch (err) {
          // The peer's key switched while this request waited: it never left, send it again.
          if (link.retired && !this.#closed && performance.now() < deadline) continue;
          const code = (err as { code?: string }).code;
          // No reply over a connection that never got through the handshake: the peer presents another key.
          if (code === 'EAGAIN' && link.key !== null && link.tcp && !link.answered && this.#link === link) this.curve!.keys.failed(link.key);
          if (this.#link === link) this.#reset();
          throw new EntangledError(
            'PEER_UNREACHABLE',
            code === 'EAGAIN'
              ? `${this.#who()}: no reply in time (${timeoutMs} ms); is it running, and is ${this.endpoint} reachable from here?`
              : `${this.#who()}: request failed (${code ?? 'error'})`,
          );
        }
        // Refused as a replay (this node's clock went back since an earlier run): count on from
        // the peer's highest and send it once more, as a new request.
        const counter = checked.ok && checked.value.t === 'error' ? checked.value.counter : undefined;
        if (this.curve === null || recounted || counter === undefined) break;
        this.curve.countAbove(counter);
        recounted = true;
      }
      if (!checked.ok) throw new EntangledError('PEER_FAULT', `${this.#who()}: malformed reply: ${checked.reason}`);
      if (checked.value.t === 'error') {
        // A peer that is stopping or saturated is out of reach for now; any other refusal is its answer.
        const away = UNAVAILABLE.has(checked.value.message);
        throw new EntangledError(away ? 'PEER_UNREACHABLE' : 'PEER_FAULT', `${this.#who()} refused: ${checked.value.message}`);
      }
      return checked.value;
    };
    const p = this.#tail.then(run, run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  /** The peer as errors name it. */
  #who(): string {
    return this.peer === null ? `peer at ${this.endpoint}` : `peer "${this.peer}"`;
  }

  close(): void {
    this.#closed = true;
    this.#reset();
  }
}
