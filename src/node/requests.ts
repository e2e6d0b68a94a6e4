import { LIMITS, type Reply, type Request } from '../core/frame.js';
import type { Md5 } from '../core/types.js';
import { readRangeInto, readSnapshot } from '../io/snapshot.js';
import { chunkReplyBuffer, type EncodedReply } from '../net/codec.js';
import type { NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';
import type { FileTable } from './file-table.js';
import { STOPPING_MESSAGE } from '../net/replier.js';
import type { Heartbeat } from './heartbeat.js';
import type { Operations } from './operations.js';
import type { PeerTable } from './peer-table.js';

/** The answer to a pull while the file is being rewritten here (its digest still names the version before). */
const HOLDING_MESSAGE = 'the file is being rewritten on this node; try again shortly';

/** A chunk read ahead for a peer's transfer: the one it will ask for next, read into its reply message. */
interface ReadAhead {
  readonly md5: Md5;
  readonly offset: number;
  readonly ready: Promise<{ reply: EncodedReply; got: number }>;
  readonly timer: NodeJS.Timeout;
}

/**
 * Answers the peers' requests on REP: digests (which also tell us the requester is alive),
 * whole contents, chunks of a large version, and forced pushes (written through the file's
 * queue). The replier runs each without holding up the others.
 */
export class Requests {
  readonly #ctx: NodeContext;
  readonly #files: FileTable;
  readonly #peers: PeerTable;
  readonly #operations: Operations;
  readonly #heartbeat: Heartbeat;
  /** Per peer and file, the next chunk of a transfer under way (at most one each; dropped unasked after a request timeout). */
  readonly #ahead = new Map<string, ReadAhead>();

  constructor(ctx: NodeContext, files: FileTable, peers: PeerTable, operations: Operations, heartbeat: Heartbeat) {
    this.#ctx = ctx;
    this.#files = files;
    this.#peers = peers;
    this.#operations = operations;
    this.#heartbeat = heartbeat;
  }

  async answer(req: Request): Promise<Reply | EncodedReply> {
    if (this.#ctx.stopping) return { v: 1, t: 'error', message: STOPPING_MESSAGE };
    this.#heartbeat.catchUp();
    const peer = this.#peers.get(req.from);
    if (req.t === 'digests') {
      peer?.seen(req.epoch);
      const pending: string[] = [];
      if (peer) for (const actor of this.#files) if (actor.peer(peer.name).inFlight) pending.push(actor.spec.name);
      const agreed = peer ? this.#ctx.journal.agreedWith(peer.name) : {};
      return { v: 1, t: 'digests', from: this.#ctx.node, epoch: this.#ctx.epoch, files: this.#files.digests(), pending, agreed };
    }
    const actor = this.#files.byName(req.name);
    if (!actor) return { v: 1, t: 'error', message: 'name not listed here' };
    if (req.t === 'take') {
      if (!peer) return { v: 1, t: 'error', message: 'unknown peer' };
      return actor.queue.run(() => this.#operations.take(peer, actor, req));
    }
    if (req.offset !== undefined) return this.#chunk(actor, req.md5!, req.offset, req.from);
    // What is on disk is held back (a rewrite in place under way): it is no version of ours to hand out.
    if (actor.holding) return { v: 1, t: 'error', message: HOLDING_MESSAGE };
    const snap = await readSnapshot(actor.readablePath(), actor.hash, actor.maxBytes);
    return { v: 1, t: 'content', name: actor.spec.name, md5: snap?.md5 ?? null, data: snap?.data ?? null, size: snap?.size ?? 0 };
  }

  /**
   * One chunk of version `md5` for peer `from`, or an error when this node no longer holds that
   * version; what was served shows in that peer's state as an outgoing transfer. The file is
   * read straight into the reply's message, and the next chunk is read ahead while this one
   * travels and is written (the receiver asks for it as soon as this one arrives); a chunk
   * read ahead and not asked for within a request timeout is dropped.
   */
  async #chunk(actor: FileActor, md5: Md5, offset: number, from: string): Promise<Reply | EncodedReply> {
    const progress = this.#ctx.progress;
    const key = `${from}\0${actor.spec.name}`;
    const ahead = this.#ahead.get(key);
    if (ahead) {
      clearTimeout(ahead.timer);
      this.#ahead.delete(key);
    }
    if (actor.local.md5 !== md5 || actor.known !== md5) {
      progress.refused(actor, from, md5);
      return { v: 1, t: 'error', message: 'version changed' };
    }
    const size = actor.local.size;
    if (offset >= size) return { v: 1, t: 'error', message: 'offset past the end' };
    const want = Math.min(LIMITS.chunk, size - offset);
    const read = ahead && ahead.md5 === md5 && ahead.offset === offset ? ahead.ready : this.#read(actor, md5, offset, want, size);
    const { reply, got } = await read;
    // A short read means the file changed under us: the receiver's digest check would fail anyway.
    if (got !== want) {
      progress.refused(actor, from, md5);
      return { v: 1, t: 'error', message: 'version changed' };
    }
    const next = offset + want;
    if (next < size && !this.#ctx.stopping && actor.local.md5 === md5) {
      const ready = this.#read(actor, md5, next, Math.min(LIMITS.chunk, size - next), size);
      // Not asked for (the receiver gave up): an error reading ahead is nobody's.
      ready.catch(() => undefined);
      const timer = setTimeout(() => this.#ahead.delete(key), this.#ctx.requestTimeoutMs).unref();
      this.#ahead.set(key, { md5, offset: next, ready, timer });
    }
    progress.served(actor, from, md5, offset, want, size);
    return reply;
  }

  async #read(actor: FileActor, md5: Md5, offset: number, want: number, size: number): Promise<{ reply: EncodedReply; got: number }> {
    const { reply, data } = chunkReplyBuffer({ v: 1, t: 'chunk', name: actor.spec.name, md5, offset, size }, want);
    return { reply, got: await readRangeInto(actor.readablePath(), offset, data) };
  }
}
