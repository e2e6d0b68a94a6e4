import path from 'node:path';
import { planReload } from '../config/reload-plan.js';
import type { PeerSpec, Settings } from '../config/settings.js';
import { ConfigError, EntangledError, errorText } from '../core/errors.js';
import { removeStrayTemps } from '../io/atomic-write.js';
import { writeFoldersOf } from '../io/link.js';
import { Watcher } from '../io/watcher.js';
import type { Logger } from '../log.js';
import { createLinkSecurity, UNAUTHENTICATED_WARNING, type LinkSecurity } from '../net/curve.js';
import { FramePublisher } from '../net/publisher.js';
import { RequestReplier } from '../net/replier.js';
import { createContext, type Clock, type NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';
import { FileTable } from './file-table.js';
import { Heartbeat } from './heartbeat.js';
import type { Metrics } from './metrics.js';
import { Operations } from './operations.js';
import { Outbox } from './outbox.js';
import { PeerSession } from './peer-session.js';
import { PeerTable } from './peer-table.js';
import { Requests } from './requests.js';
import { StateView } from './state-view.js';
import { Transfer } from './transfer.js';
import type { BackupList, DiffReport, ForceReport, ForceRequest, NodeActions, NodeState, NodeView, RestoreReport } from './view.js';

/** How long stop() lets in-flight work finish; an abandoned write leaves at most a temp file, which the next start removes. */
const DRAIN_MS = 800;
const JOURNAL_FLUSH_MS = 300;

/**
 * One entangled node, the composition root: builds the owners (files, peers, outbox, transfer,
 * requests, operations, heartbeat, view) and owns the order in which they start and stop. The
 * API sees it through NodeView and NodeActions.
 */
export class EntangledNode implements NodeView, NodeActions {
  readonly #ctx: NodeContext;
  readonly #security: LinkSecurity | null;
  readonly #publisher: FramePublisher;
  readonly #replier: RequestReplier;
  #watcher: Watcher;
  readonly #outbox: Outbox;
  readonly #transfer: Transfer;
  /** The reload in progress (reloads run one after another). */
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #files: FileTable;
  readonly #peers = new PeerTable();
  readonly #operations: Operations;
  readonly #requests: Requests;
  readonly #heartbeat: Heartbeat;
  readonly #view: StateView;

  /** `clock`: the monotonic and wall clocks (tests may pass their own). */
  constructor(settings: Settings, log: Logger, clock?: Clock) {
    const ctx = createContext(settings, log, () => this.state(), clock);
    this.#ctx = ctx;
    this.#security = createLinkSecurity(settings, log, ctx.epoch);
    this.#publisher = new FramePublisher(this.#security?.server);
    this.#replier = new RequestReplier(this.#security?.server);
    const outbox = new Outbox(ctx, this.#publisher, this.#peers);
    const transfer = new Transfer(ctx);
    this.#outbox = outbox;
    this.#transfer = transfer;
    const peerNames = settings.peers.map((p) => p.name);
    const sameAsPeers = (actor: FileActor) => {
      for (const session of this.#peers) session.agreement.noteLocal(actor);
    };
    this.#files = new FileTable(settings.files, peerNames, ctx, (p) => this.#peers.connected(p), outbox, sameAsPeers);
    this.#heartbeat = new Heartbeat(ctx, this.#files, this.#peers, outbox);
    for (const spec of settings.peers) this.#peers.add(this.#session(spec));
    this.#operations = new Operations(ctx, this.#files, this.#peers, transfer, outbox);
    this.#requests = new Requests(ctx, this.#files, this.#peers, this.#operations, this.#heartbeat);
    this.#view = new StateView(ctx, this.#files, this.#peers);
    this.#watcher = this.#newWatcher();
  }

  /** The settings in force (a reload replaces them). */
  get settings(): Settings {
    return this.#ctx.settings;
  }

  #session(spec: PeerSpec): PeerSession {
    return new PeerSession(spec, this.#ctx, this.#files, this.#outbox, this.#transfer, this.#heartbeat, this.#security);
  }

  #newWatcher(): Watcher {
    return new Watcher(
      this.#files.paths,
      (p) => this.#files.byPath(p)?.touch(true),
      (err) => this.#ctx.log.error({ err: errorText(err) }, 'watcher error'),
    );
  }

  get epoch(): string {
    return this.#ctx.epoch;
  }

  get metrics(): Metrics {
    return this.#ctx.metrics;
  }

  /** Loads the state, hashes every file, binds and connects the sockets, starts watching. Throws on bind failure. */
  async start(): Promise<void> {
    const { settings, log } = this.#ctx;
    // A listed link's target folder too: that is where its writes stage their temp files.
    const removed = await removeStrayTemps(settings.files.flatMap((f) => writeFoldersOf(f.path)));
    for (const p of removed) log.info({ path: p }, 'removed a temp file left by a crash');
    try {
      await this.#ctx.journal.load();
    } catch (err) {
      throw new ConfigError(`stateDir: cannot use ${settings.stateDir} (${errorText(err)})`);
    }
    try {
      this.#ctx.backups.load();
    } catch (err) {
      throw new ConfigError(`stateDir: cannot keep backups in ${path.join(settings.stateDir, 'backups')} (${errorText(err)})`);
    }
    await this.#files.bootstrap();

    if (!this.#security) log.warn({ pub: settings.m2m.pub, rep: settings.m2m.rep }, UNAUTHENTICATED_WARNING);
    await bound('cannot start the CURVE authentication handler', () => this.#security?.start());
    await bound(`cannot bind m2m.pub ${settings.m2m.pub}`, () => this.#publisher.bind(settings.m2m.pub));
    await bound(`cannot bind m2m.rep ${settings.m2m.rep}`, () => this.#replier.bind(settings.m2m.rep));
    this.#replier.start(
      this.#peers.nameSet,
      (req) => this.#requests.answer(req),
      (reason, kind, peer) =>
        kind === 'impostor'
          ? log.warn({ peer: 'unknown', reason }, 'refused a request in another node\'s name (its CURVE key is listed, its signature is not that node\'s)')
          : kind === 'replayed'
            ? log.warn({ peer, reason }, 'refused a replayed request (signed by this peer, but already taken or from an earlier run of it)')
            : log.warn({ peer: 'unknown', reason }, 'dropped a malformed request'),
    );
    for (const session of this.#peers) session.start();
    await this.#watcher.start();
    this.#files.startSweeping();
    this.#heartbeat.start();
    const mem = process.memoryUsage();
    log.info(
      { files: this.#files.size, peers: this.#peers.names, reconcile: settings.reconcile, rssMiB: mb(mem.rss), heapMiB: mb(mem.heapUsed), externalMiB: mb(mem.external) },
      'node started',
    );
  }

  /** Stops watching, lets in-flight writes finish (bounded), refuses new requests, closes sockets. Never leaves a partial file. */
  async stop(): Promise<void> {
    if (this.#ctx.stopping) return;
    this.#ctx.stopping = true;
    this.#replier.stopping();
    this.#heartbeat.stop();
    this.#ctx.progress.stop();
    await this.#watcher.close().catch(() => undefined);
    await Promise.race([this.#files.drain(), delay(DRAIN_MS)]);
    await Promise.race([this.#ctx.journal.flush(), delay(JOURNAL_FLUSH_MS)]);
    this.#ctx.backups.flush();
    await Promise.all([...this.#peers].map((s) => s.close()));
    this.#publisher.close();
    await this.#replier.close();
    await this.#security?.close();
    this.#ctx.log.info('node stopped');
  }

  /**
   * Takes up a reloaded config (already checked as start would): files and peers added or
   * removed, keys, hooks, validate/onApply, settleMs, backups, token, reconcile and peerTimeoutMs. Throws
   * ConfigError, changing nothing, when it changes what cannot change while the node runs.
   * Reloads run one at a time; work in progress (a burst, a chunked transfer) goes on.
   */
  reload(next: Settings): Promise<ReloadSummary> {
    const run = this.#reloading.then(() => this.#reload(next));
    this.#reloading = run.catch(() => undefined);
    return run;
  }

  async #reload(next: Settings): Promise<ReloadSummary> {
    const ctx = this.#ctx;
    if (ctx.stopping) throw new EntangledError('IO', 'the node is stopping');
    const plan = planReload(ctx.settings, next);
    if (plan.kind === 'refused') throw new ConfigError(`${plan.key}: cannot change while the node runs (restart the node to change it)`);
    const before = ctx.settings;
    ctx.settings = next;
    ctx.hooks.update(next);
    if (next.backups !== before.backups) ctx.backups.setLimit(next.backups);
    if (next.peerTimeoutMs !== before.peerTimeoutMs) this.#heartbeat.retime();

    // Peers first, so that a file added below knows every peer. A peer whose endpoints changed is made anew.
    this.#security?.setPeers(next.peers);
    const gone = [...plan.peers.removed, ...plan.peers.replaced];
    for (const spec of gone) {
      const session = this.#peers.remove(spec.name);
      for (const actor of this.#files) actor.removePeer(spec.name);
      await session?.close();
    }
    for (const spec of [...plan.peers.replaced, ...plan.peers.added]) {
      const session = this.#session(spec);
      for (const actor of this.#files) actor.addPeer(spec.name);
      this.#peers.add(session);
      session.start();
    }
    // A new key list: the sockets keep their link unless the key they use was removed.
    for (const spec of plan.peers.rekeyed) this.#peers.get(spec.name)?.updateKeys(spec);
    // Over CURVE, a key that is no longer listed must not keep a subscription made before.
    if (this.#security && plan.keysDropped) await this.#publisher.rebind(next.m2m.pub);

    for (const spec of plan.files.removed) this.#files.remove(spec.name);
    for (const spec of plan.files.updated) {
      const actor = this.#files.byName(spec.name);
      if (actor) actor.spec = spec;
    }
    // A change held for settleMs is looked at again under the new one (sent now if it is quiet long enough).
    if (plan.settings.includes('settleMs') || plan.files.updated.length > 0) for (const actor of this.#files) if (actor.holding) actor.touch(false);
    const added: FileActor[] = [];
    for (const spec of plan.files.added) added.push(await this.#files.add(spec, this.#peers.names));
    if (plan.files.added.length + plan.files.removed.length > 0) {
      // The new watcher is up before the old one goes: no edit falls between the two.
      const watcher = this.#newWatcher();
      await watcher.start();
      const old = this.#watcher;
      this.#watcher = watcher;
      await old.close().catch(() => undefined);
      // An edit between the first hash and the watch is read now.
      for (const actor of added) actor.touch(false);
    }
    // New files are exchanged like at start; the peers' heartbeats also carry the new digest sum.
    if (added.length > 0) for (const session of this.#peers) if (session.connected) void session.exchange.run();
    ctx.notify.changed();
    const names = (specs: readonly { name: string }[]) => specs.map((s) => s.name);
    const summary: ReloadSummary = {
      filesAdded: names(plan.files.added),
      filesRemoved: names(plan.files.removed),
      filesUpdated: names(plan.files.updated),
      peersAdded: names(plan.peers.added),
      peersRemoved: names(plan.peers.removed),
      peersChanged: names([...plan.peers.replaced, ...plan.peers.rekeyed]),
      settings: [...plan.settings],
    };
    for (const spec of plan.files.removed) ctx.log.info({ path: spec.path, name: spec.name }, 'file no longer listed (reload): it is not served or written any more');
    for (const spec of plan.peers.removed) ctx.log.info({ peer: spec.name }, 'peer no longer listed (reload): it is not served any more');
    return summary;
  }

  state(): NodeState {
    return this.#view.state();
  }

  subscribe(listener: () => void): () => void {
    return this.#ctx.notify.subscribe(listener);
  }

  force(req: ForceRequest): Promise<ForceReport> {
    return this.#operations.force(req);
  }

  diff(file: string, peer?: string): Promise<DiffReport> {
    return this.#operations.diff(file, peer);
  }

  backups(file: string): Promise<BackupList> {
    return this.#operations.backups(file);
  }

  restore(file: string, md5?: string): Promise<RestoreReport> {
    return this.#operations.restore(file, md5);
  }
}

/** Runs one start-up step; its failure becomes an IO error that names the step. */
async function bound(what: string, step: () => Promise<void> | undefined): Promise<void> {
  try {
    await step();
  } catch (err) {
    throw new EntangledError('IO', `${what}: ${errorText(err)}`);
  }
}

/** What a reload changed (the names of files and peers, and the other keys). */
export interface ReloadSummary {
  readonly filesAdded: string[];
  readonly filesRemoved: string[];
  readonly filesUpdated: string[];
  readonly peersAdded: string[];
  readonly peersRemoved: string[];
  readonly peersChanged: string[];
  readonly settings: string[];
}

const mb = (bytes: number) => Math.round(bytes / 1048576);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
