import type { PeerSpec } from '../config/settings.js';
import { acceptFrame } from '../core/frame-accept.js';
import type { Frame, HeartbeatFrame } from '../core/frame.js';
import { judgePeer, shouldRefresh, type Stall } from '../core/liveness.js';
import { retransmitDue, stillOwed } from '../core/retransmit.js';
import type { Logger } from '../log.js';
import { decodeFrame } from '../net/codec.js';
import type { LinkSecurity } from '../net/curve.js';
import type { PeerRequester } from '../net/requester.js';
import type { PeerSubscriber } from '../net/subscriber.js';
import type { NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';
import type { FileTable } from './file-table.js';
import type { Heartbeat } from './heartbeat.js';
import { IncomingChanges } from './incoming.js';
import type { Outbox } from './outbox.js';
import { PeerAgreement } from './peer-agreement.js';
import { PeerExchange } from './peer-exchange.js';
import { createPeerSockets } from './peer-link.js';
import type { Transfer } from './transfer.js';
import { mark } from '../trace.js';

/** At most this many names not listed here are logged per peer and connection; the rest are only counted. */
const UNLISTED_LOGGED = 100;

/**
 * One peer, seen from this node: its sockets, whether it is in reach (on the monotonic clock),
 * the frames it sends, and, through its parts, what it holds (agreement), the digest exchange
 * and reconcile (exchange), and its changes to our files (incoming).
 */
export class PeerSession {
  /** Replaced by a reload that changes the peer's keys (never its name or endpoints). */
  spec: PeerSpec;
  readonly name: string;
  readonly log: Logger;
  readonly requester: PeerRequester;
  readonly #subscriber: PeerSubscriber;
  readonly #updateKeys: (keys: readonly string[]) => boolean;
  readonly agreement: PeerAgreement;
  readonly exchange: PeerExchange;
  readonly incoming: IncomingChanges;
  connected = false;
  /** The peer's incarnation as last heard; null when never. */
  epoch: string | null = null;
  /** The connect exchange is owed: until it is done, the peer's frames are not taken up. */
  needsConnectExchange = false;
  /** When the peer was last heard: monotonic (liveness) and wall clock (shown as lastSeen). */
  #lastSeen: number | null = null;
  #lastSeenWall: number | null = null;
  readonly #ctx: NodeContext;
  readonly #files: FileTable;

  readonly #heartbeat: Heartbeat;
  /** Names not listed here that the peer sent frames about, logged once each since it came into reach. */
  readonly #unlistedSeen = new Set<string>();

  constructor(spec: PeerSpec, ctx: NodeContext, files: FileTable, outbox: Outbox, transfer: Transfer, heartbeat: Heartbeat, security: LinkSecurity | null) {
    this.spec = spec;
    this.name = spec.name;
    this.log = ctx.log.child({ peer: spec.name });
    const sockets = createPeerSockets(spec, this.log, ctx.requestTimeoutMs, security);
    this.requester = sockets.requester;
    this.#subscriber = sockets.subscriber;
    this.#updateKeys = sockets.updateKeys;
    this.#ctx = ctx;
    this.#files = files;
    this.#heartbeat = heartbeat;
    this.agreement = new PeerAgreement(this, ctx);
    this.exchange = new PeerExchange(this, ctx, files, outbox, transfer);
    this.incoming = new IncomingChanges(this, ctx, outbox, transfer);
  }

  /** When the peer was last heard, on the wall clock (ms); null when never. */
  get lastSeenWall(): number | null {
    return this.#lastSeenWall;
  }

  start(): void {
    this.#subscriber.start((bytes) => this.#onMessage(bytes));
  }

  /**
   * Takes the peer's new list of CURVE keys (a reload; pair it with LinkSecurity.setPeers): its
   * sockets reconnect only when the key they use was removed. Returns whether they do.
   */
  updateKeys(spec: PeerSpec): boolean {
    this.spec = spec;
    return this.#updateKeys(spec.publicKeys);
  }

  async close(): Promise<void> {
    this.requester.close();
    await this.#subscriber.close();
  }

  #heard(): void {
    this.#lastSeen = this.#ctx.clock.now();
    this.#lastSeenWall = this.#ctx.clock.wall();
  }

  #onMessage(bytes: Buffer): void {
    mark('received');
    if (this.#ctx.stopping) return;
    this.#heartbeat.catchUp();
    const m = this.#ctx.metrics;
    const decoded = decodeFrame(bytes, { peer: this.name, names: this.#files.names });
    if (!decoded.ok) {
      if ('unlisted' in decoded) return this.#droppedUnlisted(decoded.unlisted);
      this.log.warn({ reason: decoded.reason, bytes: bytes.length }, 'dropped a frame');
      m.framesDropped.inc({ reason: decoded.reason });
      return;
    }
    const frame: Frame = decoded.value;
    if (frame.t === 'change') mark('decoded');
    m.framesReceived.inc({ kind: frame.t });
    const verdict = acceptFrame({
      kind: frame.t,
      epoch: frame.epoch,
      to: frame.t === 'change' ? frame.to : undefined,
      link: this,
      self: { node: this.#ctx.node, epoch: this.#ctx.epoch },
    });
    if (verdict.kind === 'heartbeat') return this.#onHeartbeat(frame as HeartbeatFrame);
    const actor = frame.t === 'hb' ? undefined : this.#files.byName(frame.name);
    if (verdict.kind === 'drop' || !actor || frame.t === 'hb') {
      this.log.debug({ kind: frame.t, path: actor?.spec.path, reason: verdict.kind === 'drop' ? verdict.reason : 'not listed' }, 'ignored a frame');
      return;
    }
    this.#heard();
    if (frame.t === 'have') this.agreement.onHave(actor, frame);
    else this.incoming.enqueue(actor, frame);
  }

  /**
   * A frame about a name this node does not list (the peer's list differs): counted, and logged
   * once per name while the peer is in reach, never once per frame (a peer edits such a file
   * as often as it likes, and its unconfirmed changes are sent again every heartbeat).
   */
  #droppedUnlisted(name: string): void {
    this.#ctx.metrics.framesDropped.inc({ reason: 'name not listed here' });
    if (this.#unlistedSeen.has(name) || this.#unlistedSeen.size >= UNLISTED_LOGGED) return;
    this.#unlistedSeen.add(name);
    this.log.warn({ name, reason: 'name not listed here', then: 'further frames about this name are only counted: entangled_frames_dropped_total{reason="not_listed"}' }, 'dropped a frame');
  }

  #onHeartbeat(hb: HeartbeatFrame): void {
    this.#heard();
    if (this.seen(hb.epoch)) return;
    const busy = this.needsConnectExchange || this.exchange.running;
    if (shouldRefresh({ now: this.#ctx.clock.now(), sum: hb.sum, knownSum: this.agreement.remoteSum(), lastRefresh: this.exchange.lastRefresh, hbMs: this.#ctx.hbMs, busy })) {
      void this.exchange.run();
    }
  }

  /**
   * Notes that the peer is alive with `epoch` (from a heartbeat or a request). When it was out
   * of reach or has restarted, forgets what was in flight to it (changes are never queued for a
   * peer that was away) and starts the connect exchange. Returns true in that case.
   */
  seen(epoch: string): boolean {
    this.#heard();
    if (this.connected && this.epoch === epoch) return false;
    if (this.connected) this.log.info('peer restarted');
    else if (this.epoch === null) this.log.info('peer connected');
    else this.log.info('peer back');
    if (!this.connected) this.#ctx.hooks.peerUp(this.name, this.log);
    this.connected = true;
    this.epoch = epoch;
    this.agreement.forget(this.#files);
    this.#unlistedSeen.clear();
    this.#ctx.progress.dropPeer(this.#files, this.name);
    this.needsConnectExchange = true;
    this.#ctx.notify.changed();
    void this.exchange.run();
    return true;
  }

  /** The heartbeat tick's look at this peer: lost (silent, or this node was away), or live and owed its exchange and retransmissions. */
  tick(now: number, stall: Stall): void {
    if (!this.connected) return;
    const verdict = judgePeer({ now, lastSeen: this.#lastSeen, stall, peerTimeoutMs: this.#ctx.settings.peerTimeoutMs });
    if (verdict.kind === 'lost') {
      this.connected = false;
      if (verdict.reason === 'stalled') this.log.warn({ stalledMs: Math.round(stall.ms) }, 'peer lost: this node was stalled');
      else this.log.warn({ silentMs: Math.round(verdict.silentMs) }, 'peer lost');
      this.#ctx.hooks.peerDown(this.name, this.log);
      for (const actor of this.#files) actor.peer(this.name).inFlight = null;
      this.#ctx.progress.dropPeer(this.#files, this.name);
      this.#ctx.notify.changed();
      return;
    }
    this.#lastSeen = verdict.lastSeen;
    if (this.needsConnectExchange) void this.exchange.run();
    for (const actor of this.#files) this.#retransmit(actor, now);
  }

  /** Re-sends a change this peer has not confirmed within a heartbeat. */
  #retransmit(actor: FileActor, now: number): void {
    const facts = actor.peer(this.name);
    if (!retransmitDue({ inFlight: facts.inFlight, sentAt: facts.sentAt, now, hbMs: this.#ctx.hbMs })) return;
    facts.sentAt = now;
    const want = facts.inFlight!;
    const epochThen = this.epoch;
    // The peer may be lost, or restart, before or while this runs: then nothing is owed to it.
    const owed = (local?: string | null) =>
      stillOwed({ want, inFlight: facts.inFlight, connected: this.connected, epoch: this.epoch, epochThen, local, lastSent: actor.lastSent?.md5 ?? null });
    void actor.queue.push(async () => {
      if (!owed()) return;
      const snap = await actor.readAndAnnounce();
      if (!snap || !actor.lastSent || !owed(snap.md5)) return;
      actor.log.debug({ peer: this.name, md5: want }, 'retransmitting an unconfirmed change');
      actor.resend(actor.lastSent.prev, snap, this.name);
    });
  }
}
