import { Router } from 'zeromq';
import type { Reply, Request } from '../core/frame.js';
import { decodeRequest, encode, EncodedReply, MAX_MESSAGE_BYTES } from './codec.js';
import { watchHandshakes, type ServerSecurity } from './curve.js';
import { SendQueue } from './send-queue.js';

/** A handler's reply: to be encoded, or already encoded (a chunk read straight into its message). */
export type RequestHandler = (req: Request) => Promise<Reply | EncodedReply>;

/**
 * A request refused before its handler: malformed, or (over CURVE) not signed by the node it
 * names, or signed by it but a replay of one already taken (or of an earlier run of it).
 */
export type Rejection = 'malformed' | 'impostor' | 'replayed';

/** Hears a refused request: why, which kind, and (for a replay) the peer that signed it. */
export type RejectionListener = (reason: string, kind: Rejection, peer?: string) => void;

/** Requests handled at once by default; one more gets a 'busy' error reply. */
export const MAX_CONCURRENT_REQUESTS = 64;

/** How long, from `stopping()`, the handlers already running have to reply before the socket closes. */
export const STOP_GRACE_MS = 500;

/** Tunables of a RequestReplier; the defaults suit a node. */
export interface ReplierLimits {
  readonly maxConcurrent?: number;
  readonly graceMs?: number;
}

/** The error reply for a request that arrives once `stopping()` was called. */
export const STOPPING_MESSAGE = 'node is stopping';
/** The error reply for a request past the concurrency bound. */
export const BUSY_MESSAGE = 'busy';

const EMPTY = Buffer.alloc(0);

/**
 * Owns the node's request socket, a ROUTER that REQ clients talk to: [routing id, empty, payload]
 * in, [routing id, empty, reply] out. Handlers run concurrently (up to `maxConcurrent`), so a
 * slow request never holds up the next; replies leave through one queue, one send at a time.
 */
export class RequestReplier {
  readonly #sock: Router;
  readonly #maxConcurrent: number;
  readonly #graceMs: number;
  readonly #outbox: SendQueue<Buffer[]>;
  readonly #idle: (() => void)[] = [];
  #loop: Promise<void> | null = null;
  #active = 0;
  #stoppingAt: number | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;
  readonly #admit: ServerSecurity['admit'] | null;

