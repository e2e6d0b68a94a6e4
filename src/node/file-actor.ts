import type { BigIntStats } from 'node:fs';
import type { FileSpec } from '../config/settings.js';
import { announceSnapshot } from '../core/announce.js';
import { rememberVersion, supersededVersions } from '../core/decide.js';
import { errorText } from '../core/errors.js';
import { LIMITS, type ChangeFrame } from '../core/frame.js';
import { decideHold, type HoldDecision } from '../core/hold.js';
import { linkTarget, type LinkVerdict } from '../core/link.js';
import type { PeerError } from '../core/peer-report.js';
import type { LocalFacts, Md5, PeerFileFacts } from '../core/types.js';
import { verdictOf } from '../io/link.js';
import { PathNotTrusted, trustedWalk } from '../io/ownership.js';
import { cachedMd5, FileTooLarge, NotRegularFile, readSnapshot, readSnapshotSync, sigOf, SMALL_FILE_BYTES, statSig, type HashCache, type Snapshot } from '../io/snapshot.js';
import type { Logger } from '../log.js';
import type { NodeContext } from './context.js';
import type { Outbox } from './outbox.js';
import type { TransferFacts } from './progress.js';
import { ReadHold } from './read-hold.js';
import { SerialQueue } from './serial.js';
import { mark } from '../trace.js';

/** Delay of the re-read that follows every watcher event: watchers throttle bursts. */
const VERIFY_MS = 15;
/**
 * Delay of the read that follows our own write of a small file: late enough for the read to be
 * settled (its ctime older than SETTLED_NS), so the next change's look at the copy and its
 * precondition cost a stat, not a read and an md5, on that change's path.
 */
const SETTLE_MS = 25;
/** Versions of a file remembered for `also` (a frame carries at most LIMITS.history). */
const HISTORY = 32;
/** Reads in a row of a file that changes while it is read, before the next waits TORN_RETRY_MS (a writer still writing). */
const TORN_READS = 3;
const TORN_RETRY_MS = 10;

/** What this node knows of one peer's copy of one file, plus its own bookkeeping for it. */
export interface PeerFacts extends PeerFileFacts {
  /** When our in-flight change was last sent, and when first (monotonic ms; the latter for the latency histogram). */
  sentAt: number;
  publishedAt: number;
  /** The peer session's learn counter when a frame last told us about this copy. */
  learnedAt: number;
  /** A large version moving in chunks between this node and the peer (owned by TransferProgress); null otherwise. */
  transfer: TransferFacts | null;
  /** What the peer last reported when it could not write or take a version (owned by PeerAgreement); null otherwise. */
  error: PeerError | null;
}

/**
 * A problem with the file, shown in the state until its cause is gone (`link`: a listed symbolic
 * link that reaches no file; `unsafe`: another user may change where the path leads).
 */
export interface FileProblem {
  readonly kind: 'read' | 'write' | 'link' | 'unsafe';
  readonly message: string;
  /** For a write: the version that could not be written, and where it came from. */
  readonly md5?: Md5;
  readonly peer?: string;
}

/** What the actor needs from the rest of the node. */
export interface FileHost {
  /** Whether the peer is in reach now. */
  connected(peer: string): boolean;
  /** This file's copy changed (another md5, or absent): the node's digest map is no longer what it was. */
  localChanged(actor: FileActor): void;
}

/** A version as a change frame carries it: the bytes when small, else only md5 and size (pulled in chunks). */
export interface Version {
  readonly md5: Md5;
  readonly size: number;
  readonly data: Uint8Array | null;
}

/** The log line of a read that failed: a file over maxBytes or a path that is no regular file is refused, not unreadable. */
function readProblem(err: unknown): string {
  if (err instanceof FileTooLarge) return 'listed file is over maxBytes: it is not sent';
  if (err instanceof NotRegularFile) return 'listed path is not a regular file: it is neither read nor written';
  return 'cannot read listed file';
}

const freshFacts = (): PeerFacts => ({ md5: undefined, inFlight: null, splitBrain: false, unlisted: false, splitTheirs: null, sentAt: 0, publishedAt: 0, learnedAt: 0, transfer: null, error: null });

export const MISSING: LocalFacts = Object.freeze({ md5: null, size: 0, mtimeMs: 0 });

