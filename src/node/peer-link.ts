import type { PeerSpec } from '../config/settings.js';
import type { Logger } from '../log.js';
import type { LinkSecurity } from '../net/curve.js';
import { PeerRequester } from '../net/requester.js';
import { PeerSubscriber, type HandshakeFailure } from '../net/subscriber.js';

/** A peer that keeps refusing the handshake gets one warn line this often. */
const REFUSED_WARN_EVERY_MS = 60_000;

/** The two sockets that reach one peer: its change frames (SUB) and its digests and pulls (REQ). */
export interface PeerSockets {
  readonly requester: PeerRequester;
  readonly subscriber: PeerSubscriber;
  /**
   * Takes the peer's new list of CURVE keys (a reload): the sockets reconnect only when the key
   * they use is no longer listed. Returns whether they do. Without CURVE, nothing to do.
   */
  updateKeys(keys: readonly string[]): boolean;
}

/**
 * A peer's sockets, secured by `security` when the node has CURVE keys: they try the peer's
 * listed keys in turn. Refused handshakes, and rounds in which none of the keys worked, are
 * logged (at most once a minute).
 */
export function createPeerSockets(spec: PeerSpec, log: Logger, requestTimeoutMs: number, security: LinkSecurity | null = null): PeerSockets {
  let warnedAt = Number.NEGATIVE_INFINITY;
  const onRefused = (failure: HandshakeFailure | 'keys', message: string): void => {
    const now = performance.now();
    if (now - warnedAt < REFUSED_WARN_EVERY_MS) return;
    warnedAt = now;
    log.warn(
      { endpoint: spec.pub, error: message },
      failure === 'auth' ? 'the peer refused this node\'s CURVE key (is security.curve.publicKey listed as this node\'s publicKey in the peer\'s config?)'
      : failure === 'keys' ? 'CURVE handshake with the peer failed with every key listed for it (is its current security.curve.publicKey in peers[].publicKey?)'
      : 'CURVE handshake with the peer failed (does the peer have security.curve set?)',
    );
  };
  const curve = security?.peerCurve(spec, log, () => onRefused('keys', `none of the ${curve!.keys.keys.length} listed keys`)) ?? null;
  return {
    requester: new PeerRequester(spec.rep, requestTimeoutMs, curve, spec.name),
    subscriber: new PeerSubscriber(spec.pub, curve, onRefused),
    updateKeys: (keys) => curve?.keys.replace(keys) ?? false,
  };
}
