import { judgeStall } from '../core/liveness.js';
import type { NodeContext } from './context.js';
import type { FileTable } from './file-table.js';
import type { Outbox } from './outbox.js';
import type { PeerTable } from './peer-table.js';

/**
 * The heartbeat tick, every `hbMs` on the monotonic clock: publishes a heartbeat, judges this
 * node's own stall, and lets each peer session judge its peer (lost, or owed an exchange and
 * retransmissions).
 */
export class Heartbeat {
  readonly #ctx: NodeContext;
  readonly #files: FileTable;
  readonly #peers: PeerTable;
  readonly #outbox: Outbox;
  #timer: NodeJS.Timeout | null = null;
  #lastTick = 0;

  constructor(ctx: NodeContext, files: FileTable, peers: PeerTable, outbox: Outbox) {
    this.#ctx = ctx;
    this.#files = files;
    this.#peers = peers;
    this.#outbox = outbox;
  }

  start(): void {
    this.#lastTick = this.#ctx.clock.now();
    this.#timer = setInterval(() => this.#tick(), this.#ctx.hbMs);
    this.#outbox.heartbeat(this.#files.digestSum());
  }

  /** After a reload changed peerTimeoutMs: the tick follows the new period. */
  retime(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), this.#ctx.hbMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * Runs an overdue tick now. Called before a peer's frame or request is taken up: after a
   * freeze, libuv may serve sockets before timers, and a frame read before this node noticed
   * its own stall would be judged as if nothing had happened.
   */
  catchUp(): void {
    if (this.#timer !== null && this.#ctx.clock.now() - this.#lastTick > this.#ctx.hbMs * 2) this.#tick();
  }

  #tick(): void {
    if (this.#ctx.stopping) return;
    this.#outbox.heartbeat(this.#files.digestSum());
    const now = this.#ctx.clock.now();
    const stall = judgeStall({ now, lastTick: this.#lastTick, hbMs: this.#ctx.hbMs, peerTimeoutMs: this.#ctx.settings.peerTimeoutMs });
    this.#lastTick = now;
    for (const session of this.#peers) session.tick(now, stall);
    // Whatever was written to our files while we were away must be in our digests before any
    // peer is heard again (its frames are read after this callback): re-read them now.
    if (stall.away) this.#files.rescanAllNow();
  }
}