/**
 * The owner of one listed file: its facts, what each peer holds of it, and one queue through
 * which every read, decision and write for it passes in turn. Watcher events coalesce into one
 * read (a "dirty again" flag re-reads when an event lands during a read); a read that finds new
 * bytes publishes them through the outbox, naming the version they replace.
 */
export class FileActor {
  /** Replaced by a reload that changes the file's validate or onApply (never its name or path). */
  spec: FileSpec;
  /** Set once a reload removed the file from the list: nothing is read, announced or written for it again. */
  retired = false;
  readonly log: Logger;
  readonly queue: SerialQueue;
  readonly peers: Map<string, PeerFacts>;
  /** Change frames from peers waiting in the queue, oldest first. */
  readonly incoming: ChangeFrame[] = [];
  /** The last version this node had; survives a deletion so a recreation chains to it. */
  known: Md5 | null = null;
  #local: LocalFacts = MISSING;
  #problem: FileProblem | null = null;
  /** What the listed path was at the last read: no link, or a link and what it reaches. */
  #link: LinkVerdict = { kind: 'plain' };
  /** The last version the validate command refused, and when (monotonic ms). */
  refused: { md5: Md5; at: number } | null = null;
  /** The last change we published, for retransmission. */
  lastSent: { prev: Md5 | null; md5: Md5 } | null = null;
  /** The versions this node has held, oldest first (bounded): what a change may supersede. */
  readonly history: Md5[] = [];
  /** The last hash with the signature it had: no re-read while the identity holds (see Snapshot.settled). */
  hash: HashCache | null = null;
  /** What this node itself last wrote there: the watcher event of that rename needs no second look. */
  #written: { sig: string; md5: Md5 } | null = null;
  /** The file's identity at the last sweep. */
  #sweepSig = '';
  #scanQueued = false;
  /** Peers a reload removed (see peer()). */
  readonly #departed = new Set<string>();
  #verifyTimer: NodeJS.Timeout | null = null;
  /** A read not sent yet (an empty file right after content, a change under settleMs, a torn read). */
  readonly #hold: ReadHold;
  readonly #ctx: NodeContext;
  readonly #host: FileHost;
  readonly #outbox: Outbox;

  constructor(spec: FileSpec, peerNames: readonly string[], ctx: NodeContext, host: FileHost, outbox: Outbox) {
    this.spec = spec;
    this.log = ctx.log.child({ path: spec.path, name: spec.name });
    this.queue = new SerialQueue((err) => this.log.error({ err: errorText(err) }, 'file task failed'));
    this.peers = new Map(peerNames.map((p) => [p, freshFacts()]));
    this.#ctx = ctx;
    this.#host = host;
    this.#outbox = outbox;
    this.#hold = new ReadHold(ctx.clock, () => this.touch(false));
  }

  get local(): LocalFacts {
    return this.#local;
  }

  get error(): string | null {
    return this.#problem?.message ?? null;
  }

