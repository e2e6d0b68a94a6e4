import type { FileSpec } from '../config/settings.js';
import { EntangledError } from '../core/errors.js';
import type { Md5 } from '../core/types.js';
import type { NodeContext } from './context.js';
import { FileActor, type FileHost } from './file-actor.js';
import { digestSum } from './digest-sum.js';
import type { Outbox } from './outbox.js';

/** Period of the stat sweep that catches whatever a watcher missed (anti-entropy). */
const SWEEP_MS = 5000;
/** Every this many sweeps, small files are re-hashed whatever their stat says. */
const FULL_SWEEP_EVERY = 12;
/** Files read at once at start: small ones are read synchronously anyway, large ones stream. */
const BOOTSTRAP_BATCH = 64;

/**
 * The node's listed files: one actor each, found by cluster-wide name or local path, and the
 * digest map of them all (its sum goes into every heartbeat; it is recomputed only after a file's
 * local facts changed).
 */
export class FileTable {
  readonly #byName = new Map<string, FileActor>();
  readonly #byPath = new Map<string, FileActor>();
  /** The listed names, kept current by add and remove (frames are checked against it). */
  readonly #names = new Set<string>();
  readonly #host: FileHost;
  readonly #ctx: NodeContext;
  readonly #outbox: Outbox;
  #sum: string | null = null;
  #sweeps = 0;
  #timer: NodeJS.Timeout | null = null;

  /**
   * `connected` says whether a peer is in reach; `onLocal` hears of every file whose copy
   * changed (after the file's own bookkeeping).
   */
  constructor(specs: readonly FileSpec[], peerNames: readonly string[], ctx: NodeContext, connected: (peer: string) => boolean, outbox: Outbox, onLocal: (actor: FileActor) => void) {
    const host: FileHost = {
      connected,
      localChanged: (actor) => {
        this.#sum = null;
        onLocal(actor);
      },
    };
    this.#host = host;
    this.#ctx = ctx;
    this.#outbox = outbox;
    for (const spec of specs) this.#insert(new FileActor(spec, peerNames, ctx, host, outbox));
  }

  get names(): ReadonlySet<string> {
    return this.#names;
  }

  #insert(actor: FileActor): void {
    this.#byName.set(actor.spec.name, actor);
    this.#byPath.set(actor.spec.path, actor);
    this.#names.add(actor.spec.name);
    this.#sum = null;
  }

  /** A file a reload listed: hashed first (like at start), then in the table (and the digest map). */
  async add(spec: FileSpec, peerNames: readonly string[]): Promise<FileActor> {
    const actor = new FileActor(spec, peerNames, this.#ctx, this.#host, this.#outbox);
    await actor.bootstrap();
    this.#insert(actor);
    return actor;
  }

  /** A file a reload unlisted: out of the table at once (no frame or request reaches it), then retired. */
  remove(name: string): FileActor | undefined {
    const actor = this.#byName.get(name);
    if (!actor) return undefined;
    this.#byName.delete(name);
    this.#byPath.delete(actor.spec.path);
    this.#names.delete(name);
    this.#sum = null;
    actor.retire();
    return actor;
  }

  get size(): number {
    return this.#byName.size;
  }

  [Symbol.iterator](): IterableIterator<FileActor> {
    return this.#byName.values();
  }

  get paths(): IterableIterator<string> {
    return this.#byPath.keys();
  }

  byName(name: string): FileActor | undefined {
    return this.#byName.get(name);
  }

  byPath(p: string): FileActor | undefined {
    return this.#byPath.get(p);
  }

  /** A listed file by its cluster-wide name or its absolute local path; BAD_REQUEST otherwise. */
  resolve(nameOrPath: string): FileActor {
    const actor = this.#byName.get(nameOrPath) ?? this.#byPath.get(nameOrPath);
    if (!actor) throw new EntangledError('BAD_REQUEST', `"${nameOrPath}" is not a listed file`);
    return actor;
  }

  /** Every file's md5 by name (null when absent). */
  digests(): Record<string, Md5 | null> {
    const files: Record<string, Md5 | null> = {};
    for (const a of this.#byName.values()) files[a.spec.name] = a.local.md5;
    return files;
  }

  /** The order-independent sum of the digest map, as heartbeats carry it. */
  digestSum(): string {
    this.#sum ??= digestSum([...this.#byName.values()].map((a) => [a.spec.name, a.local.md5]));
    return this.#sum;
  }

  async bootstrap(): Promise<void> {
    const actors = [...this.#byName.values()];
    for (let i = 0; i < actors.length; i += BOOTSTRAP_BATCH) await Promise.all(actors.slice(i, i + BOOTSTRAP_BATCH).map((a) => a.bootstrap()));
  }

  /** Starts the periodic sweep. */
  startSweeping(): void {
    this.#timer = setInterval(() => {
      const full = ++this.#sweeps % FULL_SWEEP_EVERY === 0;
      for (const a of this.#byName.values()) a.sweep(full);
    }, SWEEP_MS);
  }

  /** After a stall: whatever was written meanwhile must be in our digests before any peer is heard again. */
  rescanAllNow(): void {
    for (const a of this.#byName.values()) a.rescanNow();
  }

  /** Stops the sweep and the verify timers; resolves when every queued task has finished. */
  drain(): Promise<unknown> {
    if (this.#timer) clearInterval(this.#timer);
    for (const a of this.#byName.values()) a.quiet();
    return Promise.all([...this.#byName.values()].map((a) => a.queue.drained()));
  }
}
