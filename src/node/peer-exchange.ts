import { errorText } from '../core/errors.js';
import type { DigestsReply, Reply } from '../core/frame.js';
import { decideDigest } from '../core/peer-report.js';
import { reconcileOnConnect } from '../core/decide.js';
import type { Md5 } from '../core/types.js';
import type { NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';
import type { FileTable } from './file-table.js';
import type { Outbox } from './outbox.js';
import type { PeerSession } from './peer-session.js';
import type { Transfer } from './transfer.js';

/**
 * The digest exchange with one peer: on a (re)connect it decides every file (reconcile, per
 * the journal in `auto` mode); otherwise it refreshes what we know of the peer's copies.
 */
export class PeerExchange {
  /** An exchange is on its way (one at a time). */
  running = false;
  /** When the peer's digests were last fetched (monotonic). */
  lastRefresh = Number.NEGATIVE_INFINITY;
  readonly #peer: PeerSession;
  readonly #ctx: NodeContext;
  readonly #files: FileTable;
  readonly #outbox: Outbox;
  readonly #transfer: Transfer;

  constructor(peer: PeerSession, ctx: NodeContext, files: FileTable, outbox: Outbox, transfer: Transfer) {
    this.#peer = peer;
    this.#ctx = ctx;
    this.#files = files;
    this.#outbox = outbox;
    this.#transfer = transfer;
  }

  /** Asks the peer for its digests and acts on them; a failure is logged and retried at the next tick. */
  async run(): Promise<void> {
    const peer = this.#peer;
    if (this.running || this.#ctx.stopping) return;
    this.running = true;
    const connect = peer.needsConnectExchange;
    const startedAt = peer.agreement.learnedCount;
    const epoch = peer.epoch;
    try {
      const reply = await peer.requester.request({ v: 1, t: 'digests', from: this.#ctx.node, epoch: this.#ctx.epoch });
      if (reply.t !== 'digests' || reply.from !== peer.name) {
        peer.log.warn({ kind: reply.t }, 'digest exchange: the peer sent an unexpected reply');
        return;
      }
      // The peer went away or restarted meanwhile: that incarnation's exchange comes.
      if (!peer.connected || peer.epoch !== epoch || reply.epoch !== epoch) return;
      this.lastRefresh = this.#ctx.clock.now();
      this.#apply(reply, connect, startedAt);
      if (connect) peer.needsConnectExchange = false;
    } catch (err) {
      peer.log.warn({ err: errorText(err), connect }, 'digest exchange failed; retrying');
    } finally {
      this.running = false;
    }
  }

  #apply(reply: DigestsReply, connect: boolean, startedAt: number): void {
    const peer = this.#peer;
    const pending = new Set(reply.pending);
    peer.agreement.replaceRemote(reply.files, reply.agreed);
    const unlisted: FileActor[] = [];
    for (const actor of this.#files) {
      const facts = actor.peer(peer.name);
      // A frame told us something newer while the request was on its way.
      if (facts.learnedAt > startedAt) continue;
      // The peer does not list the name: nothing to reconcile; said once, when that is news.
      if (!Object.hasOwn(reply.files, actor.spec.name)) {
        if (peer.agreement.notListed(actor)) unlisted.push(actor);
        continue;
      }
      const remote = reply.files[actor.spec.name] ?? null;
      peer.agreement.knows(actor, remote);
      const local = actor.local.md5;
      if (!connect) {
        peer.agreement.settle(actor, decideDigest({ local, remote, inFlight: facts.inFlight }), remote);
        continue;
      }
      const decision = reconcileOnConnect({
        local,
        remote,
        agreed: this.#ctx.journal.agreed(peer.name, actor.spec.name),
        peerAgreed: reply.agreed?.[actor.spec.name] ?? null,
        mode: this.#ctx.settings.reconcile,
        inFlight: facts.inFlight !== null || pending.has(actor.spec.name),
      });
      switch (decision.kind) {
        case 'aligned':
          peer.agreement.agree(actor, remote as Md5);
          break;
        case 'split-brain':
          peer.agreement.splitBrain(actor, remote);
          // Tell the peer, so both sides report it even if only one of them saw the difference.
          this.#outbox.have(actor.spec.name, local, null, peer.name);
          break;
        case 'take-theirs':
          void actor.queue.push(() => this.#fastForward(actor, local!));
          break;
        case 'pending':
        case 'missing':
        case 'keep-ours':
          break;
      }
    }
    if (unlisted.length > 0) this.#warnUnlisted(unlisted);
  }

  /** One line for the files this node lists and the peer does not (at connect, or when a reload made more). */
  #warnUnlisted(actors: readonly FileActor[]): void {
    const files = actors.map((a) => a.spec.name);
    const shown = files.length <= 10 ? files.join(', ') : `${files.slice(0, 10).join(', ')} and ${files.length - 10} more`;
    const one = actors.length === 1 ? { path: actors[0]!.spec.path } : {};
    this.#peer.log.warn(
      { ...one, files, count: files.length },
      `${this.#peer.name} does not list ${files.length === 1 ? 'a file' : `${files.length} files`} this node lists (${shown}): not replicated with it; every node must list a shared file under the same name`,
    );
  }

  /** reconcile: auto: our copy (`agreed`) is still a version the two agreed on and the peer's moved on; take the peer's. */
  async #fastForward(actor: FileActor, agreed: Md5): Promise<void> {
    const peer = this.#peer;
    if (this.#ctx.stopping) return;
    const snap = await actor.readAndAnnounce();
    // Our copy changed since the exchange: that change of ours is on its way, not the peer's to undo.
    if (!snap || snap.md5 !== agreed) return;
    let reply: Reply;
    try {
      reply = await peer.requester.request({ v: 1, t: 'pull', from: this.#ctx.node, name: actor.spec.name });
    } catch (err) {
      peer.log.warn({ path: actor.spec.path, err: errorText(err) }, 'pull failed');
      peer.needsConnectExchange = true;
      return;
    }
    if (reply.t !== 'content' || reply.md5 === null) return;
    peer.agreement.learn(actor, reply.md5);
    if (reply.md5 === snap.md5) {
      peer.agreement.agree(actor, reply.md5);
      return;
    }
    // Refused a moment ago: not run again; the peer is told again (a have may be lost).
    if (this.#transfer.refusedRecently(actor, reply.md5)) return this.#cannotWrite(actor, snap.md5, reply.md5);
    const outcome = await this.#transfer.write(actor, { md5: reply.md5, content: reply.data ?? { source: peer, size: reply.size }, from: peer.name, expected: snap.md5 });
    if (outcome === 'written') {
      peer.agreement.agree(actor, reply.md5);
      this.#outbox.have(actor.spec.name, reply.md5, null, null);
      actor.log.info({ peer: peer.name, md5: reply.md5, from: snap.md5 }, 'fast-forwarded to the peer\'s version (reconcile: auto)');
      actor.publish(snap.md5, { md5: reply.md5, size: reply.size, data: reply.data }, peer.name);
    } else if (outcome === 'changed') {
      peer.agreement.splitBrain(actor, reply.md5);
    } else {
      // Not written (disk full, permission, refused by validate): the next exchange retries.
      this.#cannotWrite(actor, snap.md5, reply.md5);
      peer.needsConnectExchange = true;
    }
  }

  /** Tells the peer why its version `md5` was not written over our copy `local` (when there is something to show). */
  #cannotWrite(actor: FileActor, local: Md5, md5: Md5): void {
    const error = actor.writeErrorFor(md5);
    if (error !== null) this.#outbox.have(actor.spec.name, local, md5, null, error);
  }
}
