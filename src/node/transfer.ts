import { createHash } from 'node:crypto';
import { createReadStream, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { EntangledError, errorText, isEntangledError } from '../core/errors.js';
import { LIMITS } from '../core/frame.js';
import { lackOfRoom, overMaxBytes } from '../core/limits.js';
import type { Md5 } from '../core/types.js';
import { atomicWrite, atomicWriteStream, PreconditionFailed, ValidationFailed } from '../io/atomic-write.js';
import { LinkRefused, writeTargetOf } from '../io/link.js';
import { PathNotTrusted } from '../io/ownership.js';
import { roomIn } from '../io/room.js';
import type { PeerRequester } from '../net/requester.js';
import type { NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';

/** Writes closer together than this are a burst: they go through the thread pool. */
const BURST_GAP_MS = 25;
/** A version the validate command refused is not tried again (retransmissions) before this. */
const REVALIDATE_MS = 30_000;

/** A peer a large version is pulled from in chunks. */
export interface ChunkSource {
  readonly name: string;
  readonly requester: PeerRequester;
}

/** What a write installs: inline bytes, or a large version pulled from a peer in chunks. */
export type Content = Uint8Array | { readonly source: ChunkSource; readonly size: number };

/** A chunked transfer that could not complete (the sender moved on or went away). */
export class PullFailed extends Error {}

export interface WriteRequest {
  /** The version to write, its content, and the peer it comes from (or the force's peer). */
  readonly md5: Md5;
  readonly content: Content;
  readonly from: string;
  /**
   * The version the file must still hold just before the rename (null: absent); undefined
   * for a forced write, which replaces whatever is there (the operator chose it).
   */
  readonly expected?: Md5 | null;
}

/** written: on disk; changed: a local edit landed meanwhile (it was published); failed: a problem in the state. */
export type WriteOutcome = 'written' | 'changed' | 'failed';

/**
 * The one writer of peers' and forces' versions: validate on the staged copy, the precondition
 * re-checked just before the rename, the replaced version kept as a backup, the atomic write
 * itself (inline, or pulled in chunks), the onApply hook after. One change alone is written on
 * the main thread (latency); in a burst the thread pool overlaps the fsyncs.
 */
export class Transfer {
  readonly #ctx: NodeContext;
  /** Change frames received and not yet taken up, writes in progress, and the last write's start (burst detection). */
  #queued = 0;
  #writing = 0;
  #lastWriteAt = Number.NEGATIVE_INFINITY;

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** A change frame was queued (+1) or taken up (-1): a write with others waiting is part of a burst. */
  queued(delta: 1 | -1): void {
    this.#queued += delta;
  }

  /** Whether `md5` is a version the validate command refused a short while ago (not retried yet). */
  refusedRecently(actor: FileActor, md5: Md5): boolean {
    const r = actor.refused;
    if (r === null || r.md5 !== md5 || this.#ctx.clock.now() - r.at > REVALIDATE_MS) return false;
    actor.log.debug({ md5 }, 'not retrying a version the validate command refused');
    return true;
  }

  /** Writes `req` over the actor's file. Runs inside the actor's queue. */
  async write(actor: FileActor, req: WriteRequest): Promise<WriteOutcome> {
    const { md5, content, from } = req;
    const forced = req.expected === undefined;
    const before = actor.known;
    const created = actor.local.md5 === null;
    const size = content instanceof Uint8Array ? content.length : content.size;
    const expected = req.expected ?? null;
    if (actor.retired) return this.#unlisted(actor, md5);
    const refused = this.#refusal(actor, req, size);
    if (refused !== null) {
      // A rule refused the peer's version before anything was done (its size, no room): the node
      // is fine, the sender is told; a warning, not an error of this node's.
      actor.setProblem({ kind: 'write', md5, peer: from, message: refused }, 'refused a version: nothing written', 'warn');
      return 'failed';
    }
    // RACE: a reload may remove the file while the version is staged: then it is not renamed in.
    const precondition = forced ? () => !actor.retired : () => !actor.retired && actor.holds(expected);
    const validate = actor.spec.validate === null ? undefined : (tmp: string) => this.#ctx.hooks.validate(actor.spec, tmp, md5, from, actor.log);
    const replaced = forced ? actor.local.md5 : expected;
    const beforeRename = replaced === null || !this.#ctx.backups.enabled ? undefined : (target: string) => this.#keepBackup(actor, target, replaced);
    const now = this.#ctx.clock.now();
    const sync = this.#queued === 0 && this.#writing === 0 && now - this.#lastWriteAt > BURST_GAP_MS;
    this.#lastWriteAt = now;
    // The echo guard first: the watcher's event of our rename then reads as no change.
    actor.known = md5;
    this.#writing++;
    try {
      const opts = { precondition, validate, beforeRename, sync, ...(actor.spec.createMode === null ? {} : { createMode: actor.spec.createMode }) };
      if (content instanceof Uint8Array) await atomicWrite(actor.spec.path, content, opts);
      else await atomicWriteStream(actor.spec.path, (append) => this.pullChunks(content.source, actor, md5, content.size, append), opts);
    } catch (err) {
      actor.known = before;
      return this.#failed(actor, req, err);
    } finally {
      this.#writing--;
    }
    let st: BigIntStats | null = null;
    try {
      st = statSync(actor.spec.path, { bigint: true });
    } catch {
      // RACE: replaced or removed right after our rename; the watcher reports it.
    }
    actor.installed(md5, size, st, created);
    this.#ctx.hooks.applied(actor.spec, md5, from, actor.log);
    this.#ctx.metrics.bytesReplicated.inc({ direction: 'received' }, size);
    return 'written';
  }

  /**
   * Why version `req.md5` (`size` bytes) is not to be written here at all, or null: it is over
   * the file's maxBytes, or (pulled in chunks) its filesystem has no room for it together with
   * the replaced version's backup copy. Checked before anything is staged. A filesystem that
   * cannot be asked (statfs fails) is no refusal: the write then reports what fails.
   */
  #refusal(actor: FileActor, req: WriteRequest, size: number): string | null {
    const over = overMaxBytes(size, actor.maxBytes);
    if (over !== null) return `version ${req.md5} from ${req.from} is ${over}: not taken`;
    if (req.content instanceof Uint8Array) return null;
    let target: string;
    try {
      target = writeTargetOf(actor.spec.path);
    } catch {
      // A broken link: the write says so.
      return null;
    }
    const dir = path.dirname(target);
    const backups = this.#ctx.backups;
    try {
      const replaced = actor.local.md5 === null ? 0 : actor.local.size;
      const backup = replaced > 0 && backups.copies(target) ? { size: replaced, room: roomIn(backups.root) } : null;
      const lack = lackOfRoom({ size, target: roomIn(dir), backup });
      if (lack === null) return null;
      const where = lack.where === 'target' ? dir : `${backups.root} (the backup of the version it replaces)`;
      return `ENOSPC: no room for version ${req.md5} from ${req.from} in ${where}: ${lack.need} bytes needed, ${lack.free} free; not pulled`;
    } catch {
      return null;
    }
  }

  #unlisted(actor: FileActor, md5: Md5): WriteOutcome {
    actor.log.info({ md5 }, 'not written: the file is no longer listed (reload)');
    return 'failed';
  }

  async #failed(actor: FileActor, req: WriteRequest, err: unknown): Promise<WriteOutcome> {
    const about = { kind: 'write' as const, md5: req.md5, peer: req.from };
    if (actor.retired) return this.#unlisted(actor, req.md5);
    if (err instanceof PreconditionFailed) {
      await actor.readAndAnnounce();
      return 'changed';
    }
    if (err instanceof ValidationFailed) {
      actor.refused = { md5: req.md5, at: this.#ctx.clock.now() };
      actor.setProblem({ ...about, message: `validate refused version ${req.md5} from ${req.from}: ${err.message}` }, 'validate refused a version: the file was not replaced');
      return 'failed';
    }
    if (err instanceof LinkRefused) {
      actor.setProblem({ kind: 'link', message: err.message }, 'listed symbolic link reaches no file: a peer\'s version was not written');
      return 'failed';
    }
    if (err instanceof PathNotTrusted) {
      actor.setProblem({ kind: 'unsafe', message: err.message }, 'listed path is not safe: a peer\'s version was not written');
      return 'failed';
    }
    if (err instanceof PullFailed) {
      // The sender moved on or went away mid-transfer: its next change (or retransmission) comes.
      actor.log.warn({ peer: req.from, err: err.message }, 'transfer abandoned');
      return 'failed';
    }
    actor.setProblem({ ...about, message: errorText(err) }, 'cannot write listed file');
    return 'failed';
  }

  /**
   * Streams version `md5` of the actor's large file (`size` bytes) from `source`, chunk by chunk,
   * checking its digest; throws PullFailed. The request for the next chunk is on its way while
   * the current one is hashed and written. The bytes received so far show in the peer's state.
   */
  async pullChunks(source: ChunkSource, actor: FileActor, md5: Md5, size: number, append: (piece: Uint8Array) => Promise<void>): Promise<void> {
    const progress = this.#ctx.progress;
    const shown = progress.begin(actor, source.name, 'in', md5, size);
    try {
      await this.#pullChunks(source, actor.spec.name, md5, size, append, (bytes) => progress.advance(actor, source.name, shown, bytes));
    } finally {
      progress.end(actor, source.name, shown);
    }
  }

  async #pullChunks(source: ChunkSource, name: string, md5: Md5, size: number, append: (piece: Uint8Array) => Promise<void>, received: (bytes: number) => void): Promise<void> {
    const hash = createHash('md5');
    const fetch = (offset: number): Promise<Uint8Array> =>
      source.requester.request({ v: 1, t: 'pull', from: this.#ctx.node, name, md5, offset }).then(
        (reply) => {
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
      received(offset);
    }
    if (hash.digest('hex') !== md5) throw new PullFailed('content does not match md5');
  }

  /**
   * Keeps the file's current content (version `md5`, at `target`: the listed path or its
   * link's target) in the backup store before it is replaced; throws (so the write is
   * abandoned) when it cannot. An absent file has nothing to keep.
   */
  #keepBackup(actor: FileActor, target: string, md5: Md5): void | Promise<void> {
    const cannot = (err: unknown): void => {
      // The file is gone (a forced write does not check what is there): nothing to keep.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new EntangledError('IO', `cannot keep the replaced version in ${this.#ctx.settings.stateDir}: ${errorText(err)}`);
    };
    try {
      return this.#ctx.backups.keep(actor.spec.name, target, md5, actor.local.size)?.catch(cannot);
    } catch (err) {
      cannot(err);
    }
  }

  /**
   * Writes a kept version back over the file, which must still hold `current` (null: absent);
   * `current` is kept in turn. Throws CONFLICT when the file changed meanwhile, NOT_FOUND when
   * the kept copy no longer matches its md5, IO otherwise. The caller's read then publishes it.
   */
  async restore(actor: FileActor, version: { readonly path: string; readonly md5: Md5 }, current: Md5 | null): Promise<void> {
    const name = actor.spec.name;
    try {
      await atomicWriteStream(
        actor.spec.path,
        async (append) => {
          const hash = createHash('md5');
          for await (const piece of createReadStream(version.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
            hash.update(piece);
            await append(piece);
          }
          if (hash.digest('hex') !== version.md5) throw new EntangledError('NOT_FOUND', `the kept copy of ${name} ${version.md5} no longer matches its md5`);
        },
        {
          precondition: () => actor.holds(current),
          beforeRename: current === null || !this.#ctx.backups.enabled ? undefined : (target) => this.#keepBackup(actor, target, current),
        },
      );
    } catch (err) {
      if (err instanceof PreconditionFailed) throw new EntangledError('CONFLICT', `${name} changed while it was being restored; try again`);
      if (isEntangledError(err)) throw err;
      if (err instanceof LinkRefused || err instanceof PathNotTrusted) throw new EntangledError('CONFLICT', err.message);
      throw new EntangledError('IO', `cannot restore ${name}: ${errorText(err)}`);
    }
  }
}
