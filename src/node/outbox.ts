import { LIMITS, type ChangeFrame, type Frame, type HaveFrame } from '../core/frame.js';
import type { Md5 } from '../core/types.js';
import type { FramePublisher } from '../net/publisher.js';
import type { NodeContext } from './context.js';

/** The peers a change is addressed to: those in reach, each with the incarnation we know. */
export interface Addressees {
  addressees(): Record<string, string>;
}

/** A change as a file's actor hands it over: the frame's fields that are the file's. */
export type Change = Pick<ChangeFrame, 'name' | 'prev' | 'also' | 'md5' | 'data' | 'size'>;

/**
 * The one sender of frames: builds change, have and heartbeat frames in this node's name and
 * incarnation, counts them, and hands them to the PUB socket (which may drop them: the digest
 * exchange repairs that).
 */
export class Outbox {
  readonly #ctx: NodeContext;
  readonly #publisher: FramePublisher;
  readonly #peers: Addressees;

  constructor(ctx: NodeContext, publisher: FramePublisher, peers: Addressees) {
    this.#ctx = ctx;
    this.#publisher = publisher;
    this.#peers = peers;
  }

  /**
   * A new version of a file, for the peers in reach that `include` picks (default all). A frame
   * for nobody is not sent: receivers would drop it.
   */
  change(c: Change, include?: (peer: string) => boolean): void {
    const to = this.#peers.addressees();
    if (include) for (const p of Object.keys(to)) if (!include(p)) delete to[p];
    if (Object.keys(to).length === 0) return;
    this.#send({ v: 1, t: 'change', from: this.#ctx.node, epoch: this.#ctx.epoch, ...c, ts: this.#ctx.clock.wall(), to });
  }

  /**
   * "My copy of `name` is now `md5`": in answer to change `re`, naming the node it is in
   * split-brain with and why it could not write or take `re` (`error`: one line, cut to
   * LIMITS.error), or unprompted.
   */
  have(name: string, md5: Md5 | null, re: Md5 | null, conflict: string | null, error?: string | null): void {
    const frame: HaveFrame = { v: 1, t: 'have', from: this.#ctx.node, epoch: this.#ctx.epoch, name, md5, re, conflict };
    this.#send(error && re !== null ? { ...frame, error: oneLine(error, LIMITS.error) } : frame);
  }

  /** Liveness, with the digest sum of this node's files so a peer notices a drift. */
  heartbeat(sum: string): void {
    this.#send({ v: 1, t: 'hb', from: this.#ctx.node, epoch: this.#ctx.epoch, sum });
  }

  #send(frame: Frame): void {
    const m = this.#ctx.metrics;
    m.framesSent.inc({ kind: frame.t });
    if (frame.t === 'change' && frame.data) m.bytesReplicated.inc({ direction: 'sent' }, frame.data.length);
    this.#publisher.publish(frame);
  }
}

/** `text` on one line (line breaks become spaces), at most `max` characters (an ellipsis when cut). */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
