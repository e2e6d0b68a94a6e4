import { ConfigError, EntangledError } from '../core/errors.js';
import type { NodeState } from '../node/view.js';
import { EventStream, type ServerEvent } from './event-stream.js';
import type { ApiTarget } from './http.js';

type FileDoc = NodeState['files'][number];
type PeerDoc = NodeState['peers'][number];

export type Measure = 'round-trip' | 'one-way';

/** One series of samples: a peer and what was timed. */
export interface SeriesKey {
  readonly peer: string;
  readonly measure: Measure;
}

const key = (s: SeriesKey) => `${s.measure}\0${s.peer}`;
const STATE_MS = 10_000;

/** What the bench follows: the origin node's event stream and those of the peers named with --peer-api. */
interface Followed {
  name: string;
  readonly target: ApiTarget;
  stream: EventStream | null;
  state: NodeState | null;
  /** The probe file's latest document on this node. */
  file: FileDoc | null;
}

/**
 * The bench's view of the cluster, from server-sent events only (no polling): the origin's
 * stream tells when each peer confirmed a version (round trip), each --peer-api node's stream
 * when its copy holds it (one way). `arm(md5)` starts waiting for one version; `failed` aborts
 * when a stream ends, a peer goes out of reach or a split-brain appears during the run.
 */
export class BenchProbe {
  readonly origin: Followed;
  readonly peerApis: readonly Followed[];
  /** The peers of the origin for the probe file, in the origin's order. */
  peers: string[] = [];
  name = '';
  readonly #ctl = new AbortController();
  #md5: string | null = null;
  readonly #wants = new Map<string, (at: number | null) => void>();
  readonly #listeners = new Set<() => void>();

  constructor(origin: ApiTarget, peerApis: readonly { name: string; target: ApiTarget }[]) {
    this.origin = { name: '', target: origin, stream: null, state: null, file: null };
    this.peerApis = peerApis.map((p) => ({ name: p.name, target: p.target, stream: null, state: null, file: null }));
  }

