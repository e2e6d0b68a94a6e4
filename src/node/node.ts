import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { decideIncoming, decideLocal, isSuperseded, reconcileOnConnect, rememberVersion, supersededVersions } from '../core/decide.js';
import { ConfigError, EntangledError, errorText, isEntangledError } from '../core/errors.js';
import { LIMITS, type ChangeFrame, type ContentReply, type DigestsReply, type Frame, type HaveFrame, type HeartbeatFrame, type Reply, type Request, type TakeRequest } from '../core/frame.js';
import { fileStatus, peerStatus } from '../core/status.js';
import type { Md5, PeerStatus } from '../core/types.js';
import { atomicWrite, atomicWriteStream, PreconditionFailed, removeStrayTemps, ValidationFailed } from '../io/atomic-write.js';
import { BackupStore } from '../io/backups.js';
import { Journal } from '../io/journal.js';
import { cachedMd5, readRange, readSnapshot, readSnapshotSync, sigOf, SMALL_FILE_BYTES, statSig, type Snapshot } from '../io/snapshot.js';
import { Watcher } from '../io/watcher.js';
import type { Logger } from '../log.js';
import { decodeFrame } from '../net/codec.js';
import { FramePublisher } from '../net/publisher.js';
import { RequestReplier } from '../net/replier.js';
import { createLinkSecurity, UNAUTHENTICATED_WARNING, type LinkSecurity } from '../net/curve.js';
import { HookRunner } from './hooks.js';
import { Metrics } from './metrics.js';
import { createFileEntry, MISSING, type Content, type FileEntry, type PeerFacts } from './file-entry.js';
import { createPeerLink, digestSum, type PeerLink } from './peer-link.js';
import { unifiedDiff } from './text-diff.js';
import type { BackupList, DiffReport, ForceReport, ForceRequest, ForceResult, NodeActions, NodeState, NodeView, RestoreReport } from './view.js';

/** Delay of the re-read that follows every watcher event: watchers throttle bursts. */
const VERIFY_MS = 15;
/** Period of the stat sweep that catches whatever a watcher missed (anti-entropy). */
const SWEEP_MS = 5000;
/** Every this many sweeps, small files are re-hashed whatever their stat says. */
const FULL_SWEEP_EVERY = 12;
/** Writes closer together than this are a burst: they go through the thread pool. */
const BURST_GAP_MS = 25;
/** The largest copies `diff` compares (each side is held in memory). */
const DIFF_MAX_BYTES = 16 * 1024 * 1024;
/** Versions of a file remembered for `also` (a frame carries at most LIMITS.history). */
const HISTORY = 32;
/** A version the validate command refused is not tried again (retransmissions) before this. */
const REVALIDATE_MS = 30_000;

/** A chunked transfer that could not complete (the sender moved on or went away). */
class PullFailed extends Error {}

/**
 * One entangled node: owns its files, its sockets and its timers, and exposes a read-only view
 * for the API. `start()` brings it up; `stop()` takes it down in order.
 */
export class EntangledNode implements NodeView, NodeActions {
  readonly settings: Settings;
  readonly epoch = randomBytes(8).toString('hex');
  readonly #log: Logger;
  readonly #files = new Map<string, FileEntry>();
  readonly #byPath = new Map<string, FileEntry>();
  readonly #peers = new Map<string, PeerLink>();
  readonly #names: ReadonlySet<string>;
  readonly #journal: Journal;
  readonly #security: LinkSecurity | null;
  readonly #publisher: FramePublisher;
  readonly #replier: RequestReplier;
  readonly #watcher: Watcher;
  readonly #backups: BackupStore;
  readonly #hooks: HookRunner;
  readonly #hbMs: number;
  readonly metrics: Metrics;
  /** Change frames received and not yet taken up, and writes in progress (burst detection). */
  #inbound = 0;
  #applying = 0;
  #lastApplyAt = 0;
  readonly #listeners = new Set<() => void>();
  #learn = 0;
  #ownSum: string | null = null;
  #timers: NodeJS.Timeout[] = [];
  #sweeps = 0;
  #lastTick = 0;
  #stopping = false;

