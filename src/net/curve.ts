import { randomBytes } from 'node:crypto';
import { Context, type Socket } from 'zeromq';
import type { CurveKeys, PeerSpec, Settings } from '../config/settings.js';
import { admitRequest, firstCounter, type ReplayState } from '../core/replay.js';
import type { Logger } from '../log.js';
import { checkSeal, openSeal, requestKey, sealRequest, type OpenedSeal } from './curve-keys.js';
import { PeerKeyRing, type PeerCurve } from './peer-keys.js';
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
   * Whether `seal` signs a request's bytes as coming from the listed peer `from` (one of its keys
   * and ours): ZAP admits any listed key, this proves which listed node is speaking. No state.
   */
  signedBy(from: string, payload: Uint8Array, seal: Buffer | undefined): boolean;
  /**
   * Whether a request is taken: signed by `from` (signedBy), and not a replay of one already
   * taken, nor of an earlier run of `from` (see core/replay). A taken request is remembered.
   */
  admit(from: string, payload: Uint8Array, seal: Buffer | undefined): Admission;
}

/** A request's fate at the door: taken, or refused as another node's (impostor) or as a replay. */
export type Admission =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: 'impostor'; readonly reason: string }
  | { readonly ok: false; readonly kind: 'replayed'; readonly reason: string; readonly counter: number };

/** Seals the bytes of a request to one peer with this node's epoch and its next counter for that peer (see ServerSecurity.admit). */
export type RequestSigner = (payload: Uint8Array) => Buffer;

/** Options of a socket connected to a peer (SUB, REQ): a CURVE client that accepts only the key it expects the peer to present. */
export interface CurveClientOptions {
  readonly context: Context;
  readonly curveServerKey: string;
  readonly curvePublicKey: string;
  readonly curveSecretKey: string;
}

/**
 * CURVE on every ZeroMQ link of one node. Its sockets share one context with the ZAP handler,
 * which admits only the listed peers' keys (every key of a peer's list, as that peer); a refused
 * key gets a warn line (rate-limited). `setPeers` replaces the lists while the node runs.
 */
export class LinkSecurity {
  readonly server: ServerSecurity;
  readonly #keys: CurveKeys;
  readonly #context = new Context({ blocky: false });
  readonly #zap: ZapHandler;
  readonly #log: Logger;
  readonly #throttle = new RefusalThrottle();
  /** Each listed peer's keys. */
  #peerKeys = new Map<string, readonly string[]>();
  /** The request key shared with the holder of each public key (ours × theirs, see requestKey). */
  readonly #requestKeys = new Map<string, Buffer>();
  /** This node's run, as its requests' seals say. */
  readonly #epoch: string;
  /** The counter of this node's next request to each peer (from this run's start, see core/replay). */
  readonly #counters = new Map<string, number>();
  readonly #firstCounter: number;
  /** What this node took from each peer: the replay window of its requests. */
  readonly #taken = new Map<string, ReplayState>();

