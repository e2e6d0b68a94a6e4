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
      // What it reported before is not what it says now: the connect exchange decides afresh,
      // and a version it still cannot write is reported again when sent.
      facts.error = null;
    }
  }

  /** The peer's digests as a whole (an exchange); each file's facts are set by the caller. */
  replaceRemote(files: Readonly<Record<string, Md5 | null>>): void {
    this.#remote = new Map(Object.entries(files));
    this.#remoteSum = null;
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
    actor.peer(this.#peer.name).md5 = md5;
    this.#reported(actor, { md5 });
    actor.writeMoot(this.#peer.name, md5);
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
   * Both sides changed, the peer's side being `remote`: recorded with that side (until agreement
   * clears it), logged once, the onSplitBrain hook run.
   */
  splitBrain(actor: FileActor, remote: Md5 | null | undefined): void {
    const facts = actor.peer(this.#peer.name);
    facts.inFlight = null;
    facts.splitTheirs = remote ?? null;
    if (facts.splitBrain) return;
    facts.splitBrain = true;
    this.#ctx.notify.changed();
    actor.log.warn({ peer: this.#peer.name, local: actor.local.md5, remote: remote ?? null }, 'split-brain: both sides changed; neither copy is overwritten');
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
