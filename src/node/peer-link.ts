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
}

/** A peer's sockets, secured by `security` when the node has CURVE keys; refused handshakes are logged (at most once a minute). */
export function createPeerSockets(spec: PeerSpec, log: Logger, requestTimeoutMs: number, security: LinkSecurity | null = null): PeerSockets {
  const curve = security?.client(spec) ?? null;
  let warnedAt = Number.NEGATIVE_INFINITY;
  const onRefused = (failure: HandshakeFailure, message: string): void => {
    const now = performance.now();
    if (now - warnedAt < REFUSED_WARN_EVERY_MS) return;
    warnedAt = now;
    log.warn(
      { endpoint: spec.pub, error: message },
      failure === 'auth'
        ? 'the peer refused this node\'s CURVE key (is security.curve.publicKey listed as this node\'s publicKey in the peer\'s config?)'
        : 'CURVE handshake with the peer failed (does the peer have security.curve set?)',
    );
  };
  return {
    requester: new PeerRequester(spec.rep, requestTimeoutMs, curve, security?.signer(spec) ?? null),
    subscriber: new PeerSubscriber(spec.pub, curve, onRefused),
  };
}
