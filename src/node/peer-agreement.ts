import { changedNodes, describeChanged } from '../core/changed-sides.js';
import type { HaveFrame } from '../core/frame.js';
import { decideHave, reportedError, type ReportDecision, type ReportedFacts } from '../core/peer-report.js';
import type { Md5 } from '../core/types.js';
import type { NodeContext } from './context.js';
import { digestSum } from './digest-sum.js';
import type { FileActor, PeerFacts } from './file-actor.js';
import type { FileTable } from './file-table.js';
import type { PeerSession } from './peer-session.js';

/**
 * What one peer holds of our files and where we stand with it: what it reported (its digest
 * map, whose sum its heartbeats carry), our changes it confirmed, the versions we agree on
 * (journaled, for reconcile), and the split-brains found with it.
 */
export class PeerAgreement {
  readonly #peer: PeerSession;
  readonly #ctx: NodeContext;
  /** The peer's whole digest map as last reported (all its names), and its sum. */
  #remote = new Map<string, Md5 | null>();
  /** The peer's journal as its last digest reply had it: the last version of each name it agreed on with us. */
  #remoteAgreed = new Map<string, Md5>();
  #remoteSum: string | null = null;
  /** Counts what frames taught us; an exchange ignores files learned about after it began. */
  #learned = 0;

  constructor(peer: PeerSession, ctx: NodeContext) {
    this.#peer = peer;
    this.#ctx = ctx;
  }

  get learnedCount(): number {
    return this.#learned;
  }

  remoteSum(): string {
    this.#remoteSum ??= digestSum(this.#remote.entries());
    return this.#remoteSum;
  }