  /** The absolute path the listed path resolves to when it is a symbolic link (at the last read), else null. */
  get target(): string | null {
    return linkTarget(this.#link);
  }

  /** The facts for `peer`'s copy; throws for a peer this node does not list (a bug). */
  peer(name: string): PeerFacts {
    const facts = this.peers.get(name);
    // A peer a reload removed may still finish work begun before: what it learns goes nowhere.
    if (!facts && this.#departed.has(name)) return freshFacts();
    if (!facts) throw new Error(`no facts for peer ${name}`);
    return facts;
  }

  /** The largest version of this file that is sent or taken: its own maxBytes, else the top-level one. */
  get maxBytes(): number {
    return this.spec.maxBytes ?? this.#ctx.settings.maxBytes;
  }

  /** The first read at start: no announcement, peers learn our digests in the exchange. */
  async bootstrap(): Promise<void> {
    let sig = 'absent';
    try {
      const at = this.readablePath();
      let snap = await readSnapshot(at, null, this.maxBytes);
      // Read while it changed: read again (a few times; the watcher reads what the writer leaves).
      for (let reads = 1; snap?.sig === 'moving' && reads < TORN_READS; reads++) snap = await readSnapshot(at, null, this.maxBytes);
      this.#cacheHash(snap);
      sig = snap?.sig ?? 'absent';
      this.#observeLink();
      if (snap === null) {
        // A broken link was logged (#observeLink) as the problem it is.
        if (this.#link.kind !== 'broken') this.log.warn('listed file does not exist; it is created when a peer sends its version');
      } else {
        this.known = snap.md5;
        this.#setLocal({ md5: snap.md5, size: snap.size, mtimeMs: snap.mtimeMs });
        rememberVersion(this.history, snap.md5, HISTORY);
      }
    } catch (err) {
      if (err instanceof PathNotTrusted) return;
      this.#problem = { kind: 'read', message: errorText(err) };
      this.log.error({ err: this.#problem.message }, readProblem(err));
    }
    this.#sweepSig = sig;
  }

  /**
   * Queues one read of the file unless one is already waiting. It starts after the current
   * batch of watcher events (setImmediate), so the several events of one save make one read;
   * an event during a read queues the next one, so the last write is always read. `verify`
   * (watcher events) looks once more shortly after, for what a throttled watcher folds away.
   */
  touch(verify: boolean): void {
    if (this.#scanQueued || this.#ctx.stopping || this.retired) return;
    this.#scanQueued = true;
    setImmediate(() => {
      void this.queue.push(async () => {
        this.#scanQueued = false;
        // The event of our own rename, the identity still what we wrote: no read now (it would not
        // be settled); the settling read follows, off the next change's path, and sees any
        // write made within the same clock tick as ours (same identity, other bytes).
        const w = this.#written;
        if (verify && w !== null && this.hash === null && !this.retired && statSig(this.spec.path) === w.sig) {
          if (!this.#ctx.stopping) this.#scheduleVerify(w.sig, SETTLE_MS);
          return;
        }
        const snap = await this.readAndAnnounce();
        // The event of our own rename (the file is exactly what we wrote) needs no second look.
        const ours = snap && w !== null && snap.sig === w.sig && snap.md5 === w.md5;
        if (verify && !ours && !this.#ctx.stopping) this.#scheduleVerify(snap?.sig ?? 'absent', VERIFY_MS);
      });
    });
  }

  /**
   * Shortly after an event-driven read, look again, and read again if the identity moved since;
   * after our own write (SETTLE_MS), read it once more while its hash is not trusted yet.
   */
  #scheduleVerify(sig: string, ms: number): void {
    if (this.#verifyTimer) clearTimeout(this.#verifyTimer);
    this.#verifyTimer = setTimeout(() => {
      this.#verifyTimer = null;
      if (this.#ctx.stopping) return;
      if (statSig(this.spec.path) !== sig) this.touch(true);
      else if (ms === SETTLE_MS && this.hash === null) this.touch(false);
    }, ms);
  }

  /**
   * Reads the file and announces what it finds (a change, a deletion, a reappearance). Returns
   * the snapshot: null when absent, undefined when it cannot be read (a problem in the state).
   * Runs inside the queue, or where nothing else touches the file.
   */
  async readAndAnnounce(): Promise<Snapshot | null | undefined> {
    if (this.retired) return undefined;
    let snap: Snapshot | null;
    let decision: HoldDecision;
    for (let reads = 1; ; reads++) {
      try {
        snap = await readSnapshot(this.readablePath(), this.hash, this.maxBytes);
        mark('read');
        this.#cacheHash(snap);
      } catch (err) {
        if (!(err instanceof PathNotTrusted)) this.setProblem({ kind: 'read', message: errorText(err) }, readProblem(err));
        return undefined;
      }
      decision = this.#decideHold(snap);
      if (decision.kind !== 'reread' || reads === TORN_READS) break;
    }
    if (this.#problem?.kind === 'read') this.#clearProblem();
    // Announced first: a change is on its way before the look at the link (an lstat).
    this.#follow(decision, snap);
    this.#observeLink();
    return snap;
  }

  /**
   * Reads the file as readAndAnnounce does, and while what it finds is held back (the file's
   * writer is not done: an empty file right after content, a change under settleMs, a read the
   * file changed under), waits for the hold to end and reads again: the snapshot is what the
   * writer left. At stop, or once the file is unlisted, it returns the last read. Runs inside the queue.
   */
  async readSettled(): Promise<Snapshot | null | undefined> {
    let snap = await this.readAndAnnounce();
    while (snap !== undefined && this.#hold.active && !this.#ctx.stopping && !this.retired) {
      await this.#hold.due();
      if (this.#ctx.stopping || this.retired) break;
      snap = await this.readAndAnnounce();
    }
    return snap;
  }

  /** Whether what is on disk is held back now (or being read again): it is not this node's version yet. */
  get holding(): boolean {
    return this.#hold.active;
  }

  #decideHold(snap: Snapshot | null): HoldDecision {
    const settleMs = this.spec.settleMs ?? this.#ctx.settings.settleMs;
    return decideHold({ known: this.known, fresh: snap, moving: snap?.sig === 'moving', held: this.#hold.held, settleMs, now: this.#ctx.clock.now() });
  }

  /** Announces what a read found, or holds it back (the digests keep the version before) and reads again when due. */
  #follow(d: HoldDecision, snap: Snapshot | null): void {
    switch (d.kind) {
      case 'announce':
        if (this.#hold.active) this.#hold.end();
        this.#announce(snap);
        return;
      case 'hold':
        if (this.#hold.held?.sig !== d.held.sig) {
          const holdMs = d.until - d.held.since;
          if (d.why === 'empty') this.log.debug({ holdMs }, `file became empty: sent only if it stays empty for ${holdMs} ms`);
          else this.log.debug({ size: snap?.size, holdMs }, 'local change held until the file has been quiet for settleMs');
        }
        this.#hold.hold(d.held, d.until);
        return;
      case 'reread':
        this.log.debug('the file changed while it was read: reading it again');
        this.#hold.rereadAt(this.#ctx.clock.now() + TORN_RETRY_MS);
    }
  }

  /**
   * Looks at what the listed path is now (an lstat; a realpath for a link): a link that
   * reaches no regular file is a problem in the state until a read finds it fixed.
   */
  #observeLink(): void {
    let v: LinkVerdict;
    try {
      v = verdictOf(this.spec.path);
    } catch {
      // Cannot be looked at (EACCES): the read says so.
      return;
    }
    const target = linkTarget(v);
    if (target !== linkTarget(this.#link)) {
      if (v.kind === 'through') this.log.info({ target }, 'listed path is a symbolic link: read, watched and written through it');
      this.#ctx.notify.changed();
    }
    this.#link = v;
    if (v.kind === 'broken') this.setProblem({ kind: 'link', message: v.message }, 'listed symbolic link reaches no file');
    else if (this.#problem?.kind === 'link') this.#clearProblem();
  }

  /**
   * What is on disk now, to decide on a peer's change: the cached md5 when the identity has
   * not moved since it was read settled (one stat), else a read, which first announces a
   * local edit the watcher has not reported yet (and waits out a hold: see readSettled).
   * Undefined when the file cannot be read.
   */
  async localNow(): Promise<Md5 | null | undefined> {
    const cached = this.#problem?.kind === 'read' || this.#problem?.kind === 'unsafe' || this.#hold.active ? undefined : cachedMd5(this.spec.path, this.hash);
    if (cached !== undefined && cached === this.known && cached === this.#local.md5) return cached;
    // A local rewrite under way (held back) is waited for: the peer's change is decided against
    // what the local writer leaves, which is sent first (both changed: a split-brain), never
    // against its torn state (an empty file is no version of ours) or the version it is replacing.
    const snap = await this.readSettled();
    return snap === undefined ? undefined : (snap?.md5 ?? null);
  }

  /**
   * Whether the file still hashes to `expected` (null: absent): one stat when its last hash is
   * trusted (a large file's, or a small file's read settled), otherwise a read.
   */
  holds(expected: Md5 | null): boolean | Promise<boolean> {
    const cached = cachedMd5(this.spec.path, this.hash);
    if (cached !== undefined) return cached === expected;
    const at = this.readablePath();
    const small = readSnapshotSync(at);
    if (small !== undefined) return (small?.md5 ?? null) === expected;
    return readSnapshot(at, this.hash).then((s) => (s?.md5 ?? null) === expected);
  }

  /**
   * Where a read of the file goes, checked now (see io/ownership.ts): the path with every link
   * resolved, its folders and the file beyond every other user's reach, so no link can be
   * retargeted between the check and the read. Throws PathNotTrusted (the file's problem in the
   * state until a later check passes); nothing is read then.
   */
  readablePath(): string {
    let walk;
    try {
      walk = trustedWalk(this.spec.path);
    } catch (err) {
      if (err instanceof PathNotTrusted) {
        if (this.#problem?.message === err.message) this.log.debug('listed path is still not safe: not read');
        else this.setProblem({ kind: 'unsafe', message: err.message }, 'listed path is not safe: another user can change where it leads');
      }
      throw err;
    }
    if (this.#problem?.kind === 'unsafe') this.#clearProblem();
    // A walk that found no end (a loop, a folder missing or unreadable): the listed path, whose read says why.
    return walk.end === 'unresolved' ? this.spec.path : walk.resolved;
  }

  #announce(snap: Snapshot | null): void {
    const fresh = snap?.md5 ?? null;
    const a = announceSnapshot({ known: this.known, fresh, wasPresent: this.#local.md5 !== null });
    const local = snap ? { md5: snap.md5, size: snap.size, mtimeMs: snap.mtimeMs } : MISSING;
    if (a.kind === 'publish') {
      this.known = a.md5;
      rememberVersion(this.history, a.md5, HISTORY);
      // Sent before the bookkeeping that follows a new copy (peers' agreement, the view), which
      // the frame does not depend on.
      this.publish(a.prev, snap!);
      this.#setLocal(local);
      // Our copy moved on: a version we failed to write is no longer wanted.
      if (this.#problem?.kind === 'write') this.#clearProblem();
      this.log.info({ md5: a.md5, prev: a.prev, size: snap!.size }, 'local change published');
      return;
    }
    this.#setLocal(local);
    switch (a.kind) {
      case 'none':
        return;
      case 'deleted':
        this.log.warn('listed file was deleted; peers keep their copies');
        this.#outbox.have(this.spec.name, null, null, null);
        return;
      case 'reappeared':
        this.#outbox.have(this.spec.name, a.md5, null, null);
    }
  }

  /**
   * Publishes version `snap` (replacing `prev`) to every peer in reach but `except`; it is in
   * flight to each that is not known to hold it, until it confirms. A peer's version this node
   * applied is passed on so, `except` its sender and without sending again to the peers the
   * sender's frame was addressed to (`reached`): those are sent it only if they do not confirm
   * within a heartbeat (retransmission). So a change reaches every node connected to its origin
   * by any chain of links, and a mesh whose links are all up relays nothing.
   */
  publish(prev: Md5 | null, snap: Version, except?: string, reached?: Readonly<Record<string, string>>): void {
    // Never announce what a receiver must reject (content present iff small).
    if ((snap.data === null) !== (snap.size > LIMITS.inline)) {
      this.log.error({ size: snap.size }, 'refusing to publish an inconsistent snapshot');
      return;
    }
    this.lastSent = { prev, md5: snap.md5 };
    const now = this.#ctx.clock.now();
    for (const [peer, facts] of this.peers) {
      if (peer === except || !this.#host.connected(peer)) continue;
      // It does not list the name: the frame goes out (and is dropped there, counted), but nothing is owed to it.
      if (facts.unlisted) continue;
      // Known to hold it already (its report came first): nothing is owed to it, not even an older version.
      if (facts.md5 === snap.md5) {
        facts.inFlight = null;
        continue;
      }
      facts.inFlight = snap.md5;
      facts.sentAt = now;
      facts.publishedAt = now;
    }
    this.#send(prev, snap, (p) => p !== except && !(reached !== undefined && Object.hasOwn(reached, p)));
  }

  /** Sends the change frame for `snap` again, to `peer` alone (a retransmission: nothing is marked). */
  resend(prev: Md5 | null, snap: Version, peer: string): void {
    this.#send(prev, snap, (p) => p === peer);
  }

  #send(prev: Md5 | null, snap: Version, to: (peer: string) => boolean): void {
    this.#outbox.change({ name: this.spec.name, prev, also: this.#superseded(prev, snap.md5), md5: snap.md5, data: snap.data, size: snap.size }, to);
  }

  /** What a change from `prev` to `md5` also supersedes, given what peers in reach hold. */
  #superseded(prev: Md5 | null, md5: Md5): Md5[] {
    const held: Md5[] = [];
    for (const [peer, facts] of this.peers) if (facts.md5 && this.#host.connected(peer)) held.push(facts.md5);
    return supersededVersions(this.history, held, prev, md5);
  }

  /** After our write of version `md5` (`size` bytes) landed: the file's new facts, the echo guard, problems cleared. */
  installed(md5: Md5, size: number, st: BigIntStats | null, created: boolean): void {
    if (created) this.log.info({ md5 }, 'created listed file');
    this.known = md5;
    this.#setLocal({ md5, size, mtimeMs: st ? Number(st.mtimeMs) : this.#ctx.clock.wall() });
    const sig = st ? sigOf(st) : '';
    this.#written = st ? { sig, md5 } : null;
    this.#sweepSig = sig;
    this.hash = st && size > LIMITS.inline ? { sig, md5 } : null;
    this.#clearProblem();
    this.refused = null;
    // What was held back is gone: the file is the version written.
    if (this.#hold.active) this.#hold.end();
    rememberVersion(this.history, md5, HISTORY);
  }

  /** Records a problem (logged once per message, at `level`: error unless the node itself is fine) and notifies the view. */
  setProblem(problem: FileProblem, what: string, level: 'error' | 'warn' = 'error'): void {
    if (this.#problem?.message !== problem.message) {
      this.log[level]({ err: problem.message, ...(problem.peer ? { peer: problem.peer } : {}) }, what);
      this.#ctx.notify.changed();
    }
    this.#problem = problem;
  }

  /**
   * Why version `md5` could not be written here, as the state shows it: a write problem about
   * that version, or a listed link that reaches no file; null otherwise (e.g. a transfer abandoned).
   */
  writeErrorFor(md5: Md5): string | null {
    const p = this.#problem;
    return p !== null && (p.kind === 'link' || p.kind === 'unsafe' || (p.kind === 'write' && p.md5 === md5)) ? p.message : null;
  }

  /**
   * A write problem's cause is gone once its version is not wanted any more: we agree with its
   * sender, or the sender moved on to another version.
   */
  writeMoot(peer: string, peerMd5: Md5 | null | undefined): void {
    const p = this.#problem;
    if (p?.kind === 'write' && p.peer === peer && (peerMd5 !== p.md5 || peerMd5 === this.#local.md5)) this.#clearProblem();
  }

  #clearProblem(): void {
    if (this.#problem === null) return;
    this.#problem = null;
    this.#ctx.notify.changed();
  }

  #setLocal(facts: LocalFacts): void {
    const moved = facts.md5 !== this.#local.md5;
    this.#local = facts;
    if (moved) {
      this.#host.localChanged(this);
      this.#ctx.notify.changed();
    }
  }

  #cacheHash(snap: Snapshot | null): void {
    this.hash = snap && snap.sig !== 'moving' && (snap.data === null || snap.settled) ? { sig: snap.sig, md5: snap.md5 } : null;
  }

  /** Anti-entropy: one stat (synchronous, no promise); a read when the identity moved, on a full sweep, or while there is a problem. */
  sweep(full: boolean): void {
    const sig = statSig(this.spec.path);
    const moved = sig !== this.#sweepSig;
    this.#sweepSig = sig;
    if (moved || (full && this.#local.size <= SMALL_FILE_BYTES) || this.#problem !== null) this.touch(false);
  }

  /** Re-reads a small file right now (outside the queue when it is idle: after a stall), else queues a read. */
  rescanNow(): void {
    if (!this.queue.idle || this.#scanQueued) {
      this.touch(false);
      return;
    }
    let snap: Snapshot | null | undefined;
    try {
      snap = readSnapshotSync(this.readablePath(), this.maxBytes);
    } catch {
      snap = undefined;
    }
    const decision = snap === undefined ? undefined : this.#decideHold(snap);
    if (decision === undefined || decision.kind === 'reread') {
      this.touch(false);
      return;
    }
    this.#observeLink();
    // Held back, the digests keep the version before: peers hear of the rewrite once it is done.
    this.#follow(decision, snap!);
  }

  /** A peer added by a reload: nothing is known of its copy yet. */
  addPeer(name: string): void {
    this.#departed.delete(name);
    if (!this.peers.has(name)) this.peers.set(name, freshFacts());
  }

  /** A peer removed by a reload: what was known of its copy goes, and so does a write problem it caused. */
  removePeer(name: string): void {
    this.peers.delete(name);
    this.#departed.add(name);
    if (this.#problem?.kind === 'write' && this.#problem.peer === name) this.#clearProblem();
  }

  /** The file left the list (a reload): stops its timers; queued work finds it retired and does nothing. */
  retire(): void {
    this.retired = true;
    this.quiet();
  }

  /**
   * Stops the verify and recheck timers and wakes reads waiting for a hold (at stop, or once
   * unlisted). A version still held back is not sent: the next start reads the file as it is then.
   */
  quiet(): void {
    if (this.#verifyTimer) clearTimeout(this.#verifyTimer);
    this.#verifyTimer = null;
    this.#hold.quiet();
  }
}
