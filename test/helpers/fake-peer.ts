import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import { Publisher, Request, Router, Subscriber } from 'zeromq';
import type { ChangeFrame, Frame, HaveFrame, Reply, Request as PeerRequest } from '../../src/core/frame.js';
import { encode } from '../../src/net/codec.js';
import { digestSum } from '../../src/node/digest-sum.js';
import { md5, waitFor } from './cluster.js';

/**
 * How the fake peer answers one request the node sent to its REP: a reply (encoded like a real
 * node's), raw bytes (anything, e.g. malformed), or nothing at all (the node's REQ times out).
 */
export type Answer = { readonly reply: Reply } | { readonly raw: Buffer } | 'ignore';

/** A frame the node published, decoded, with the order it arrived in. */
export type SeenFrame = Frame & { readonly seq: number };

/** zeromq.js allows one send in progress per socket: every send of a socket goes through one chain. */
class SendChain {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(step);
    this.#tail = p.catch(() => undefined);
    return p;
  }
}

// Decodes what the node sends without checking it: the fake sees the wire as any peer would.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/**
 * A scripted stand-in for one peer of a node, with real ZeroMQ sockets on loopback:
 *
 * - a Publisher the node subscribes to (heartbeats, change and have frames);
 * - a Router standing in for the peer's REP: it answers the node's digests and pull requests
 *   from what the fake holds, or as scripted (`answerNext`: a given reply, malformed bytes, none);
 * - a Subscriber on the node's PUB, collecting (decoded) every frame the node sends;
 * - a Request socket to the node's REP, for the fake's own digests, pull and take requests.
 */
export class FakePeer {
  readonly name: string;
  /** This incarnation of the fake peer (heartbeats and frames carry it). */
  epoch = `fake-${randomBytes(4).toString('hex')}`;
  /** The node's incarnation, as its digests requests told it. */
  nodeEpoch: string | null = null;
  /** Every frame the node published since `attach`, oldest first. */
  readonly frames: SeenFrame[] = [];
  /** Every request the node sent to the fake's REP, oldest first (unanswered ones included). */
  readonly requests: PeerRequest[] = [];
  readonly #contents = new Map<string, Buffer | null>();
  readonly #scripted = new Map<string, Answer[]>();
  readonly #pub = new Publisher({ linger: 0 });
  readonly #router = new Router({ linger: 0 });
  readonly #sub = new Subscriber({ linger: 0 });
  #req: Request | null = null;
  #nodeRep = '';
  readonly #pubChain = new SendChain();
  readonly #routerChain = new SendChain();
  readonly #reqChain = new SendChain();
  #hb: NodeJS.Timeout | null = null;

  /** The node the fake stands beside: the `to` key its changes carry. */
  readonly node: string;

  /** `name`: the fake's; `node`: the node's; `contents`: the fake's copies by name (null: it has no such file). */
  constructor(name: string, node: string, contents: Record<string, string | Buffer | null> = {}) {
    this.name = name;
    this.node = node;
    for (const [n, c] of Object.entries(contents)) this.hold(n, c);
  }

  /** Binds the fake's PUB and REP (Router) where the node's config says the peer is. */
  async bind(pubPort: number, repPort: number): Promise<void> {
    await this.#pub.bind(`tcp://127.0.0.1:${pubPort}`);
    await this.#router.bind(`tcp://127.0.0.1:${repPort}`);
    void this.#serve();
  }

  /**
   * Connects to the node's PUB and REP and resolves once the node's frames arrive (its first
   * heartbeat heard): from then on no frame of the node's is lost to a slow join.
   */
  async attach(nodePubPort: number, nodeRepPort: number, timeoutMs = 3000): Promise<void> {
    this.#sub.connect(`tcp://127.0.0.1:${nodePubPort}`);
    this.#sub.subscribe();
    this.#nodeRep = `tcp://127.0.0.1:${nodeRepPort}`;
    void this.#collect();
    await this.waitFrame('the node\'s first heartbeat', (f) => f.t === 'hb', timeoutMs);
  }

  /** Sets the fake's copy of `name` (null: it has none); its digests and heartbeat sum follow. */
  hold(name: string, content: string | Buffer | null): void {
    this.#contents.set(name, content === null ? null : Buffer.from(content));
  }

