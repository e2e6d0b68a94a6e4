import type { Logger } from '../log.js';
import type { NodeState, NodeView } from '../node/view.js';

/** Coalescing delay between a state change and the events it produces (a client may ask for another). */
export const SETTLE_MS = 20;
/** Clients that may follow the events at once; one more gets 503. */
export const MAX_EVENT_CLIENTS = 64;
/** Bytes waiting for one client past which it is taken for a client that does not read, and dropped. */
export const MAX_QUEUED_BYTES = 1024 * 1024;
const PING_MS = 15_000;

type FileDoc = NodeState['files'][number];
type PeerDoc = NodeState['peers'][number];

const fileKey = (f: FileDoc) => JSON.stringify([f.status, f.md5, f.error, f.peers]);
const peerKey = (p: PeerDoc) => String(p.connected);
const encoder = new TextEncoder();
const sse = (event: string, data: unknown, id: number) => encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\nid: ${id}\n\n`);
const PING = encoder.encode(': ping\n\n');

/** One follower: the stream its response reads from. */
interface Client {
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  readonly channel: Channel;
}

/**
 * The clients that asked for the same settle delay. They share what they were told last, so a
 * change is found, serialized and encoded once for all of them.
 */
class Channel {
  readonly clients = new Set<Client>();
  #files = new Map<string, string>();
  #peers = new Map<string, string>();
  #id = 0;
  #cancel: (() => void) | null = null;

  constructor(
    readonly settleMs: number,
    readonly hub: EventHub,
  ) {}

  /** A state change: the events go out after the settle delay (0: the next turn of the event loop). */
  changed(): void {
    if (this.#cancel) return;
    if (this.settleMs === 0) {
      const immediate = setImmediate(() => this.flush());
      this.#cancel = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(() => this.flush(), this.settleMs);
      this.#cancel = () => clearTimeout(timer);
    }
  }

  /**
   * Sends every file and peer that changed since the last flush to every client, and returns
   * the state it looked at. A newcomer joins right after one, so it is told the very state the
   * others' next events start from (a change it saw in `state` cannot be undone unseen).
   */
  flush(state: NodeState = this.hub.view.state()): NodeState {
    this.#cancel?.();
    this.#cancel = null;
    for (const f of state.files) {
      const k = fileKey(f);
      if (this.#files.get(f.name) === k) continue;
      this.#files.set(f.name, k);
      if (this.clients.size > 0) this.hub.send(this.clients, sse('file', f, this.#id++));
    }
    for (const p of state.peers) {
      const k = peerKey(p);
      if (this.#peers.get(p.name) === k) continue;
      this.#peers.set(p.name, k);
      if (this.clients.size > 0) this.hub.send(this.clients, sse('peer', p, this.#id++));
    }
    return state;
  }

  nextId(): number {
    return this.#id++;
  }

  close(): void {
    this.#cancel?.();
    this.#cancel = null;
  }
}

/**
 * Server-sent events for every client of one API: `state` (the whole document) on connect,
 * then `file` and `peer` events for each file whose status, md5, error or per-peer view changed
 * and each peer that went up or down. Changes within a client's settle delay of the first go
 * out together. Each event is built and encoded once and the same bytes are queued for every
 * client; at most MAX_EVENT_CLIENTS follow at once, and a client with more than MAX_QUEUED_BYTES
 * unread is dropped, so no client can slow the node or make it hold memory.
 */
export class EventHub {
  readonly #channels = new Map<number, Channel>();
  #count = 0;
  #unsubscribe: (() => void) | null = null;
  #ping: NodeJS.Timeout | null = null;

  constructor(
    readonly view: Pick<NodeView, 'state' | 'subscribe'>,
    readonly log?: Logger,
  ) {}

  /** How many clients follow the events now. */
  get clients(): number {
    return this.#count;
  }

  /** The response for a new client, or null when MAX_EVENT_CLIENTS already follow. */
  open(settleMs = SETTLE_MS): Response | null {
    if (this.#count >= MAX_EVENT_CLIENTS) return null;
    let channel = this.#channels.get(settleMs);
    if (!channel) {
      channel = new Channel(settleMs, this);
      this.#channels.set(settleMs, channel);
    }
    const ch = channel;
    let client: Client | null = null;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          // The others hear what changed up to now; the newcomer gets the same state whole.
          const state = ch.flush();
          client = { controller, channel: ch };
          ch.clients.add(client);
          this.#joined();
          controller.enqueue(sse('state', state, ch.nextId()));
        },
        cancel: () => {
          if (client) this.#leave(client);
        },
      },
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
    return new Response(body, {
      status: 200,
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
    });
  }

  /** Queues `chunk` (the same bytes) for each client; one that has not read MAX_QUEUED_BYTES is dropped instead. */
  send(clients: Iterable<Client>, chunk: Uint8Array): void {
    for (const c of [...clients]) {
      // desiredSize is minus what waits unread (the server reads on only while the socket drains).
      if (-(c.controller.desiredSize ?? 0) > MAX_QUEUED_BYTES) {
        this.#leave(c);
        c.controller.error(new Error('the client does not read its events'));
        this.log?.warn({ unread: -(c.controller.desiredSize ?? 0), clients: this.#count }, `dropped an events client that does not read (over ${MAX_QUEUED_BYTES} bytes unread)`);
        continue;
      }
      try {
        c.controller.enqueue(chunk);
      } catch {
        // Its stream ended without a cancel reaching us.
        this.#leave(c);
      }
    }
  }

  /** Ends every client's stream (the API is closing). */
  close(): void {
    for (const ch of this.#channels.values()) for (const c of [...ch.clients]) {
      this.#leave(c);
      c.controller.close();
    }
  }

  #joined(): void {
    this.#count++;
    if (this.#count !== 1) return;
    // One subscription and one ping timer for all clients, while there are any.
    this.#unsubscribe = this.view.subscribe(() => {
      for (const ch of this.#channels.values()) if (ch.clients.size > 0) ch.changed();
    });
    this.#ping = setInterval(() => {
      for (const ch of this.#channels.values()) this.send(ch.clients, PING);
    }, PING_MS);
    this.#ping.unref();
  }

  #leave(c: Client): void {
    if (!c.channel.clients.delete(c)) return;
    this.#count--;
    if (c.channel.clients.size === 0) {
      c.channel.close();
      this.#channels.delete(c.channel.settleMs);
    }
    if (this.#count > 0) return;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#ping) clearInterval(this.#ping);
    this.#ping = null;
  }
}
