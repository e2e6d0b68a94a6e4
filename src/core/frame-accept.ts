import type { FrameKind } from './frame.js';

/** Whether a frame from a peer is taken up, and if not why. */
export type FrameVerdict =
  | { readonly kind: 'heartbeat' }
  | { readonly kind: 'accept' }
  | { readonly kind: 'drop'; readonly reason: 'out of reach' | 'not addressed' };

export interface FrameAcceptFacts {
  readonly kind: FrameKind;
  /** The incarnation the frame comes from. */
  readonly epoch: string;
  /** For a change: the peers it is for, each with the incarnation the sender knows it by. */
  readonly to?: Readonly<Record<string, string>>;
  /** What this node knows of the sender's link. */
  readonly link: { readonly connected: boolean; readonly epoch: string | null; readonly needsConnectExchange: boolean };
  /** This node's name and incarnation. */
  readonly self: { readonly node: string; readonly epoch: string };
}

/** Decides whether a decoded frame is taken up: reach, incarnation, addressee. */
export function acceptFrame(f: FrameAcceptFacts): FrameVerdict {
  // Heartbeats are how a peer comes into reach: always heard.
  if (f.kind === 'hb') return { kind: 'heartbeat' };
  // From a peer not (yet again) in reach, from another incarnation, or before the connect
  // exchange is done: the exchange decides, and a change still wanted is retransmitted.
  if (!f.link.connected || f.epoch !== f.link.epoch || f.link.needsConnectExchange) return { kind: 'drop', reason: 'out of reach' };
  if (f.kind === 'have') return { kind: 'accept' };
  // A change sent while the sender did not have this incarnation of us in reach.
  if (f.to === undefined || !Object.hasOwn(f.to, f.self.node) || f.to[f.self.node] !== f.self.epoch) return { kind: 'drop', reason: 'not addressed' };
  return { kind: 'accept' };
}