  /** The fake's digest map, as its digests replies carry it. */
  digests(): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const [n, c] of this.#contents) out[n] = c === null ? null : md5(c);
    return out;
  }

  /** The sum of the fake's digest map, as its heartbeats carry it (so the node sees no drift). */
  sum(): string {
    return digestSum(Object.entries(this.digests()));
  }

  /** Heartbeats every `everyMs` (and one now), with the fake's current digest sum. */
  startHeartbeats(everyMs = 100): void {
    this.stopHeartbeats();
    const beat = () => void this.publish({ v: 1, t: 'hb', from: this.name, epoch: this.epoch, sum: this.sum() }).catch(() => undefined);
    beat();
    this.#hb = setInterval(beat, everyMs);
  }

  stopHeartbeats(): void {
    if (this.#hb) clearInterval(this.#hb);
    this.#hb = null;
  }

  /** Publishes one frame (or raw bytes) on the fake's PUB. */
  publish(frame: Frame | Buffer): Promise<void> {
    const bytes = Buffer.isBuffer(frame) ? frame : encode(frame);
    return this.#pubChain.run(() => this.#pub.send(bytes));
  }

  /**
   * A change frame from the fake: `data` replaces `prev` (default: addressed to the node's
   * incarnation it learnt; `over` overrides any field, e.g. `to` or `epoch`).
   */
  change(name: string, prev: string | null, data: string | Buffer, over: Partial<ChangeFrame> = {}): ChangeFrame {
    const bytes = Buffer.from(data);
    return {
      v: 1,
      t: 'change',
      from: this.name,
      epoch: this.epoch,
      name,
      prev,
      also: [],
      md5: md5(bytes),
      data: bytes,
      size: bytes.length,
      ts: Date.now(),
      to: this.nodeEpoch === null ? {} : { [this.node]: this.nodeEpoch },
      ...over,
    };
  }

  /** A have frame from the fake: its copy of `name` is `md5`, answering change `re`, in split-brain with `conflict`. */
  have(name: string, md5Now: string | null, re: string | null = null, conflict: string | null = null): HaveFrame {
    return { v: 1, t: 'have', from: this.name, epoch: this.epoch, name, md5: md5Now, re, conflict };
  }

  /** Takes up a change the node sent (holds its bytes) and acknowledges it with a have frame. */
  async ack(change: ChangeFrame): Promise<void> {
    this.hold(change.name, Buffer.from(change.data!));
    await this.publish(this.have(change.name, change.md5, change.md5));
  }

  /** The next request of kind `kind` ('digests' or 'pull') the node sends gets `answer` instead of the default. */
  answerNext(kind: PeerRequest['t'], answer: Answer): void {
    const list = this.#scripted.get(kind) ?? [];
    list.push(answer);
    this.#scripted.set(kind, list);
  }

  /** How many frames have arrived: pass it to `waitFrame` to look only at later ones. */
  mark(): number {
    return this.frames.length;
  }

  /** Waits for a frame of the node's matching `pred` (among those after `since`); throws after `timeoutMs`. */
  async waitFrame<F extends Frame = Frame>(what: string, pred: (f: SeenFrame) => boolean, timeoutMs = 3000, since = 0): Promise<F & { seq: number }> {
    return (await waitFor(`the node sends ${what}`, () => this.frames.slice(since).find(pred), timeoutMs)) as unknown as F & { seq: number };
  }

  /** Waits until the node has sent `n` more heartbeats after `since` (each tick judges its peers once). */
  async waitTicks(n: number, since = this.mark(), timeoutMs = 10_000): Promise<void> {
    await waitFor(`${n} heartbeats of the node`, () => this.frames.slice(since).filter((f) => f.t === 'hb').length >= n, timeoutMs);
  }

  /** Waits for a request from the node matching `pred` (among those after `since`). */
  async waitRequest(what: string, pred: (r: PeerRequest) => boolean, timeoutMs = 3000, since = 0): Promise<PeerRequest> {
    return waitFor(`the node requests ${what}`, () => this.requests.slice(since).find(pred), timeoutMs);
  }

  /** Sends one request to the node's REP and resolves with its reply, decoded (unchecked). */
  ask(req: PeerRequest | Buffer, timeoutMs = 3000): Promise<Record<string, unknown>> {
    return this.#reqChain.run(async () => {
      if (!this.#req) {
        this.#req = new Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
        this.#req.connect(this.#nodeRep);
      }
      const sock = this.#req;
      try {
        await sock.send(Buffer.isBuffer(req) ? req : encode(req));
        const [bytes] = await sock.receive();
        return packr.unpack(bytes!) as Record<string, unknown>;
      } catch (err) {
        // REQ is wedged after a failed round trip: the next request gets a fresh socket.
        sock.close();
        this.#req = null;
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    this.stopHeartbeats();
    this.#req?.close();
    this.#sub.close();
    this.#pub.close();
    this.#router.close();
  }

  async #collect(): Promise<void> {
    try {
      for await (const [msg] of this.#sub) this.frames.push({ ...(packr.unpack(msg!) as Frame), seq: this.frames.length });
    } catch {
      // Closed: the loop ends.
    }
  }

  async #serve(): Promise<void> {
    try {
      for await (const [id, empty, msg] of this.#router) {
        const req = packr.unpack(msg!) as PeerRequest;
        this.requests.push(req);
        if (req.t === 'digests') this.nodeEpoch = req.epoch;
        const answer = this.#scripted.get(req.t)?.shift() ?? this.#default(req);
        if (answer === 'ignore') continue;
        const bytes = 'raw' in answer ? answer.raw : encode(answer.reply);
        void this.#routerChain.run(() => this.#router.send([id!, empty!, bytes])).catch(() => undefined);
      }
    } catch {
      // Closed: the loop ends.
    }
  }

  /** What a real peer holding the fake's copies would answer. */
  #default(req: PeerRequest): Answer {
    if (req.t === 'digests') return { reply: { v: 1, t: 'digests', from: this.name, epoch: this.epoch, files: this.digests(), pending: [] } };
    if (req.t === 'pull' && req.offset === undefined) {
      const c = this.#contents.get(req.name);
      if (c === undefined) return { reply: { v: 1, t: 'error', message: 'name not listed here' } };
      return { reply: { v: 1, t: 'content', name: req.name, md5: c === null ? null : md5(c), data: c, size: c?.length ?? 0 } };
    }
    return { reply: { v: 1, t: 'error', message: 'not scripted' } };
  }
}
