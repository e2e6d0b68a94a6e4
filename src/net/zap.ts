import { Router, type Context } from 'zeromq';
import { z85Encode } from './curve-keys.js';

/** Where libzmq asks for a verdict on every CURVE handshake of a server socket in the same context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/**
 * The ZAP domain of this node's servers. It must not be empty: with zapEnforceDomain, libzmq
 * skips ZAP for an empty domain, and without zapEnforceDomain it admits everyone when no
 * handler is bound. With both set, a missing handler refuses every connection.
 */
export const ZAP_DOMAIN = 'entangled';

/** The verdict on one ZAP request. */
export interface ZapVerdict {
  readonly allowed: boolean;
  /** The listed peer the key belongs to, null when refused. */
  readonly peer: string | null;
  /** The client's public key in Z85, null when it did not offer one (not CURVE). */
  readonly key: string | null;
  /** The client's address as libzmq reports it (an IP for tcp). */
  readonly address: string;
  readonly mechanism: string;
}

/**
 * Judges one ZAP request (RFC 27: version, request id, domain, address, identity, mechanism,
 * credentials): only CURVE with a 32-byte key listed in `allowed` (Z85 key → peer name) passes.
 */
export function judgeZap(body: readonly Buffer[], allowed: ReadonlyMap<string, string>): ZapVerdict {
  const [version, , domain, address, , mechanism, ...credentials] = body;
  const mech = mechanism?.toString('latin1') ?? '';
  const credential = credentials[0];
  const key = mech === 'CURVE' && credentials.length === 1 && credential?.length === 32 ? z85Encode(credential) : null;
  const peer = key !== null && version?.toString('latin1') === '1.0' && domain?.toString('latin1') === ZAP_DOMAIN ? (allowed.get(key) ?? null) : null;
  return { allowed: peer !== null, peer, key, address: address?.toString('latin1') ?? '', mechanism: mech };
}

/**
 * Decides which refusals get a log line, so that a scanner or a misconfigured peer (which
 * retries every few hundred ms) cannot flood the log: per window, one line per key and at most
 * `maxLines` lines in all. Memory stays bounded by `maxLines` keys.
 */
export class RefusalThrottle {
  #windowStart = Number.NEGATIVE_INFINITY;
  readonly #logged = new Set<string>();
  #suppressed = 0;

  constructor(
    readonly windowMs = 60_000,
    readonly maxLines = 5,
  ) {}

  /** Null when this refusal stays silent; otherwise how many refusals went unlogged since the last line. */
  admit(key: string, now: number): number | null {
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now;
      this.#logged.clear();
    }
    if (this.#logged.has(key) || this.#logged.size >= this.maxLines) {
      this.#suppressed++;
      return null;
    }
    this.#logged.add(key);
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return suppressed;
  }
}

/**
 * The ZAP handler of one ZeroMQ context: a ROUTER on ZAP_ENDPOINT that answers 200 (user id:
 * the peer's name) for a listed key and 400 for anything else. Bind it before any server socket
 * of the context binds.
 */
export class ZapHandler {
  readonly #sock: Router;
  #loop: Promise<void> | null = null;

  /**
   * `allowed`: Z85 key → peer name. It may be replaced at any time (a reload): handshakes from
   * then on are judged against the new map; connections already admitted stay up.
   */
  constructor(
    context: Context,
    public allowed: ReadonlyMap<string, string>,
    readonly onRefused: (verdict: ZapVerdict) => void,
  ) {
    this.#sock = new Router({ context, linger: 0 });
  }

  /** Binds the handler and starts answering. Throws when the endpoint is taken in this context. */
  async start(): Promise<void> {
    await this.#sock.bind(ZAP_ENDPOINT);
    this.#loop = (async () => {
      try {
        for await (const [routingId, delimiter, ...body] of this.#sock) {
          const verdict = judgeZap(body, this.allowed);
          if (!verdict.allowed) this.onRefused(verdict);
          const status = verdict.allowed ? ['200', 'OK'] : ['400', 'key not listed'];
          try {
            await this.#sock.send([routingId ?? null, delimiter ?? null, '1.0', body[1] ?? null, ...status, verdict.peer, null]);
          } catch {
            // The connection being judged went away; libzmq drops the request with it.
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