  /**
   * `security`: the CURVE server's options and failure report when the node's links are secured.
   * `limits`: the concurrency bound and the stop grace (MAX_CONCURRENT_REQUESTS, STOP_GRACE_MS).
   */
  constructor(security: ServerSecurity | null = null, limits: ReplierLimits = {}) {
    this.#maxConcurrent = limits.maxConcurrent ?? MAX_CONCURRENT_REQUESTS;
    this.#graceMs = limits.graceMs ?? STOP_GRACE_MS;
    // mandatory + sendTimeout 0: a reply to a requester that is gone (EHOSTUNREACH) or not
    // reading (EAGAIN) fails at once instead of waiting, so it can never hold up the queue.
    // handover stays off: REQ clients set no routing id, so each connection gets a fresh one.
    this.#sock = new Router({
      linger: 0,
      maxMessageSize: MAX_MESSAGE_BYTES,
      mandatory: true,
      sendTimeout: 0,
      ...security?.options,
    });
    if (security) watchHandshakes(this.#sock, security);
    this.#outbox = new SendQueue((msg) => this.#sock.send(msg));
    this.#admit = security?.admit ?? null;
  }

  /** Binds the socket to `endpoint`; throws (EADDRINUSE, ...) when it cannot. */
  async bind(endpoint: string): Promise<void> {
    await this.#sock.bind(endpoint);
  }

  /** Requests being handled now (for tests and metrics). */
  get active(): number {
    return this.#active;
  }

  /**
   * Serves requests from the listed `peers` with `handle` until `close()`. A request that does
   * not decode gets an error reply and is reported to `onRejected`; a handler's throw becomes
   * an error reply. Call once.
   */
  start(peers: ReadonlySet<string>, handle: RequestHandler, onRejected: RejectionListener): void {
    if (this.#loop) throw new Error('the replier is already started');
    this.#loop = (async () => {
      try {
        for await (const parts of this.#sock) this.#receive(parts, peers, handle, onRejected);
      } catch {
        // The socket was closed: the loop ends.
      }
    })();
  }

  #receive(parts: Buffer[], peers: ReadonlySet<string>, handle: RequestHandler, onRejected: RejectionListener): void {
    const [id, delimiter, ...body] = parts;
    if (!id || !delimiter || delimiter.length !== 0) {
      // Not a REQ envelope (a DEALER or ROUTER client without the delimiter): nothing to reply to.
      onRejected('no request envelope', 'malformed');
      return;
    }
    const envelope = [id, EMPTY];
    if (this.#stoppingAt !== null) {
      this.#send(envelope, { v: 1, t: 'error', message: STOPPING_MESSAGE });
      return;
    }
    // Over CURVE a request is its bytes and their seal (stamp and signature); otherwise its bytes alone.
    const admit = this.#admit;
    const expected = admit ? 2 : 1;
    const payload = body[0];
    const req =
      body.length !== expected ? { ok: false as const, reason: `${body.length} message parts, expected ${expected}` }
      : !payload || payload.length === 0 ? { ok: false as const, reason: 'empty request' }
      : decodeRequest(payload, peers);
    if (!req.ok) {
      onRejected(req.reason, 'malformed');
      this.#send(envelope, { v: 1, t: 'error', message: req.reason });
      return;
    }
    const admitted = admit ? admit(req.value.from, payload!, body[1]) : null;
    if (admitted && !admitted.ok) {
      if (admitted.kind === 'replayed') {
        onRejected(admitted.reason, 'replayed', req.value.from);
        this.#send(envelope, { v: 1, t: 'error', message: admitted.reason, counter: admitted.counter });
      } else {
        onRejected(admitted.reason, 'impostor');
        this.#send(envelope, { v: 1, t: 'error', message: admitted.reason });
      }
      return;
    }
    if (this.#active >= this.#maxConcurrent) {
      this.#send(envelope, { v: 1, t: 'error', message: BUSY_MESSAGE });
      return;
    }
    this.#active++;
    void this.#run(handle, req.value).then((reply) => {
      this.#active--;
      this.#send(envelope, reply);
      if (this.#active === 0) for (const wake of this.#idle.splice(0)) wake();
    });
  }

  async #run(handle: RequestHandler, req: Request): Promise<Reply | EncodedReply> {
    try {
      return await handle(req);
    } catch (err) {
      return { v: 1, t: 'error', message: err instanceof Error ? err.message : String(err) };
    }
  }

  #send(envelope: Buffer[], reply: Reply | EncodedReply): void {
    if (this.#closed) return;
    let bytes: Buffer;
    try {
      bytes = reply instanceof EncodedReply ? reply.bytes : encode(reply);
    } catch (err) {
      bytes = encode({ v: 1, t: 'error', message: `cannot encode the reply: ${err instanceof Error ? err.message : String(err)}` });
    }
    this.#outbox.push([...envelope, bytes]);
  }

  /**
   * First phase of shutting down: from now on every request gets the error 'node is stopping'
   * at once, while the handlers already running go on; `close()` waits for them up to the
   * grace (`graceMs`, counted from this call). Idempotent; the node calls it as it starts to stop.
   */
  stopping(): void {
    this.#stoppingAt ??= performance.now();
  }

  /**
   * Calls `stopping()` if not yet done, waits until the running handlers have replied or the
   * grace has passed, then closes the socket (later replies are dropped). Never throws; idempotent.
   */
  close(): Promise<void> {
    this.stopping();
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    try {
      const left = this.#stoppingAt! + this.#graceMs - performance.now();
      if (this.#active > 0 && left > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => this.#idle.push(resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
        ]);
        clearTimeout(timer);
      }
      await this.#outbox.drained;
    } finally {
      // RACE: a 'node is stopping' reply queued after the flush above ends is dropped with the
      // socket; its requester times out, as it would against a node that is gone.
      this.#closed = true;
      this.#outbox.close();
      this.#sock.close();
    }
    await this.#loop;
  }
}
