import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { ConfigError, EntangledError, errorText } from '../core/errors.js';
import type { Md5 } from '../core/types.js';
import { removeStrayTemps } from '../io/atomic-write.js';
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
  readonly settings: Settings;
  readonly #ctx: NodeContext;
  readonly #security: LinkSecurity | null;
  readonly #publisher: FramePublisher;
  readonly #replier: RequestReplier;
  readonly #watcher: Watcher;
  readonly #files: FileTable;
  readonly #peers = new PeerTable();
  readonly #operations: Operations;
  readonly #requests: Requests;
  readonly #heartbeat: Heartbeat;
  readonly #view: StateView;

  /** `clock`: the monotonic and wall clocks (tests may pass their own). */
  constructor(settings: Settings, log: Logger, clock?: Clock) {
    this.settings = settings;
    const ctx = createContext(settings, log, () => this.state(), clock);
    this.#ctx = ctx;
    this.#security = createLinkSecurity(settings, log);
    this.#publisher = new FramePublisher(this.#security?.server);
    this.#replier = new RequestReplier(this.#security?.server);
    const outbox = new Outbox(ctx, this.#publisher, this.#peers);
    const transfer = new Transfer(ctx);
    const peerNames = settings.peers.map((p) => p.name);
    const sameAsPeers = (actor: FileActor) => {
      for (const session of this.#peers) session.agreement.noteLocal(actor);
    };
    this.#files = new FileTable(settings.files, peerNames, ctx, (p) => this.#peers.connected(p), outbox, sameAsPeers);
    this.#heartbeat = new Heartbeat(ctx, this.#files, this.#peers, outbox);
    for (const spec of settings.peers) this.#peers.add(new PeerSession(spec, ctx, this.#files, outbox, transfer, this.#heartbeat, this.#security));
    this.#operations = new Operations(ctx, this.#files, this.#peers, transfer, outbox);
    this.#requests = new Requests(ctx, this.#files, this.#peers, this.#operations, this.#heartbeat);
    this.#view = new StateView(ctx, this.#files, this.#peers);
    this.#watcher = new Watcher(
      this.#files.paths,
      (p) => this.#files.byPath(p)?.touch(true),
      (err) => log.error({ err: errorText(err) }, 'watcher error'),
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
    const removed = await removeStrayTemps(settings.files.map((f) => path.dirname(f.path)));
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
      new Set(this.#peers.names),
      (req) => this.#requests.answer(req),
      (reason, kind) =>
        kind === 'impostor'
          ? log.warn({ peer: 'unknown', reason }, 'refused a request in another node\'s name (its CURVE key is listed, its signature is not that node\'s)')
          : log.warn({ reason }, 'dropped a malformed request'),
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

  restore(file: string, md5?: Md5): Promise<RestoreReport> {
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

const mb = (bytes: number) => Math.round(bytes / 1048576);

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