  /** Aborted with the reason the run cannot go on. */
  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /**
   * Opens every stream and waits for each node's first `state` event; resolves the probe file
   * (`file`: a name or an absolute path on the origin). Throws ConfigError (exit 2) for a file or
   * peer the nodes do not list, EntangledError (exit 1) for a node that cannot be reached.
   */
  async open(file: string): Promise<FileDoc> {
    const all = [this.origin, ...this.peerApis];
    // Every open settled before any failure is thrown, so close() finds each stream that opened.
    const opened = await Promise.allSettled(all.map(async (f) => {
      f.stream = await EventStream.open(f.target, '/api/1/events?settle=0', (e) => this.#onEvent(f, e));
      void f.stream.ended.then((why) => why !== null && this.fail(why));
    }));
    for (const o of opened) if (o.status === 'rejected') throw o.reason;
    await Promise.all(all.map((f) => this.until(() => f.state !== null, STATE_MS, `the first state event of ${f.target.url}`)));
    const state = this.origin.state!;
    this.origin.name = state.node;
    const doc = state.files.find((f) => f.name === file || f.path === file);
    if (!doc) throw new ConfigError(`--file: node ${state.node} does not list "${file}" (it lists ${state.files.map((f) => f.name).join(', ')})`);
    this.name = doc.name;
    this.peers = Object.keys(doc.peers);
    this.origin.file = doc;
    for (const p of this.peerApis) {
      const s = p.state!;
      if (!this.peers.includes(p.name)) throw new ConfigError(`--peer-api ${p.name}: node ${state.node} has no peer ${p.name} (its peers: ${this.peers.join(', ')})`);
      if (s.node !== p.name) throw new ConfigError(`--peer-api ${p.name}=${p.target.url}: that API is node ${s.node}'s`);
      const theirs = s.files.find((f) => f.name === doc.name);
      if (!theirs) throw new ConfigError(`--file: node ${s.node} does not list "${doc.name}"`);
      p.file = theirs;
    }
    return doc;
  }

  /** Why the probe file is not aligned on every node now (one line), or null when it is. */
  misaligned(): string | null {
    const f = this.origin.file!;
    const node = this.origin.name;
    if (f.md5 === null) return `${f.name} is missing on ${node}`;
    if (f.error) return `${f.name} has an error on ${node}: ${f.error}`;
    const bad = Object.entries(f.peers)
      .filter(([, p]) => p.status !== 'aligned' || p.md5 !== f.md5)
      .map(([peer, p]) => (p.status === 'unknown' ? `${peer} not in reach (unknown)` : `${p.status} with ${peer}`));
    if (bad.length) return `${f.name} on ${node}: ${bad.join(', ')}`;
    for (const p of this.peerApis) {
      if (p.file!.md5 !== f.md5) return `${f.name}: ${p.name}'s API reports md5 ${p.file!.md5 ?? 'none (missing)'}, ${node}'s ${f.md5}`;
    }
    return null;
  }

  /**
   * Waits for version `md5` to be confirmed by every peer and to arrive at every --peer-api
   * node. The function it returns is called once the write returned: from then on each series
   * has `timeoutMs`; it resolves with each series' time (performance.now()) or null when lost.
   */
  arm(md5: string, series: readonly SeriesKey[], timeoutMs: number): () => Promise<(number | null)[]> {
    this.#md5 = md5;
    this.#wants.clear();
    const times = series.map((s) => new Promise<number | null>((resolve) => this.#wants.set(key(s), resolve)));
    return () => {
      const timer = setTimeout(() => {
        for (const resolve of this.#wants.values()) resolve(null);
        this.#wants.clear();
      }, timeoutMs);
      return abortable(Promise.all(times), this.signal).finally(() => clearTimeout(timer));
    };
  }

  /** Resolves once `pred` holds, re-checked at every event; rejects after `timeoutMs` or when the run fails. */
  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        this.signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (pred()) done();
      };
      const onAbort = () => done(this.signal.reason as Error);
      const timer = setTimeout(() => done(new EntangledError('IO', `no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.#listeners.add(check);
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops the run with `reason` (the first one wins). */
  fail(reason: string): void {
    if (!this.signal.aborted) this.#ctl.abort(new EntangledError('IO', reason));
  }

  close(): void {
    for (const f of [this.origin, ...this.peerApis]) f.stream?.close();
  }

  #onEvent(f: Followed, e: ServerEvent): void {
    let doc: unknown;
    try {
      doc = JSON.parse(e.data);
    } catch {
      return this.fail(`${f.target.url} sent an event that is not JSON`);
    }
    if (e.event === 'state') {
      f.state = doc as NodeState;
      if (this.name) f.file = f.state.files.find((x) => x.name === this.name) ?? null;
    } else if (e.event === 'file' && this.name && (doc as FileDoc).name === this.name) {
      f.file = doc as FileDoc;
      this.#onFile(f, f.file, e.at);
    } else if (e.event === 'peer' && f === this.origin && this.name) {
      const p = doc as PeerDoc;
      if (!p.connected && this.peers.includes(p.name)) this.fail(`${p.name} went out of reach of ${this.origin.name} during the bench`);
    }
    for (const l of [...this.#listeners]) l();
  }

  #onFile(f: Followed, doc: FileDoc, at: number): void {
    if (f === this.origin) {
      for (const [peer, p] of Object.entries(doc.peers)) {
        if (p.status === 'split-brain') this.fail(`${doc.name}: split-brain with ${peer} on ${this.origin.name} during the bench`);
        if (p.status === 'aligned' && p.md5 !== null && p.md5 === this.#md5) this.#settle({ peer, measure: 'round-trip' }, at);
      }
    } else if (doc.md5 !== null && doc.md5 === this.#md5) {
      this.#settle({ peer: f.name, measure: 'one-way' }, at);
    }
  }

  #settle(s: SeriesKey, at: number): void {
    const resolve = this.#wants.get(key(s));
    if (!resolve) return;
    this.#wants.delete(key(s));
    resolve(at);
  }
}

/** Settles like `promise`, or rejects with the abort reason when `signal` aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