  constructor(settings: Settings, log: Logger) {
    this.settings = settings;
    this.#log = log;
    this.#security = createLinkSecurity(settings, log);
    this.#publisher = new FramePublisher(this.#security?.server);
    this.#replier = new RequestReplier(this.#security?.server);
    this.#hbMs = Math.max(20, Math.floor(settings.peerTimeoutMs / 5));
    this.#journal = new Journal(settings.stateDir, settings.node, log);
    this.#backups = new BackupStore(settings.stateDir, settings.backups);
    this.#hooks = new HookRunner(settings, log);
    this.metrics = new Metrics(() => this.state());
    const peerNames = settings.peers.map((p) => p.name);
    for (const spec of settings.files) {
      const entry = createFileEntry(spec, peerNames, log, (l, err) => l.error({ err: errorText(err) }, 'file task failed'));
      this.#files.set(spec.name, entry);
      this.#byPath.set(spec.path, entry);
    }
    this.#names = new Set(this.#files.keys());
    const requestTimeout = Math.min(Math.max(settings.peerTimeoutMs, 500), 5000);
    for (const spec of settings.peers) this.#peers.set(spec.name, createPeerLink(spec, log, requestTimeout, this.#security));
    this.#watcher = new Watcher(
      this.#byPath.keys(),
      (p) => {
        const entry = this.#byPath.get(p);
        if (entry) this.#onEvent(entry);
      },
      (err) => this.#log.error({ err: errorText(err) }, 'watcher error'),
    );
  }

  // ---------------------------------------------------------------- lifecycle

  /** Hashes every file, binds and connects the sockets, starts watching. Throws on bind failure. */
  async start(): Promise<void> {
    const removed = await removeStrayTemps(this.settings.files.map((f) => path.dirname(f.path)));
    for (const p of removed) this.#log.info({ path: p }, 'removed a temp file left by a crash');
    try {
      await this.#journal.load();
    } catch (err) {
      throw new ConfigError(`stateDir: cannot use ${this.settings.stateDir} (${errorText(err)})`);
    }
    try {
      this.#backups.load();
    } catch (err) {
      throw new ConfigError(`stateDir: cannot keep backups in ${path.join(this.settings.stateDir, 'backups')} (${errorText(err)})`);
    }
    // A few at a time: small files are read synchronously anyway, large ones stream.
    const entries = [...this.#files.values()];
    for (let i = 0; i < entries.length; i += 64) await Promise.all(entries.slice(i, i + 64).map((e) => this.#bootstrapFile(e)));

    if (!this.#security) this.#log.warn({ pub: this.settings.m2m.pub, rep: this.settings.m2m.rep }, UNAUTHENTICATED_WARNING);
    try {
      await this.#security?.start();
    } catch (err) {
      throw new EntangledError('IO', `cannot start the CURVE authentication handler: ${errorText(err)}`);
    }
    try {
      await this.#publisher.bind(this.settings.m2m.pub);
    } catch (err) {
      throw new EntangledError('IO', `cannot bind m2m.pub ${this.settings.m2m.pub}: ${errorText(err)}`);
    }
    try {
      await this.#replier.bind(this.settings.m2m.rep);
    } catch (err) {
      throw new EntangledError('IO', `cannot bind m2m.rep ${this.settings.m2m.rep}: ${errorText(err)}`);
    }
    this.#replier.start(
      new Set(this.#peers.keys()),
      (req) => this.#onRequest(req),
      (reason) => this.#log.warn({ reason }, 'dropped a malformed request'),
    );
    for (const link of this.#peers.values()) {
      link.subscriber.start((bytes) => this.#onMessage(link, bytes));
    }
    await this.#watcher.start();
    this.#lastTick = Date.now();
    this.#timers.push(setInterval(() => this.#tick(), this.#hbMs));
    this.#timers.push(setInterval(() => this.#sweep(), SWEEP_MS));
    this.#publishHeartbeat();
    const mem = process.memoryUsage();
    this.#log.info(
      { files: this.#files.size, peers: [...this.#peers.keys()], reconcile: this.settings.reconcile, rssMiB: mb(mem.rss), heapMiB: mb(mem.heapUsed), externalMiB: mb(mem.external) },
      'node started',
    );
  }

  /** Stops watching, lets in-flight writes finish (bounded), closes sockets. Never leaves a partial file. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    for (const e of this.#files.values()) if (e.verifyTimer) clearTimeout(e.verifyTimer);
    await this.#watcher.close().catch(() => undefined);
    const drained = Promise.all([...this.#files.values()].map((e) => e.queue.drained()));
    // In-flight work gets a bounded grace; an abandoned write leaves at most a temp file,
    // which the next start removes.
    await Promise.race([drained, delay(800)]);
    await Promise.race([this.#journal.flush(), delay(300)]);
    this.#backups.flush();
    for (const link of this.#peers.values()) link.requester.close();
    await Promise.all([...this.#peers.values()].map((l) => l.subscriber.close()));
    this.#publisher.close();
    await this.#replier.close();
    await this.#security?.close();
    this.#log.info('node stopped');
  }

  async #bootstrapFile(entry: FileEntry): Promise<void> {
    let snapSig = 'absent';
    try {
      const snap = await readSnapshot(entry.spec.path);
      this.#cacheHash(entry, snap);
      snapSig = snap?.sig ?? 'absent';
      if (snap === null) {
        entry.log.warn('listed file does not exist; it is created when a peer sends its version');
      } else {
        entry.known = snap.md5;
        entry.local = { md5: snap.md5, size: snap.size, mtimeMs: snap.mtimeMs };
        this.#remember(entry, snap.md5);
      }
    } catch (err) {
      entry.error = errorText(err);
      entry.errorKind = 'read';
      entry.log.error({ err: entry.error }, 'cannot read listed file');
    }
    entry.statSig = snapSig;
  }

  // ---------------------------------------------------------------- local changes

  #onEvent(entry: FileEntry): void {
    if (this.#stopping) return;
    this.#touch(entry, true);
  }

  /**
   * Queues one scan of the file unless one is already waiting. The scan starts after the
   * current batch of watcher events (setImmediate), so the several events of one save make one
   * read; an event during a scan queues the next one, so the last write is always read.
   */
  #touch(entry: FileEntry, verify: boolean): void {
    if (entry.scanQueued) return;
    entry.scanQueued = true;
    setImmediate(() => {
      void entry.queue.push(async () => {
        entry.scanQueued = false;
        const snap = await this.#scan(entry);
        // The event of our own rename (the file is exactly what we wrote) needs no second look.
        const echo = snap !== null && snap !== undefined && snap.sig === entry.statSig && snap.md5 === entry.known;
        if (verify && !echo && !this.#stopping) this.#scheduleVerify(entry, snap?.sig ?? 'absent');
      });
    });
  }

  /**
   * The safety net under the watcher: shortly after an event-driven read, look again, and read
   * again if the file's identity (inode, size, mtime and ctime in ns) moved since.
   */
  #scheduleVerify(entry: FileEntry, sig: string): void {
    if (entry.verifyTimer) clearTimeout(entry.verifyTimer);
    entry.verifyTimer = setTimeout(() => {
      entry.verifyTimer = null;
      if (this.#stopping) return;
      if (statSig(entry.spec.path) !== sig) this.#touch(entry, true);
    }, VERIFY_MS);
  }

  /** Reads the file and publishes it when it differs from the last version we had. Returns the snapshot. */
  async #scan(entry: FileEntry): Promise<Snapshot | null | undefined> {
    let snap: Snapshot | null;
    try {
      snap = await readSnapshot(entry.spec.path, entry.hash);
      this.#cacheHash(entry, snap);
    } catch (err) {
      this.#setError(entry, 'read', errorText(err), 'cannot read listed file');
      return undefined;
    }
    this.#clearReadError(entry);
    this.#onSnapshot(entry, snap);
    return snap;
  }

  #cacheHash(entry: FileEntry, snap: Snapshot | null): void {
    entry.hash = snap && snap.sig !== 'moving' && (snap.data === null || snap.settled) ? { sig: snap.sig, md5: snap.md5 } : null;
  }

  /**
   * What is on disk now, to decide on a peer's change: the cached md5 when the file's identity
   * has not moved since it was read settled (one stat), else a scan, which first publishes a
   * local edit the watcher has not reported yet. Undefined when the file cannot be read.
   */
  async #localNow(entry: FileEntry): Promise<Md5 | null | undefined> {
    const cached = entry.errorKind === 'read' ? undefined : cachedMd5(entry.spec.path, entry.hash);
    if (cached !== undefined && cached === entry.known && cached === entry.local.md5) return cached;
    const snap = await this.#scan(entry);
    return snap === undefined ? undefined : (snap?.md5 ?? null);
  }

  #onSnapshot(entry: FileEntry, snap: Snapshot | null): void {
    const decision = decideLocal(entry.known, snap?.md5 ?? null);
    const wasPresent = entry.local.md5 !== null;
    if ((snap?.md5 ?? null) !== entry.local.md5) this.#changed();
    entry.local = snap ? { md5: snap.md5, size: snap.size, mtimeMs: snap.mtimeMs } : MISSING;
    if (decision.kind === 'gone') {
      if (wasPresent) {
        this.#ownSum = null;
        entry.log.warn('listed file was deleted; peers keep their copies');
        this.#publishHave(entry, null, null, null);
      }
      return;
    }
    if (decision.kind === 'unchanged') {
      if (!wasPresent) {
        this.#ownSum = null;
        this.#publishHave(entry, entry.local.md5, null, null);
      }
      return;
    }
    if (!snap) return;
    entry.known = decision.md5;
    entry.lastSent = { prev: decision.prev, md5: decision.md5 };
    this.#remember(entry, decision.md5);
    this.#ownSum = null;
    this.#markSent(entry, decision.md5);
    this.#publishChange(entry, decision.prev, snap);
    entry.log.info({ md5: decision.md5, prev: decision.prev, size: snap.size }, 'local change published');
  }

  /** Records `md5` as in flight to every peer in reach (but `except`), until it confirms. */
  #markSent(entry: FileEntry, md5: Md5, except?: string): void {
    const now = Date.now();
    for (const [peer, facts] of entry.peers) {
      if (peer === except || !this.#peers.get(peer)?.connected) continue;
      facts.inFlight = md5;
      facts.sentAt = now;
      facts.publishedAt = now;
    }
  }

  #publishChange(entry: FileEntry, prev: Md5 | null, snap: Snapshot): void {
    // Never announce what a receiver must reject (content present iff small).
    if ((snap.data === null) !== (snap.size > LIMITS.inline)) {
      entry.log.error({ size: snap.size }, 'refusing to publish an inconsistent snapshot');
      return;
    }
    const to: Record<string, string> = {};
    for (const link of this.#peers.values()) if (link.connected && link.epoch !== null) to[link.spec.name] = link.epoch;
    const frame: ChangeFrame = {
      v: 1,
      t: 'change',
      from: this.settings.node,
      epoch: this.epoch,
      name: entry.spec.name,
      prev,
      also: this.#superseded(entry, prev, snap.md5),
      md5: snap.md5,
      data: snap.data,
      size: snap.size,
      ts: Date.now(),
      to,
    };
    this.#publish(frame);
  }

  #publish(frame: Frame): void {
    this.metrics.framesSent.inc({ kind: frame.t });
    if (frame.t === 'change' && frame.data) this.metrics.bytesReplicated.inc({ direction: 'sent' }, frame.data.length);
    this.#publisher.publish(frame);
  }

  #remember(entry: FileEntry, md5: Md5): void {
    rememberVersion(entry.history, md5, HISTORY);
  }

  /** What a change from `prev` to `md5` also supersedes, given what peers in reach hold. */
  #superseded(entry: FileEntry, prev: Md5 | null, md5: Md5): Md5[] {
    const held: Md5[] = [];
    for (const [peer, facts] of entry.peers) if (this.#peers.get(peer)?.connected && facts.md5) held.push(facts.md5);
    return supersededVersions(entry.history, held, prev, md5);
  }

  #publishHave(entry: FileEntry, md5: Md5 | null, re: Md5 | null, conflict: string | null): void {
    const frame: HaveFrame = { v: 1, t: 'have', from: this.settings.node, epoch: this.epoch, name: entry.spec.name, md5, re, conflict };
    this.#publish(frame);
  }

  #publishHeartbeat(): void {
    const frame: HeartbeatFrame = { v: 1, t: 'hb', from: this.settings.node, epoch: this.epoch, sum: this.#digestSum() };
    this.#publish(frame);
  }

  #digestSum(): string {
    this.#ownSum ??= digestSum([...this.#files.values()].map((e) => [e.spec.name, e.local.md5]));
    return this.#ownSum;
  }

  // ---------------------------------------------------------------- frames from peers

  #onMessage(link: PeerLink, bytes: Buffer): void {
    if (this.#stopping) return;
    const decoded = decodeFrame(bytes, { peer: link.spec.name, names: this.#names });
    if (!decoded.ok) {
      link.log.warn({ reason: decoded.reason, bytes: bytes.length }, 'dropped a frame');
      this.metrics.framesDropped.inc({ reason: decoded.reason });
      return;
    }
    const frame: Frame = decoded.value;
    this.metrics.framesReceived.inc({ kind: frame.t });
    if (frame.t === 'hb') {
      this.#onHeartbeat(link, frame);
      return;
    }
    // Frames from a peer not (yet again) in reach are stale, and until the connect exchange is
    // done it is the exchange that decides; a change that is still wanted is retransmitted.
    if (!link.connected || frame.epoch !== link.epoch || link.needsConnectExchange) {
      link.log.debug({ kind: frame.t }, 'dropped a frame from a peer not in reach');
      return;
    }
    link.lastSeen = Date.now();
    const entry = this.#files.get(frame.name);
    if (!entry) return;
    if (frame.t === 'have') this.#onHave(link, entry, frame);
    else if (!Object.hasOwn(frame.to, this.settings.node) || frame.to[this.settings.node] !== this.epoch) {
      // Sent while the sender did not have this incarnation of us in reach: the exchange decides.
      link.log.debug({ path: entry.spec.path }, 'dropped a change not addressed to this incarnation');
    } else {
      entry.log.debug({ peer: link.spec.name, md5: frame.md5, prev: frame.prev }, 'change received');
      entry.incoming.push(frame);
      this.#inbound++;
      void entry.queue.push(() => this.#onChange(link, entry, frame));
    }
  }

  #onHeartbeat(link: PeerLink, hb: HeartbeatFrame): void {
    const now = Date.now();
    link.lastSeen = now;
    if (this.#peerSeen(link, hb.epoch)) return;
    if (link.needsConnectExchange || link.exchanging) return;
    if (hb.sum !== this.#remoteSum(link) && now - link.lastRefresh >= this.#hbMs * 2) void this.#exchange(link);
  }

  /**
   * Notes that the peer is alive with `epoch` (from a heartbeat or a request). When it was out
   * of reach or has restarted, forgets what was in flight to it (changes are never queued for a
   * peer that was away) and starts the connect exchange. Returns true in that case.
   */
  #peerSeen(link: PeerLink, epoch: string): boolean {
    link.lastSeen = Date.now();
    if (link.connected && link.epoch === epoch) return false;
    if (link.connected) link.log.info('peer restarted');
    else if (link.epoch === null) link.log.info('peer connected');
    else link.log.info('peer back');
    if (!link.connected) this.#hooks.peerUp(link.spec.name, link.log);
    link.connected = true;
    link.epoch = epoch;
    this.#changed();
    link.remote.clear();
    link.remoteSum = null;
    for (const entry of this.#files.values()) {
      const facts = entry.peers.get(link.spec.name);
      if (facts) {
        facts.md5 = undefined;
        facts.inFlight = null;
      }
    }
    link.needsConnectExchange = true;
    void this.#exchange(link);
    return true;
  }

  #remoteSum(link: PeerLink): string {
    link.remoteSum ??= digestSum(link.remote.entries());
    return link.remoteSum;
  }

  #learnPeerMd5(link: PeerLink, entry: FileEntry, facts: PeerFacts, md5: Md5 | null): void {
    facts.md5 = md5;
    facts.learnedAt = ++this.#learn;
    link.remote.set(entry.spec.name, md5);
    link.remoteSum = null;
    this.#changed();
  }

  /** Records agreement with a peer: clears a split-brain, journals the version. */
  #agree(link: PeerLink, entry: FileEntry, facts: PeerFacts, md5: Md5): void {
    if (facts.splitBrain) {
      facts.splitBrain = false;
      entry.log.info({ peer: link.spec.name, md5 }, 'split-brain resolved');
    }
    if (facts.inFlight === md5) this.#confirmed(link, facts);
    this.#journal.record(link.spec.name, entry.spec.name, md5);
    this.#changed();
  }

  /** The peer confirmed our in-flight change: it is no longer pending. */
  #confirmed(link: PeerLink, facts: PeerFacts): void {
    facts.inFlight = null;
    if (facts.publishedAt > 0) {
      this.metrics.propagation.observe({ peer: link.spec.name }, (Date.now() - facts.publishedAt) / 1000);
      facts.publishedAt = 0;
    }
  }

  #markSplitBrain(link: PeerLink, entry: FileEntry, facts: PeerFacts, remote: Md5 | null | undefined): void {
    facts.inFlight = null;
    if (facts.splitBrain) return;
    facts.splitBrain = true;
    this.#changed();
    entry.log.warn({ peer: link.spec.name, local: entry.local.md5, remote: remote ?? null }, 'split-brain: both sides changed; neither copy is overwritten');
    this.#hooks.splitBrain(entry.spec, link.spec.name, entry.local.md5, entry.log);
  }

  #onHave(link: PeerLink, entry: FileEntry, have: HaveFrame): void {
    const facts = entry.peers.get(link.spec.name);
    if (!facts) return;
    this.#learnPeerMd5(link, entry, facts, have.md5);
    if (facts.inFlight !== null && (have.re === facts.inFlight || have.md5 === facts.inFlight)) this.#confirmed(link, facts);
    if (have.md5 !== null && have.md5 === entry.local.md5) {
      this.#agree(link, entry, facts, have.md5);
    } else if (have.conflict === this.settings.node) {
      this.#markSplitBrain(link, entry, facts, have.md5);
    }
  }

  async #onChange(link: PeerLink, entry: FileEntry, frame: ChangeFrame): Promise<void> {
    entry.incoming.splice(entry.incoming.indexOf(frame), 1);
    this.#inbound--;
    const facts = entry.peers.get(link.spec.name);
    if (!facts || this.#stopping) return;
    const local = await this.#localNow(entry);
    if (local === undefined) return;
    // A later change of the same sender, already waiting, replaces this one and lists our copy
    // among the versions it supersedes: skip the write of a version that would live microseconds.
    if (isSuperseded(local, frame, entry.incoming)) {
      entry.log.debug({ peer: link.spec.name, md5: frame.md5 }, 'skipped a change superseded by a queued one');
      return;
    }
    const decision = decideIncoming({ local, prev: frame.prev, also: frame.also, md5: frame.md5, peer: facts, history: entry.history });
    this.#learnPeerMd5(link, entry, facts, frame.md5);
    switch (decision.kind) {
      case 'stale':
        entry.log.debug({ peer: link.spec.name, md5: frame.md5 }, 'ignored a change to a version this node already moved on from');
        this.#publishHave(entry, local, frame.md5, null);
        return;
      case 'already':
        this.#agree(link, entry, facts, frame.md5);
        this.#publishHave(entry, frame.md5, frame.md5, null);
        return;
      case 'split-brain':
        this.#markSplitBrain(link, entry, facts, frame.md5);
        this.#publishHave(entry, local, frame.md5, link.spec.name);
        return;
      case 'apply': {
        if (this.#refusedRecently(entry, frame.md5)) return;
        const ok = await this.#apply(entry, local, frame.data ?? { link, size: frame.size }, frame.md5, link);
        if (ok === 'written') {
          facts.inFlight = null;
          this.#agree(link, entry, facts, frame.md5);
          this.#publishHave(entry, frame.md5, frame.md5, null);
          entry.log.info({ peer: link.spec.name, md5: frame.md5, reason: decision.reason, latencyMs: Date.now() - frame.ts }, 'applied change from peer');
        } else if (ok === 'changed') {
          // A local edit landed while we wrote: it was published; both sides changed.
          this.#markSplitBrain(link, entry, facts, frame.md5);
          this.#publishHave(entry, entry.local.md5, frame.md5, link.spec.name);
        }
        // 'failed': no ack; the sender retransmits and we retry once the cause is gone.
        return;
      }
    }
  }

  /** Whether `md5` is a version the validate command refused a short while ago. */
  #refusedRecently(entry: FileEntry, md5: Md5): boolean {
    const r = entry.refused;
    if (r === null || r.md5 !== md5 || Date.now() - r.at > REVALIDATE_MS) return false;
    entry.log.debug({ md5 }, 'not retrying a version the validate command refused');
    return true;
  }

  /**
   * Writes version `md5` (from the peer `from`, or forced) over the file when it still hashes
   * to `expected` (checked again just before the rename; `check` false skips that). The file's
   * validate command runs on the staged copy first; the version replaced is kept as a backup
   * (if it cannot be, nothing is written). Updates the echo guard first, so the watcher sees
   * our bytes as no change; runs the onApply hook after.
   */
  async #apply(entry: FileEntry, expected: Md5 | null, content: Content, md5: Md5, from: PeerLink, check = true): Promise<'written' | 'changed' | 'failed'> {
    const before = entry.known;
    const created = entry.local.md5 === null;
    const size = content instanceof Uint8Array ? content.length : content.size;
    const precondition = check ? () => this.#holds(entry, expected) : undefined;
    const validate = entry.spec.validate === null ? undefined : (tmp: string) => this.#hooks.validate(entry.spec, tmp, md5, from.spec.name, entry.log);
    const replaced = check ? expected : entry.local.md5;
    const beforeRename = replaced === null || !this.#backups.enabled ? undefined : () => this.#keepBackup(entry, replaced);
    // One change alone is written on the main thread (latency); in a burst, i.e. with other
    // changes waiting, being written or just written, the thread pool overlaps the fsyncs.
    const now = Date.now();
    const sync = this.#inbound === 0 && this.#applying === 0 && now - this.#lastApplyAt > BURST_GAP_MS;
    this.#lastApplyAt = now;
    entry.known = md5;
    this.#applying++;
    try {
      const opts = { precondition, validate, beforeRename, sync };
      if (content instanceof Uint8Array) await atomicWrite(entry.spec.path, content, opts);
      else await atomicWriteStream(entry.spec.path, (append) => this.#pullChunks(content.link, entry, md5, content.size, append), opts);
    } catch (err) {
      entry.known = before;
      if (err instanceof PreconditionFailed) {
        await this.#scan(entry);
        return 'changed';
      }
      if (err instanceof ValidationFailed) {
        entry.refused = { md5, at: Date.now() };
        this.#setError(entry, 'write', `validate refused version ${md5} from ${from.spec.name}: ${err.message}`, 'validate refused a version: the file was not replaced');
        return 'failed';
      }
      if (err instanceof PullFailed) {
        // The sender moved on or went away mid-transfer: its next change (or retransmission) comes.
        entry.log.warn({ peer: content instanceof Uint8Array ? undefined : content.link.spec.name, err: err.message }, 'transfer abandoned');
        return 'failed';
      }
      this.#setError(entry, 'write', errorText(err), 'cannot write listed file');
      return 'failed';
    } finally {
      this.#applying--;
    }
    let st: import('node:fs').BigIntStats | null = null;
    try {
      st = statSync(entry.spec.path, { bigint: true });
    } catch {
      // RACE: replaced or removed right after our rename; the watcher reports it.
    }
    if (created) entry.log.info({ md5 }, 'created listed file');
    entry.local = { md5, size, mtimeMs: st ? Number(st.mtimeMs) : Date.now() };
    entry.statSig = st ? sigOf(st) : '';
    entry.hash = st && size > LIMITS.inline ? { sig: entry.statSig, md5 } : null;
    entry.error = null;
    entry.errorKind = null;
    entry.refused = null;
    this.#ownSum = null;
    this.#remember(entry, md5);
    this.#hooks.applied(entry.spec, md5, from.spec.name, entry.log);
    this.metrics.bytesReplicated.inc({ direction: 'received' }, size);
    this.#changed();
    return 'written';
  }

  /**
   * Streams version `md5` of a large file from `link`, chunk by chunk, checking its digest. The
   * request for the next chunk is on its way while the current one is hashed and written.
   */
  async #pullChunks(link: PeerLink, entry: FileEntry, md5: Md5, size: number, append: (piece: Uint8Array) => Promise<void>): Promise<void> {
    const hash = createHash('md5');
    const fetch = (offset: number): Promise<Uint8Array> =>
      link.requester.request({ v: 1, t: 'pull', from: this.settings.node, name: entry.spec.name, md5, offset }).then(
        (reply) => {
          if (reply.t === 'error') throw new PullFailed(reply.message);
          const want = Math.min(LIMITS.chunk, size - offset);
          if (reply.t !== 'chunk' || reply.md5 !== md5 || reply.offset !== offset || reply.size !== size || reply.data.length !== want) {
            throw new PullFailed('unexpected chunk');
          }
          return reply.data;
        },
        (err: unknown) => {
          throw err instanceof PullFailed ? err : new PullFailed(errorText(err));
        },
      );
    let next: Promise<Uint8Array> | null = fetch(0);
    for (let offset = 0; next !== null; ) {
      const data: Uint8Array = await next;
      offset += data.length;
      next = offset < size ? fetch(offset) : null;
      // An abandoned prefetch must not become an unhandled rejection.
      next?.catch(() => undefined);
      // The write goes to the thread pool while this thread hashes the same bytes.
      const written = append(data);
      hash.update(data);
      await written;
    }
    if (hash.digest('hex') !== md5) throw new PullFailed('content does not match md5');
  }

  /**
   * Whether the file on disk still hashes to `expected` (null: absent): its signature (inode,
   * size, mtime and ctime in ns) still that of its last hash, when that hash is trusted (a large
   * file's, or a small file's read settled: see Snapshot.settled); otherwise read again.
   */
  #holds(entry: FileEntry, expected: Md5 | null): boolean | Promise<boolean> {
    const cached = cachedMd5(entry.spec.path, entry.hash);
    if (cached !== undefined) return cached === expected;
    const small = readSnapshotSync(entry.spec.path);
    if (small !== undefined) return (small?.md5 ?? null) === expected;
    return readSnapshot(entry.spec.path, entry.hash).then((s) => (s?.md5 ?? null) === expected);
  }

  #setError(entry: FileEntry, kind: 'read' | 'write', message: string, what: string): void {
    if (entry.error !== message) {
      entry.log.error({ err: message }, what);
      this.#changed();
    }
    entry.error = message;
    entry.errorKind = kind;
  }

  #clearReadError(entry: FileEntry): void {
    if (entry.errorKind === 'read') {
      entry.error = null;
      entry.errorKind = null;
    }
  }

  // ---------------------------------------------------------------- digest exchange

  /**
   * Asks the peer for its digests. On a (re)connect, decides each file (reconcileOnConnect);
   * otherwise only refreshes what we know of the peer's copies.
   */
  async #exchange(link: PeerLink): Promise<void> {
    if (link.exchanging || this.#stopping) return;
    link.exchanging = true;
    const connect = link.needsConnectExchange;
    const startedAt = this.#learn;
    const epoch = link.epoch;
    try {
      const reply = await link.requester.request({ v: 1, t: 'digests', from: this.settings.node, epoch: this.epoch });
      if (reply.t !== 'digests') throw new EntangledError('PEER_UNREACHABLE', 'unexpected reply');
      if (reply.from !== link.spec.name) throw new EntangledError('PEER_UNREACHABLE', `reply from "${reply.from}"`);
      if (!link.connected || link.epoch !== epoch || reply.epoch !== epoch) return;
      link.lastRefresh = Date.now();
      this.#applyDigests(link, reply, connect, startedAt);
      if (connect) link.needsConnectExchange = false;
    } catch (err) {
      link.log.warn({ err: errorText(err), connect }, 'digest exchange failed; retrying');
    } finally {
      link.exchanging = false;
    }
  }

  #applyDigests(link: PeerLink, reply: DigestsReply, connect: boolean, startedAt: number): void {
    const peer = link.spec.name;
    const pending = new Set(reply.pending);
    link.remote = new Map(Object.entries(reply.files));
    link.remoteSum = null;
    for (const entry of this.#files.values()) {
      const facts = entry.peers.get(peer);
      if (!facts) continue;
      // A frame told us something newer while the request was on its way.
      if (facts.learnedAt > startedAt) continue;
      const remote = Object.hasOwn(reply.files, entry.spec.name) ? (reply.files[entry.spec.name] ?? null) : null;
      facts.md5 = remote;
      const local = entry.local.md5;
      if (!connect) {
        if (facts.inFlight !== null && remote === facts.inFlight) facts.inFlight = null;
        if (remote !== null && remote === local) this.#agree(link, entry, facts, remote);
        continue;
      }
      const decision = reconcileOnConnect({
        local,
        remote,
        agreed: this.#journal.agreed(peer, entry.spec.name),
        mode: this.settings.reconcile,
        inFlight: facts.inFlight !== null || pending.has(entry.spec.name),
      });
      switch (decision.kind) {
        case 'aligned':
          this.#agree(link, entry, facts, remote as Md5);
          break;
        case 'split-brain':
          this.#markSplitBrain(link, entry, facts, remote);
          // Tell the peer, so both sides report it even if only one of them saw the difference.
          this.#publishHave(entry, local, null, peer);
          break;
        case 'take-theirs':
          void entry.queue.push(() => this.#pullAndApply(link, entry));
          break;
        case 'pending':
        case 'missing':
        case 'keep-ours':
          break;
      }
    }
  }

  /** auto mode: our copy is still the agreed version and the peer's moved on; take the peer's. */
  async #pullAndApply(link: PeerLink, entry: FileEntry): Promise<void> {
    const facts = entry.peers.get(link.spec.name);
    if (!facts || this.#stopping) return;
    const agreed = this.#journal.agreed(link.spec.name, entry.spec.name);
    const snap = await this.#scan(entry);
    if (snap === undefined || !snap || snap.md5 !== agreed) return;
    let reply: Reply;
    try {
      reply = await link.requester.request({ v: 1, t: 'pull', from: this.settings.node, name: entry.spec.name });
    } catch (err) {
      link.log.warn({ path: entry.spec.path, err: errorText(err) }, 'pull failed');
      link.needsConnectExchange = true;
      return;
    }
    if (reply.t !== 'content' || reply.md5 === null) return;
    this.#learnPeerMd5(link, entry, facts, reply.md5);
    if (reply.md5 === snap.md5) {
      this.#agree(link, entry, facts, reply.md5);
      return;
    }
    if (this.#refusedRecently(entry, reply.md5)) return;
    const ok = await this.#apply(entry, snap.md5, reply.data ?? { link, size: reply.size }, reply.md5, link);
    if (ok === 'written') {
      this.#agree(link, entry, facts, reply.md5);
      this.#publishHave(entry, reply.md5, null, null);
      entry.log.info({ peer: link.spec.name, md5: reply.md5, from: snap.md5 }, 'fast-forwarded to the peer\'s version (reconcile: auto)');
    } else if (ok === 'changed') {
      this.#markSplitBrain(link, entry, facts, reply.md5);
    } else {
      // Not written (disk full, permission, refused by validate): the next exchange retries.
      link.needsConnectExchange = true;
    }
  }

  async #onRequest(req: Request): Promise<Reply> {
    const link = this.#peers.get(req.from);
    if (req.t === 'digests') {
      if (link) this.#peerSeen(link, req.epoch);
      const files: Record<string, Md5 | null> = {};
      const pending: string[] = [];
      for (const entry of this.#files.values()) {
        files[entry.spec.name] = entry.local.md5;
        if (link && entry.peers.get(link.spec.name)?.inFlight) pending.push(entry.spec.name);
      }
      return { v: 1, t: 'digests', from: this.settings.node, epoch: this.epoch, files, pending };
    }
    const entry = this.#files.get(req.name);
    if (!entry) return { v: 1, t: 'error', message: 'name not listed here' };
    if (req.t === 'take') {
      if (!link) return { v: 1, t: 'error', message: 'unknown peer' };
      return entry.queue.run(() => this.#take(link, entry, req));
    }
    if (req.offset !== undefined) return this.#chunk(entry, req.md5!, req.offset);
    const snap = await readSnapshot(entry.spec.path, entry.hash);
    this.#cacheHash(entry, snap);
    return { v: 1, t: 'content', name: entry.spec.name, md5: snap?.md5 ?? null, data: snap?.data ?? null, size: snap?.size ?? 0 };
  }

  /** One chunk of version `md5`, or an error when this node no longer holds that version. */
  async #chunk(entry: FileEntry, md5: Md5, offset: number): Promise<Reply> {
    if (entry.local.md5 !== md5 || entry.known !== md5) return { v: 1, t: 'error', message: 'version changed' };
    const size = entry.local.size;
    if (offset >= size) return { v: 1, t: 'error', message: 'offset past the end' };
    const data = await readRange(entry.spec.path, offset, Math.min(LIMITS.chunk, size - offset));
    // A short read means the file changed under us: the receiver's digest check would fail anyway.
    if (data.length !== Math.min(LIMITS.chunk, size - offset)) return { v: 1, t: 'error', message: 'version changed' };
    return { v: 1, t: 'chunk', name: entry.spec.name, md5, offset, size, data };
  }

  // ---------------------------------------------------------------- timers

  #tick(): void {
    if (this.#stopping) return;
    this.#publishHeartbeat();
    const now = Date.now();
    // A stall of this node's own (a frozen process, a paused VM): a short one is not the peers'
    // fault, so their silence counts from now; one long enough for them to have lost us is a
    // disconnection on both sides, so that the digest exchange, not a late frame, decides what
    // changed meanwhile.
    const stallMs = now - this.#lastTick;
    const stalled = stallMs > this.#hbMs * 2;
    const away = stallMs > this.settings.peerTimeoutMs / 2;
    this.#lastTick = now;
    for (const link of this.#peers.values()) {
      if (!link.connected) continue;
      if (stalled && !away) link.lastSeen = Math.max(link.lastSeen ?? now, now);
      const silentMs = link.lastSeen === null ? 0 : now - link.lastSeen;
      if (away || silentMs > this.settings.peerTimeoutMs) {
        link.connected = false;
        this.#changed();
        if (away) link.log.warn({ stalledMs: stallMs }, 'peer lost: this node was stalled');
        else link.log.warn({ silentMs }, 'peer lost');
        this.#hooks.peerDown(link.spec.name, link.log);
        for (const entry of this.#files.values()) {
          const facts = entry.peers.get(link.spec.name);
          if (facts) facts.inFlight = null;
        }
        continue;
      }
      if (link.needsConnectExchange) void this.#exchange(link);
      this.#retransmit(link, now);
    }
    // Whatever was written to our files while we were stalled must be in our digests before any
    // peer is heard again (its frames are read after this callback): re-read them now.
    if (away) for (const entry of this.#files.values()) this.#rescanNow(entry);
  }

  /** Re-reads a small file right now (outside its queue when the queue is idle), else queues it. */
  #rescanNow(entry: FileEntry): void {
    if (!entry.queue.idle || entry.scanQueued) {
      this.#touch(entry, false);
      return;
    }
    let snap;
    try {
      snap = readSnapshotSync(entry.spec.path);
    } catch {
      this.#touch(entry, false);
      return;
    }
    if (snap === undefined) this.#touch(entry, false);
    else this.#onSnapshot(entry, snap);
  }

  /** Re-sends changes a connected peer has not confirmed within a heartbeat. */
  #retransmit(link: PeerLink, now: number): void {
    for (const entry of this.#files.values()) {
      const facts = entry.peers.get(link.spec.name);
      if (!facts || facts.inFlight === null || now - facts.sentAt < this.#hbMs) continue;
      facts.sentAt = now;
      const want = facts.inFlight;
      const epoch = link.epoch;
      // The peer may be lost, or restart, before or while this runs: then nothing is owed to it.
      const owed = () => facts.inFlight === want && link.connected && link.epoch === epoch;
      void entry.queue.push(async () => {
        if (!owed()) return;
        const snap = await this.#scan(entry);
        const sent = entry.lastSent;
        if (!owed() || !snap || !sent || snap.md5 !== want || sent.md5 !== want) return;
        entry.log.debug({ peer: link.spec.name, md5: want }, 'retransmitting an unconfirmed change');
        this.#publishChange(entry, sent.prev, snap);
      });
    }
  }

  /** Anti-entropy: a stat of every file (synchronous: a few microseconds each, no promise). */
  #sweep(): void {
    if (this.#stopping) return;
    const full = ++this.#sweeps % FULL_SWEEP_EVERY === 0;
    for (const entry of this.#files.values()) {
      const sig = statSig(entry.spec.path);
      const changed = sig !== entry.statSig;
      entry.statSig = sig;
      if (changed || (full && entry.local.size <= SMALL_FILE_BYTES) || entry.error !== null) this.#touch(entry, false);
    }
  }

  // ---------------------------------------------------------------- operator actions

  #resolvePeer(name: string | undefined): PeerLink {
    if (name === undefined) {
      if (this.#peers.size > 1) throw new EntangledError('BAD_REQUEST', `several peers (${[...this.#peers.keys()].join(', ')}): name one`);
      return this.#peers.values().next().value as PeerLink;
    }
    const link = this.#peers.get(name);
    if (!link) throw new EntangledError('BAD_REQUEST', `unknown peer "${name}"`);
    return link;
  }

  /** A listed file by its cluster-wide name or its absolute local path. */
  #resolveFile(nameOrPath: string): FileEntry {
    const entry = this.#files.get(nameOrPath) ?? this.#byPath.get(nameOrPath);
    if (!entry) throw new EntangledError('BAD_REQUEST', `"${nameOrPath}" is not a listed file`);
    return entry;
  }

  #reachable(link: PeerLink): void {
    if (!link.connected) throw new EntangledError('PEER_UNREACHABLE', `peer "${link.spec.name}" is not in reach`);
  }

  /**
   * Makes this node take the peer's content (pull) or the peer take ours (push), for the
   * given files (names or absolute paths; default all). Throws BAD_REQUEST or PEER_UNREACHABLE.
   */
  async force(req: ForceRequest): Promise<ForceReport> {
    const link = this.#resolvePeer(req.peer);
    const entries = req.files === undefined ? [...this.#files.values()] : [...new Set(req.files.map((f) => this.#resolveFile(f)))];
    this.#reachable(link);
    const direction = req.direction ?? 'pull';
    const results: ForceResult[] = [];
    for (const entry of entries) {
      try {
        results.push(await entry.queue.run(() => (direction === 'pull' ? this.#forcePull(link, entry) : this.#forcePush(link, entry))));
      } catch (err) {
        // Unreachable before anything was done: the whole call is a 503.
        if (results.length === 0 && (err as EntangledError).code === 'PEER_UNREACHABLE') throw err;
        results.push({ name: entry.spec.name, path: entry.spec.path, result: 'failed', md5: entry.local.md5, error: errorText(err) });
      }
    }
    this.#log.info({ peer: link.spec.name, direction, files: results.length, failed: results.filter((r) => r.result === 'failed').length }, 'force done');
    return { peer: link.spec.name, direction, results };
  }

  /** The peer's whole content reply for a file (data null when it is large: pull chunks). */
  async #pullContent(link: PeerLink, entry: FileEntry): Promise<ContentReply> {
    const reply = await link.requester.request({ v: 1, t: 'pull', from: this.settings.node, name: entry.spec.name });
    if (reply.t !== 'content') throw new EntangledError('PEER_UNREACHABLE', 'unexpected reply');
    return reply;
  }

  async #forcePull(link: PeerLink, entry: FileEntry): Promise<ForceResult> {
    const base = { name: entry.spec.name, path: entry.spec.path };
    const reply = await this.#pullContent(link, entry);
    if (reply.md5 === null) return { ...base, result: 'failed', md5: entry.local.md5, error: `peer "${link.spec.name}" has no such file` };
    const outcome = await this.#forceWrite(link, entry, reply.data ?? { link, size: reply.size }, reply.md5);
    if (outcome === 'failed') return { ...base, result: 'failed', md5: entry.local.md5, error: entry.error ?? 'write failed' };
    entry.log.info({ peer: link.spec.name, md5: reply.md5, result: outcome }, 'forced pull');
    return { ...base, result: outcome, md5: reply.md5 };
  }

  async #forcePush(link: PeerLink, entry: FileEntry): Promise<ForceResult> {
    const base = { name: entry.spec.name, path: entry.spec.path };
    const snap = await this.#scan(entry);
    if (!snap) return { ...base, result: 'failed', md5: null, error: entry.error ?? 'no local copy to push' };
    // A large file is pulled by the peer in chunks while this request waits: allow for it.
    const timeout = link.requester.timeoutMs + Math.ceil(snap.size / 20_000);
    const reply = await link.requester.request({ v: 1, t: 'take', from: this.settings.node, name: entry.spec.name, md5: snap.md5, data: snap.data, size: snap.size }, timeout);
    if (reply.t !== 'took') throw new EntangledError('PEER_UNREACHABLE', 'unexpected reply');
    const facts = entry.peers.get(link.spec.name)!;
    this.#learnPeerMd5(link, entry, facts, reply.md5);
    if (reply.md5 === entry.local.md5) this.#agree(link, entry, facts, reply.md5);
    entry.log.info({ peer: link.spec.name, md5: reply.md5, result: reply.result }, 'forced push');
    return { ...base, result: reply.result, md5: reply.md5 };
  }

  /** A peer's forced push: replace our copy with its content. */
  async #take(link: PeerLink, entry: FileEntry, req: TakeRequest): Promise<Reply> {
    const outcome = await this.#forceWrite(link, entry, req.data ?? { link, size: req.size }, req.md5);
    if (outcome === 'failed') return { v: 1, t: 'error', message: entry.error ?? 'write failed' };
    entry.log.info({ peer: link.spec.name, md5: req.md5, result: outcome }, 'took a forced push');
    return { v: 1, t: 'took', name: entry.spec.name, md5: req.md5, result: outcome };
  }

  /**
   * Writes a forced version (no precondition: the operator chose it), journals the agreement
   * with `link` and publishes it as a change, so other peers follow and `link` confirms.
   */
  async #forceWrite(link: PeerLink, entry: FileEntry, content: Content, md5: Md5): Promise<'updated' | 'unchanged' | 'failed'> {
    const facts = entry.peers.get(link.spec.name)!;
    const snap = await this.#scan(entry);
    this.#learnPeerMd5(link, entry, facts, md5);
    if (snap && snap.md5 === md5) {
      this.#agree(link, entry, facts, md5);
      this.#publishHave(entry, md5, null, null);
      return 'unchanged';
    }
    const prev = entry.known;
    const written = await this.#apply(entry, null, content, md5, link, false);
    if (written !== 'written') return 'failed';
    this.#agree(link, entry, facts, md5);
    entry.lastSent = { prev, md5 };
    this.#markSent(entry, md5, link.spec.name);
    const data = content instanceof Uint8Array ? Buffer.from(content.buffer, content.byteOffset, content.length) : null;
    this.#publishChange(entry, prev, { md5, size: entry.local.size, mtimeMs: entry.local.mtimeMs, data, sig: entry.statSig, settled: false });
    return 'updated';
  }

  /** This node's copy and the peer's side by side, as a unified diff (local ---, peer +++). */
  async diff(file: string, peer?: string): Promise<DiffReport> {
    const link = this.#resolvePeer(peer);
    const entry = this.#resolveFile(file);
    this.#reachable(link);
    const reply = await this.#pullContent(link, entry);
    const local = await readSnapshot(entry.spec.path, entry.hash);
    const sizes = Math.max(local?.size ?? 0, reply.size);
    if (sizes > DIFF_MAX_BYTES) throw new EntangledError('BAD_REQUEST', `${entry.spec.name} is too large to diff (${sizes} bytes; at most ${DIFF_MAX_BYTES})`);
    let remote = reply.data;
    if (remote === null && reply.md5 !== null) {
      const pieces: Uint8Array[] = [];
      try {
        await this.#pullChunks(link, entry, reply.md5, reply.size, async (p) => void pieces.push(p));
      } catch (err) {
        throw new EntangledError('PEER_UNREACHABLE', `cannot fetch the peer's copy: ${errorText(err)}`);
      }
      remote = Buffer.concat(pieces);
    }
    const mine = local && local.data === null ? await readFile(entry.spec.path).catch(() => null) : (local?.data ?? null);
    const d = unifiedDiff({ label: `${this.settings.node}:${entry.spec.name}`, data: mine }, { label: `${link.spec.name}:${entry.spec.name}`, data: remote });
    return { name: entry.spec.name, peer: link.spec.name, local: local?.md5 ?? null, remote: reply.md5, ...d };
  }

  /**
   * Keeps the file's current content (version `md5`) in the backup store before it is replaced;
   * throws (so the write is abandoned) when it cannot. An absent file has nothing to keep.
   */
  #keepBackup(entry: FileEntry, md5: Md5): void | Promise<void> {
    const cannot = (err: unknown): void => {
      // The file is gone (a forced write does not check what is there): nothing to keep.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new EntangledError('IO', `cannot keep the replaced version in ${this.settings.stateDir}: ${errorText(err)}`);
    };
    try {
      return this.#backups.keep(entry.spec.name, entry.spec.path, md5, entry.local.size)?.catch(cannot);
    } catch (err) {
      cannot(err);
    }
  }

  /** The versions of a file kept before peers or forces replaced them, newest first. */
  async backups(file: string): Promise<BackupList> {
    const entry = this.#resolveFile(file);
    const versions = await this.#backups.list(entry.spec.name);
    return { name: entry.spec.name, versions: versions.map(({ md5, size, savedAt }) => ({ md5, size, savedAt })) };
  }

  /**
   * Writes a kept version back (the newest unless `md5` is given) as a local change: it is
   * published like an edit. The version it replaces is kept in turn. Throws NOT_FOUND when no
   * such version is kept (or its copy no longer matches its md5), BAD_REQUEST for an unlisted file.
   */
  async restore(file: string, md5?: Md5): Promise<RestoreReport> {
    const entry = this.#resolveFile(file);
    const name = entry.spec.name;
    return entry.queue.run(async () => {
      const kept = await this.#backups.list(name);
      const version = md5 === undefined ? kept[0] : kept.find((k) => k.md5 === md5);
      if (!version) throw new EntangledError('NOT_FOUND', md5 === undefined ? `no kept version of ${name}` : `no kept version ${md5} of ${name}`);
      const snap = await this.#scan(entry);
      if (snap === undefined) throw new EntangledError('IO', entry.error ?? `cannot read ${entry.spec.path}`);
      if (snap?.md5 === version.md5) return { name, md5: version.md5 };
      const current = snap?.md5 ?? null;
      const damaged = () => new EntangledError('NOT_FOUND', `the kept copy of ${name} ${version.md5} no longer matches its md5`);
      try {
        await atomicWriteStream(
          entry.spec.path,
          async (append) => {
            const hash = createHash('md5');
            for await (const piece of createReadStream(version.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
              hash.update(piece);
              await append(piece);
            }
            if (hash.digest('hex') !== version.md5) throw damaged();
          },
          {
            precondition: () => this.#holds(entry, current),
            beforeRename: current === null || !this.#backups.enabled ? undefined : () => this.#keepBackup(entry, current),
          },
        );
      } catch (err) {
        if (err instanceof PreconditionFailed) throw new EntangledError('CONFLICT', `${name} changed while it was being restored; try again`);
        if (isEntangledError(err)) throw err;
        throw new EntangledError('IO', `cannot restore ${name}: ${errorText(err)}`);
      }
      entry.log.info({ md5: version.md5, savedAt: version.savedAt, replaced: current }, 'restored a kept version');
      // Published as a local change: the scan sees new bytes.
      await this.#scan(entry);
      return { name, md5: version.md5 };
    });
  }

  // ---------------------------------------------------------------- view

  /** Calls `listener` (synchronously, cheaply) whenever the state may have changed. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  state(): NodeState {
    const peers = [...this.#peers.values()].map((l) => ({
      name: l.spec.name,
      connected: l.connected,
      lastSeen: l.lastSeen === null ? null : new Date(l.lastSeen).toISOString(),
    }));
    const files = [...this.#files.values()].map((e) => {
      const perPeer: Record<string, { md5: Md5 | null; status: PeerStatus }> = {};
      const statuses: PeerStatus[] = [];
      for (const [name, facts] of e.peers) {
        const connected = this.#peers.get(name)?.connected ?? false;
        const status = peerStatus(e.local.md5, facts, connected);
        statuses.push(status);
        perPeer[name] = { md5: connected || facts.splitBrain ? (facts.md5 ?? null) : null, status };
      }
      return {
        name: e.spec.name,
        path: e.spec.path,
        status: fileStatus(e.local, statuses),
        md5: e.local.md5,
        size: e.local.md5 === null ? null : e.local.size,
        mtime: e.local.md5 === null ? null : new Date(e.local.mtimeMs).toISOString(),
        error: e.error,
        peers: perPeer,
      };
    });
    return { node: this.settings.node, reconcile: this.settings.reconcile, peers, files };
  }
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
