import { decideIncoming, isSuperseded } from '../core/decide.js';
import type { ChangeFrame } from '../core/frame.js';
import type { Md5 } from '../core/types.js';
import type { NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';
import type { Outbox } from './outbox.js';
import type { PeerSession } from './peer-session.js';
import type { Transfer } from './transfer.js';
import { mark } from '../trace.js';

/**
 * One peer's changes to our files: each waits in its file's queue, then is decided against
 * the copy on disk (apply on `prev`, split-brain otherwise), written through the transfer,
 * and answered with a `have` frame (the ack).
 */
export class IncomingChanges {
  readonly #peer: PeerSession;
  readonly #ctx: NodeContext;
  readonly #outbox: Outbox;
  readonly #transfer: Transfer;

  constructor(peer: PeerSession, ctx: NodeContext, outbox: Outbox, transfer: Transfer) {
    this.#peer = peer;
    this.#ctx = ctx;
    this.#outbox = outbox;
    this.#transfer = transfer;
  }

  /** Queues an accepted change frame behind whatever the file is doing. */
  enqueue(actor: FileActor, frame: ChangeFrame): void {
    actor.log.debug({ peer: this.#peer.name, md5: frame.md5, prev: frame.prev }, 'change received');
    actor.incoming.push(frame);
    this.#transfer.queued(1);
    void actor.queue.push(() => this.#take(actor, frame));
  }

  async #take(actor: FileActor, frame: ChangeFrame): Promise<void> {
    actor.incoming.splice(actor.incoming.indexOf(frame), 1);
    this.#transfer.queued(-1);
    if (this.#ctx.stopping) return;
    const peer = this.#peer;
    const facts = actor.peer(peer.name);
    const local = await actor.localNow();
    if (local === undefined) return;
    // A later change of the same sender, already waiting, replaces this one and lists our copy
    // among the versions it supersedes: skip the write of a version that would live microseconds.
    if (isSuperseded(local, frame, actor.incoming)) {
      actor.log.debug({ peer: peer.name, md5: frame.md5 }, 'skipped a change superseded by a queued one');
      return;
    }
    const decision = decideIncoming({ local, prev: frame.prev, also: frame.also, md5: frame.md5, peer: facts, history: actor.history });
    peer.agreement.learn(actor, frame.md5);
    switch (decision.kind) {
      case 'stale':
        actor.log.debug({ peer: peer.name, md5: frame.md5 }, 'ignored a change to a version this node already moved on from');
        this.#outbox.have(actor.spec.name, local, frame.md5, null);
        return;
      case 'already':
        peer.agreement.agree(actor, frame.md5);
        this.#outbox.have(actor.spec.name, frame.md5, frame.md5, null);
        return;
      case 'split-brain':
        peer.agreement.splitBrain(actor, frame.md5);
        this.#outbox.have(actor.spec.name, local, frame.md5, peer.name, this.#splitBrainError(local, frame.prev));
        return;
      case 'apply': {
        // Refused a moment ago: not run again, but the sender is told again (it retransmits).
        if (this.#transfer.refusedRecently(actor, frame.md5)) return this.#cannotWrite(actor, local, frame.md5);
        mark('decided');
        const outcome = await this.#transfer.write(actor, { md5: frame.md5, content: frame.data ?? { source: peer, size: frame.size }, from: peer.name, expected: local });
        if (outcome === 'written') {
          peer.agreement.agree(actor, frame.md5);
          this.#outbox.have(actor.spec.name, frame.md5, frame.md5, null);
          actor.log.info({ peer: peer.name, md5: frame.md5, reason: decision.reason, latencyMs: this.#ctx.clock.wall() - frame.ts }, 'applied change from peer');
          // Passed on like a change of our own, after the ack, to the peers the sender could not address.
          actor.publish(local, frame, peer.name, frame.to);
        } else if (outcome === 'changed') {
          // A local edit landed while we wrote: it was published; both sides changed.
          peer.agreement.splitBrain(actor, frame.md5);
          this.#outbox.have(actor.spec.name, actor.local.md5, frame.md5, peer.name, `split-brain: ${this.#ctx.node}'s copy changed while this version was being written; neither copy was overwritten`);
        } else this.#cannotWrite(actor, local, frame.md5);
        return;
      }
    }
  }

  /**
   * The write of `md5` failed: the sender is told why (a have naming our copy and the error,
   * which is no ack: it keeps the change in flight, retransmits it, and we retry once the cause
   * is gone). A failure with nothing to show (a transfer abandoned) is not reported: the
   * retransmission comes all the same.
   */
  #cannotWrite(actor: FileActor, local: Md5 | null, md5: Md5): void {
    const error = actor.writeErrorFor(md5);
    if (error !== null) this.#outbox.have(actor.spec.name, local, md5, null, error);
  }

  /** Why a change on `prev` is not applied to our copy `local`: a split-brain, as the sender shows it. */
  #splitBrainError(local: Md5 | null, prev: Md5 | null): string {
    const version = (m: Md5 | null) => m ?? 'absent';
    return `split-brain: ${this.#ctx.node}'s copy is ${version(local)}, not ${version(prev)} (the version this change replaces); neither copy was overwritten`;
  }
}