  /** `epoch`: this node's run (random by default); `startMs`: its wall-clock start, where its request counters begin. */
  constructor(keys: CurveKeys, peers: readonly PeerSpec[], log: Logger, epoch = randomBytes(8).toString('hex'), startMs = Date.now()) {
    this.#keys = keys;
    this.#log = log;
    this.#epoch = epoch;
    this.#firstCounter = firstCounter(startMs);
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
        if (code === 'ERR_ZMTP_CRYPTOGRAPHIC') {
          // The client's HELLO does not open with our key: a peer that still lists an old key of
          // this node (it tries its next one) or a stranger; either way it is anonymous here,
          // and a peer none of whose keys works says so in its own log.
          this.#refused(code, { key: null, endpoint, error: code }, 'a CURVE handshake failed: the client expects another public key of this node', 'info');
          return;
        }
        const without = code === 'ERR_ZMTP_MECHANISM_MISMATCH';
        this.#refused(
          code,
          { key: null, endpoint, error: code },
          without ? 'refused a connection without CURVE' : 'refused a connection: its CURVE handshake failed',
        );
      },
      signedBy: (from: string, payload: Uint8Array, seal: Buffer | undefined) => {
        const opened = seal === undefined ? null : openSeal(seal);
        return opened !== null && this.#signedBy(from, payload, opened);
      },
      admit: (from: string, payload: Uint8Array, seal: Buffer | undefined): Admission => {
        const opened = seal === undefined ? null : openSeal(seal);
        if (opened === null || !this.#signedBy(from, payload, opened)) {
          return { ok: false, kind: 'impostor', reason: `not signed by ${from}: a request in another node's name` };
        }
        // Signed by `from`: only now may its stamp move the window (a forged one never does).
        const prior = this.#taken.get(from) ?? null;
        const verdict = admitRequest(prior, opened.stamp);
        if (verdict.accept) {
          this.#taken.set(from, verdict.state);
          return { ok: true };
        }
        return {
          ok: false,
          kind: 'replayed',
          reason: `a replayed request (${verdict.reason}): counter ${opened.stamp.counter} of run ${opened.stamp.epoch}, while ${prior!.highest} of run ${prior!.epoch} was taken from ${from}`,
          counter: prior!.highest,
        };
      },
    });
    this.#zap = new ZapHandler(this.#context, new Map(), (v) => {
      this.#refused(
        v.key ?? v.mechanism,
        { key: v.key?.slice(0, 8) ?? null, mechanism: v.mechanism, address: v.address },
        'refused a connection: its CURVE key is not a listed peer\'s',
      );
    });
    this.setPeers(peers);
  }

  /**
   * Replaces the listed peers and their keys (a reload): the keys the ZAP handler admits from the
   * next handshake on, and those requests are checked against from the next request on.
   */
  setPeers(peers: readonly PeerSpec[]): void {
    const peerKeys = new Map<string, readonly string[]>();
    const allowed = new Map<string, string>();
    for (const p of peers) {
      peerKeys.set(p.name, [...p.publicKeys]);
      for (const key of p.publicKeys) allowed.set(key, p.name);
    }
    this.#peerKeys = peerKeys;
    this.#zap.allowed = allowed;
    for (const key of this.#requestKeys.keys()) if (!allowed.has(key)) this.#requestKeys.delete(key);
    for (const name of this.#taken.keys()) if (!peerKeys.has(name)) this.#taken.delete(name);
  }

  #signedBy(from: string, payload: Uint8Array, opened: OpenedSeal): boolean {
    // libzmq does not tell which of the peer's keys this connection presented: try each.
    const listed = this.#peerKeys.get(from);
    if (listed === undefined) return false;
    let signed = false;
    for (const key of listed) signed = checkSeal(this.#requestKey(key), payload, opened) || signed;
    return signed;
  }

  #requestKey(publicKey: string): Buffer {
    let key = this.#requestKeys.get(publicKey);
    if (key === undefined) {
      key = requestKey(this.#keys.secretKey, publicKey);
      this.#requestKeys.set(publicKey, key);
    }
    return key;
  }

  /** One line (warn unless told) per refused kind or key, rate-limited (a scanner cannot flood the log). */
  #refused(throttleKey: string, fields: Record<string, unknown>, msg: string, level: 'warn' | 'info' = 'warn'): void {
    const suppressed = this.#throttle.admit(throttleKey, performance.now());
    if (suppressed === null) return;
    this.#log[level]({ peer: 'unknown', ...fields, suppressed }, msg);
  }

  /** Options of a SUB or REQ socket that expects its peer to present `serverKey`. */
  client(serverKey: string): CurveClientOptions {
    return Object.freeze({
      context: this.#context,
      curveServerKey: serverKey,
      curvePublicKey: this.#keys.publicKey,
      curveSecretKey: this.#keys.secretKey,
    });
  }

  /**
   * The signer of this node's requests to `peer`, which presents `serverKey` (the key it
   * connected with): each request gets this run's epoch and the peer's next counter.
   */
  signer(peer: string, serverKey: string): RequestSigner {
    const key = this.#requestKey(serverKey);
    return (payload) => {
      const counter = this.#counters.get(peer) ?? this.#firstCounter;
      this.#counters.set(peer, counter + 1);
      return sealRequest(key, payload, { epoch: this.#epoch, counter });
    };
  }

  /**
   * `peer` refused a request as a replay, having taken `counter` from this node: requests to it
   * count on from above that (this node's clock went back since an earlier run, or the peer lies
   * to itself: either way only that peer's counter moves).
   */
  countAbove(peer: string, counter: number): void {
    if (Number.isSafeInteger(counter + 1) && counter + 1 > (this.#counters.get(peer) ?? this.#firstCounter)) this.#counters.set(peer, counter + 1);
  }

  /** How `peer`'s sockets reach it: its listed keys, tried in turn (see PeerKeyRing). */
  peerCurve(peer: PeerSpec, log: Logger, onExhausted: () => void): PeerCurve {
    return Object.freeze({
      keys: new PeerKeyRing(peer.publicKeys, log, onExhausted),
      options: (serverKey: string) => this.client(serverKey),
      signer: (serverKey: string) => this.signer(peer.name, serverKey),
      countAbove: (counter: number) => this.countAbove(peer.name, counter),
    });
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
export function createLinkSecurity(settings: Settings, log: Logger, epoch: string): LinkSecurity | null {
  return settings.security ? new LinkSecurity(settings.security.curve, settings.peers, log, epoch) : null;
}

/** Reports the failed handshakes of a bound socket; ZAP refusals are reported by the ZAP handler. */
export function watchHandshakes(sock: Socket, security: ServerSecurity): void {
  sock.events.on('handshake:error:protocol', (e) => security.handshakeFailed(e.address, e.error.code));
}
