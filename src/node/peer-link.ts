import { createHash } from 'node:crypto';
import type { PeerSpec } from '../config/settings.js';
import type { Md5 } from '../core/types.js';
import type { Logger } from '../log.js';
import type { LinkSecurity } from '../net/curve.js';
import { PeerRequester } from '../net/requester.js';
import { PeerSubscriber, type HandshakeFailure } from '../net/subscriber.js';

/** A peer that keeps refusing the handshake gets one warn line this often. */
const REFUSED_WARN_EVERY_MS = 60_000;

/** One peer: its sockets, its liveness and what it last reported of its digests. */
export interface PeerLink {
  readonly spec: PeerSpec;
  readonly log: Logger;
  readonly requester: PeerRequester;
  readonly subscriber: PeerSubscriber;
  connected: boolean;
  epoch: string | null;
  lastSeen: number | null;
  exchanging: boolean;
  needsConnectExchange: boolean;
  lastRefresh: number;
  /** The peer's whole digest map as last reported (all its names), for heartbeat sums. */
  remote: Map<string, Md5 | null>;
  remoteSum: string | null;
}

/** A peer's link, its sockets secured by `security` when the node has CURVE keys. */
export function createPeerLink(spec: PeerSpec, log: Logger, requestTimeoutMs: number, security: LinkSecurity | null = null): PeerLink {
  const peerLog = log.child({ peer: spec.name });
  const curve = security?.client(spec) ?? null;
  let warnedAt = Number.NEGATIVE_INFINITY;
  const onRefused = (failure: HandshakeFailure, message: string): void => {
    const now = Date.now();
    if (now - warnedAt < REFUSED_WARN_EVERY_MS) return;
    warnedAt = now;
    peerLog.warn(
      { endpoint: spec.pub, error: message },
      failure === 'auth'
        ? 'the peer refused this node\'s CURVE key (is security.curve.publicKey listed as this node\'s publicKey in the peer\'s config?)'
        : 'CURVE handshake with the peer failed (does the peer have security.curve set?)',
    );
  };
  return {
    spec,
    log: peerLog,
    requester: new PeerRequester(spec.rep, requestTimeoutMs, curve),
    subscriber: new PeerSubscriber(spec.pub, curve, onRefused),
    connected: false,
    epoch: null,
    lastSeen: null,
    exchanging: false,
    needsConnectExchange: false,
    lastRefresh: 0,
    remote: new Map(),
    remoteSum: null,
  };
}

/** A digest of a digest map, order-independent: heartbeats carry it so drift is noticed. */
export function digestSum(entries: Iterable<[string, Md5 | null]>): string {
  const lines = [...entries].map(([n, m]) => `${n}\0${m ?? '-'}`).sort();
  return createHash('md5').update(lines.join('\n')).digest('hex');
}
