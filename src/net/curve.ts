import { Context, type Socket } from 'zeromq';
import type { CurveKeys, PeerSpec, Settings } from '../config/settings.js';
import type { Logger } from '../log.js';
import { checkRequestSignature, requestKey, signRequest } from './curve-keys.js';
import { RefusalThrottle, ZAP_DOMAIN, ZapHandler } from './zap.js';

/** The start-up warning of a node without `security`. */
export const UNAUTHENTICATED_WARNING =
  'm2m links are unauthenticated and unencrypted: anyone who can reach m2m.pub and m2m.rep can read and rewrite what this node replicates; set security.curve (keys from `entangled keygen`)';

/** Options of a bound socket (PUB, REP): a CURVE server that asks the ZAP handler about every client. */
export interface CurveServerOptions {
  readonly context: Context;
  readonly curveServer: true;
  readonly curvePublicKey: string;
  readonly curveSecretKey: string;
  readonly zapDomain: string;
  readonly zapEnforceDomain: true;
}

/** What a bound socket (PUB, REP) needs when links are secured. */
export interface ServerSecurity {
  readonly options: CurveServerOptions;
  /** Reports a handshake that failed before ZAP was asked (no CURVE, or not this node's key). */
  handshakeFailed(endpoint: string, code: string): void;
  /**
   * Whether `mac` signs a request's bytes as coming from the listed peer `from` (its key and
   * ours): ZAP admits any listed key, this proves which listed node is speaking.
   */
  signedBy(from: string, payload: Uint8Array, mac: Uint8Array | undefined): boolean;
}

/** Signs the bytes of a request to one peer (see ServerSecurity.signedBy). */
export type RequestSigner = (payload: Uint8Array) => Buffer;

/** Options of a socket connected to a peer (SUB, REQ): a CURVE client that accepts only the peer's key. */
export interface CurveClientOptions {
  readonly context: Context;
  readonly curveServerKey: string;
  readonly curvePublicKey: string;
  readonly curveSecretKey: string;
}

/**
 * CURVE on every ZeroMQ link of one node. Its sockets share one context with the ZAP handler,
 * which admits only the listed peers' keys; a refused key gets a warn line (rate-limited).
 */
export class LinkSecurity {
  readonly server: ServerSecurity;
  readonly #keys: CurveKeys;
  readonly #context = new Context({ blocky: false });
  readonly #zap: ZapHandler;
  readonly #log: Logger;
  readonly #throttle = new RefusalThrottle();
  /** The request key shared with each listed peer. */
  readonly #requestKeys = new Map<string, Buffer>();
  /** The admitted client keys and the peer each names (the ZAP handler reads it). */
  readonly #allowed = new Map<string, string>();

  constructor(keys: CurveKeys, peers: readonly PeerSpec[], log: Logger) {
    this.#keys = keys;
    this.#log = log;
    for (const p of peers) if (p.publicKey) this.#requestKeys.set(p.name, requestKey(keys.secretKey, p.publicKey));
    const options: CurveServerOptions = Object.freeze({
      context: this.#context,
      curveServer: true,
      curvePublicKey: keys.publicKey,
      curveSecretKey: keys.secretKey,
      zapDomain: ZAP_DOMAIN,
      zapEnforceDomain: true,
    });
    this.server = Object.freeze({
      options,
      handshakeFailed: (endpoint: string, code: string) => {
        const without = code === 'ERR_ZMTP_MECHANISM_MISMATCH';
        this.#refused(
          code,
          { key: null, endpoint, error: code },
          without
            ? 'refused a connection without CURVE'
            : 'refused a connection: its CURVE handshake failed (a client that does not use this node\'s public key)',
        );
      },
      signedBy: (from: string, payload: Uint8Array, mac: Uint8Array | undefined) => {
        const key = this.#requestKeys.get(from);
        return key !== undefined && mac !== undefined && checkRequestSignature(key, payload, mac);
      },
    });
    const allowed = this.#allowed;
    for (const p of peers) if (p.publicKey) allowed.set(p.publicKey, p.name);
    this.#zap = new ZapHandler(this.#context, allowed, (v) => {
      this.#refused(
        v.key ?? v.mechanism,
        { key: v.key?.slice(0, 8) ?? null, mechanism: v.mechanism, address: v.address },
        'refused a connection: its CURVE key is not a listed peer\'s',
      );
    });
  }

  /** A reload's peers: their keys are admitted (and only theirs) from the next handshake and request on. */
  setPeers(peers: readonly PeerSpec[]): void {
    this.#allowed.clear();
    this.#requestKeys.clear();
    for (const p of peers) {
      if (!p.publicKey) continue;
      this.#allowed.set(p.publicKey, p.name);
      this.#requestKeys.set(p.name, requestKey(this.#keys.secretKey, p.publicKey));
    }
  }

  /** One warn line per refused kind or key, rate-limited (a scanner cannot flood the log). */
  #refused(throttleKey: string, fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.#throttle.admit(throttleKey, performance.now());
    if (suppressed === null) return;
    this.#log.warn({ peer: 'unknown', ...fields, suppressed }, msg);
  }

  /** Options of the SUB and REQ sockets connected to `peer`. */
  client(peer: PeerSpec): CurveClientOptions {
    if (!peer.publicKey) throw new Error(`peer ${peer.name} has no publicKey`);
    return Object.freeze({
      context: this.#context,
      curveServerKey: peer.publicKey,
      curvePublicKey: this.#keys.publicKey,
      curveSecretKey: this.#keys.secretKey,
    });
  }

  /** The signer of this node's requests to `peer`. */
  signer(peer: PeerSpec): RequestSigner {
    const key = this.#requestKeys.get(peer.name);
    if (!key) throw new Error(`peer ${peer.name} has no publicKey`);
    return (payload) => signRequest(key, payload);
  }

  /** Binds the ZAP handler: call before binding a server socket (until then, every client is refused). */
  async start(): Promise<void> {
    await this.#zap.start();
    this.#log.info({ publicKey: this.#keys.publicKey }, 'm2m links use CURVE; only the listed peers\' keys are accepted');
  }

  async close(): Promise<void> {
    await this.#zap.close();
  }
}

/** The node's link security, or null when `security` is not configured. */
export function createLinkSecurity(settings: Settings, log: Logger): LinkSecurity | null {
  return settings.security ? new LinkSecurity(settings.security.curve, settings.peers, log) : null;
}

/** Reports the failed handshakes of a bound socket; ZAP refusals are reported by the ZAP handler. */
export function watchHandshakes(sock: Socket, security: ServerSecurity): void {
  sock.events.on('handshake:error:protocol', (e) => security.handshakeFailed(e.address, e.error.code));
}
