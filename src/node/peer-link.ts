import { createHash } from 'node:crypto';
import type { PeerSpec } from '../config/settings.js';
import type { Md5 } from '../core/types.js';
import type { Logger } from '../log.js';
import { PeerRequester } from '../net/requester.js';
import { PeerSubscriber } from '../net/subscriber.js';

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

export function createPeerLink(spec: PeerSpec, log: Logger, requestTimeoutMs: number): PeerLink {
  return {
    spec,
    log: log.child({ peer: spec.name }),
    requester: new PeerRequester(spec.rep, requestTimeoutMs),
    subscriber: new PeerSubscriber(spec.pub),
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