  /** The peer (re)appeared: nothing it held before is known now, nothing is in flight to it. */
  forget(files: FileTable): void {
    this.#remote.clear();
    this.#remoteSum = null;
    for (const actor of files) {
      const facts = actor.peer(this.#peer.name);
      facts.md5 = undefined;
      facts.inFlight = null;
      facts.unlisted = false;
      // What it reported before is not what it says now: the connect exchange decides afresh,
      // and a version it still cannot write is reported again when sent.
      facts.error = null;
    }
  }

  /** The peer's digests and journal as a whole (an exchange); each file's facts are set by the caller. */
  replaceRemote(files: Readonly<Record<string, Md5 | null>>, agreed: Readonly<Record<string, Md5>> | undefined): void {
    this.#remote = new Map(Object.entries(files));
    this.#remoteSum = null;
    if (agreed !== undefined) this.#remoteAgreed = new Map(Object.entries(agreed));
  }

  /** A frame told us the peer's copy of this file is now `md5`. */
  learn(actor: FileActor, md5: Md5 | null): void {
    this.knows(actor, md5);
    actor.peer(this.#peer.name).learnedAt = ++this.#learned;
    this.#remote.set(actor.spec.name, md5);
    this.#remoteSum = null;
    this.#ctx.notify.changed();
  }

  /** The peer's copy of this file is `md5` (from a frame, or from its digests after replaceRemote). */
  knows(actor: FileActor, md5: Md5 | null): void {
    const facts = actor.peer(this.#peer.name);
    facts.md5 = md5;
    facts.unlisted = false;
    this.#reported(actor, { md5 });
    actor.writeMoot(this.#peer.name, md5);
  }

  /**
   * The peer's digests do not list this file: nothing of ours is owed to it (what it would drop),
   * nothing of its is known. Returns true when that is news (the file was listed there, or not known).
   */
  notListed(actor: FileActor): boolean {
    const facts = actor.peer(this.#peer.name);
    const news = !facts.unlisted;
    facts.md5 = null;
    facts.unlisted = true;
    facts.inFlight = null;
    facts.publishedAt = 0;
    // What it reported about a name it no longer lists is moot.
    facts.error = null;
    actor.writeMoot(this.#peer.name, null);
    return news;
  }

  /**
   * The nodes whose copy of the file changed since the last agreement on record with the peer
   * (this node's journal, or the peer's as its digests reported it), sorted; null when neither has one.
   */
  changed(actor: FileActor): string[] | null {
    const name = actor.spec.name;
    return changedNodes(this.#ctx.node, this.#peer.name, {
      local: actor.local.md5,
      remote: actor.peer(this.#peer.name).md5,
      agreed: this.#ctx.journal.agreed(this.#peer.name, name),
      peerAgreed: this.#remoteAgreed.get(name) ?? null,
    });
  }

  /**
   * The one writer of the peer's `error` for a file: what it reported when it could not write
   * or take a version, kept until it holds that version or answers a change without one.
   */
  #reported(actor: FileActor, said: Omit<ReportedFacts, 'prior'>): void {
    const facts = actor.peer(this.#peer.name);
    const prior = facts.error;
    const next = reportedError({ prior, ...said });
    if (next === prior) return;
    facts.error = next;
    if (next !== null && next.message !== prior?.message) {
      actor.log.warn({ peer: this.#peer.name, md5: next.md5, err: next.message }, 'peer could not write or take this node\'s version');
    }
    this.#ctx.notify.changed();
  }

  /**
   * Our copy changed. A peer in reach already known to hold the same bytes is in agreement with
   * us now (its report came before our write, e.g. from a third node's relay): journal it, so
   * that what the state shows as aligned is always in the journal.
   */
  noteLocal(actor: FileActor): void {
    const local = actor.local.md5;
    if (local !== null && this.#peer.connected && actor.peer(this.#peer.name).md5 === local) this.agree(actor, local);
  }

  /** Both hold version `md5` (our current copy): clears a split-brain and what is in flight, journals it. */
  agree(actor: FileActor, md5: Md5): void {
    const facts = actor.peer(this.#peer.name);
    if (facts.splitBrain) {
      facts.splitBrain = false;
      facts.splitTheirs = null;
      actor.log.info({ peer: this.#peer.name, md5 }, 'split-brain resolved');
    }
    // The peer holds our current bytes: this version in flight is confirmed; an older one it
    // superseded is settled, but was never confirmed (no propagation sample).
    if (facts.inFlight === md5) this.confirm(facts);
    else if (facts.inFlight !== null) {
      facts.inFlight = null;
      facts.publishedAt = 0;
    }
    this.#ctx.journal.record(this.#peer.name, actor.spec.name, md5);
    // The peer records the same agreement on its side (its next digest reply says so).
    this.#remoteAgreed.set(actor.spec.name, md5);
    this.#reported(actor, { md5 });
    actor.writeMoot(this.#peer.name, md5);
    this.#ctx.notify.changed();
  }

  /** The peer confirmed our in-flight change: it is no longer pending. */
  confirm(facts: PeerFacts): void {
    facts.inFlight = null;
    if (facts.publishedAt > 0) {
      this.#ctx.metrics.propagation.observe({ peer: this.#peer.name }, (this.#ctx.clock.now() - facts.publishedAt) / 1000);
      facts.publishedAt = 0;
    }
  }

  /**
   * The copies differ and neither may replace the other, the peer's side being `remote`: recorded
   * with that side (until agreement clears it), logged once saying which side changed since the
   * last agreement, the onSplitBrain hook run.
   */
  splitBrain(actor: FileActor, remote: Md5 | null | undefined): void {
    const facts = actor.peer(this.#peer.name);
    facts.inFlight = null;
    facts.splitTheirs = remote ?? null;
    if (facts.splitBrain) return;
    facts.splitBrain = true;
    this.#ctx.notify.changed();
    const changed = this.changed(actor);
    actor.log.warn({ peer: this.#peer.name, local: actor.local.md5, remote: remote ?? null, changed }, `split-brain: ${describeChanged(changed)}; neither copy is overwritten`);
    this.#ctx.hooks.splitBrain(actor.spec, this.#peer.name, actor.local.md5, actor.log);
  }

  /** Acts on a report decision about one file whose remote copy is `md5`. */
  settle(actor: FileActor, d: ReportDecision, md5: Md5 | null): void {
    const facts = actor.peer(this.#peer.name);
    if (d.confirm && facts.inFlight !== null) this.confirm(facts);
    if (d.outcome === 'agree') this.agree(actor, md5!);
    else if (d.outcome === 'split-brain') this.splitBrain(actor, md5);
  }

  /** The peer's `have` frame: what its copy is now, and what that means. */
  onHave(actor: FileActor, have: HaveFrame): void {
    const facts = actor.peer(this.#peer.name);
    this.learn(actor, have.md5);
    this.#reported(actor, { md5: have.md5, re: have.re, error: have.error ?? null });
    const failed = have.error !== undefined;
    this.settle(actor, decideHave({ local: actor.local.md5, inFlight: facts.inFlight, md5: have.md5, re: have.re, conflict: have.conflict, failed, self: this.#ctx.node }), have.md5);
  }
}
