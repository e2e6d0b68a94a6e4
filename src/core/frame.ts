import type { Md5 } from './types.js';

/** Wire protocol version carried by every frame and request. */
export const PROTOCOL_VERSION = 1;

export const FRAME_KINDS = { change: 'change', have: 'have', heartbeat: 'hb' } as const;
export type FrameKind = (typeof FRAME_KINDS)[keyof typeof FRAME_KINDS];

export const REQUEST_KINDS = { digests: 'digests', pull: 'pull', take: 'take' } as const;

/** A new version of a file, published by its origin. */
export interface ChangeFrame {
  readonly v: 1;
  readonly t: 'change';
  readonly from: string;
  readonly epoch: string;
  readonly name: string;
  readonly prev: Md5 | null;
  /** Older versions of the sender's that this change also supersedes (see decideIncoming). */
  readonly also: readonly Md5[];
  readonly md5: Md5;
  /** The content, up to LIMITS.inline bytes; null for a larger file, pulled in chunks. */
  readonly data: Uint8Array | null;
  readonly size: number;
  /** Origin's wall clock (ms) when the change was seen; for latency figures only. */
  readonly ts: number;
  /**
   * The peers the change is for, each with the epoch (incarnation) the sender knows it by. A
   * receiver not listed, or listed with an older epoch, drops it: the sender did not have it in
   * reach, so the digest exchange decides instead (changes are never queued for absent peers).
   */
  readonly to: Readonly<Record<string, string>>;
}

/** "My copy of `name` is now `md5`", in answer to a change (`re`) or unprompted. */
export interface HaveFrame {
  readonly v: 1;
  readonly t: 'have';
  readonly from: string;
  readonly epoch: string;
  readonly name: string;
  readonly md5: Md5 | null;
  readonly re: Md5 | null;
  /** The node this copy is in split-brain with, when the change could not be applied. */
  readonly conflict: string | null;
  /**
   * Why change `re` was not written or taken here (a failed write, a validate refusal, a
   * split-brain), as this node shows it (at most LIMITS.error characters); absent otherwise.
   */
  readonly error?: string;
}

/** Liveness plus a digest of the sender's digest map, so a drift triggers a refresh. */
export interface HeartbeatFrame {
  readonly v: 1;
  readonly t: 'hb';
  readonly from: string;
  readonly epoch: string;
  readonly sum: string;
}

export type Frame = ChangeFrame | HaveFrame | HeartbeatFrame;

/** `epoch` is the requester's: a new one tells the replier the requester restarted. */
export interface DigestsRequest { readonly v: 1; readonly t: 'digests'; readonly from: string; readonly epoch: string }
/**
 * Content of a listed file: whole (no `offset`; null data when larger than LIMITS.inline), or
 * one chunk of version `md5` at `offset` (at most LIMITS.chunk bytes).
 */
export interface PullRequest {
  readonly v: 1;
  readonly t: 'pull';
  readonly from: string;
  readonly name: string;
  readonly md5?: Md5;
  readonly offset?: number;
}
/** A forced push: the receiver replaces its copy with this content, whatever it holds. */
export interface TakeRequest {
  readonly v: 1;
  readonly t: 'take';
  readonly from: string;
  readonly name: string;
  readonly md5: Md5;
  /** Inline content, or null: the receiver pulls version `md5` from the sender in chunks. */
  readonly data: Uint8Array | null;
  readonly size: number;
  /**
   * When present (force --changed), the receiver takes it only while its copy is still this
   * version (null: absent), and otherwise answers with an error and writes nothing.
   */
  readonly expected?: Md5 | null;
}
export type Request = DigestsRequest | PullRequest | TakeRequest;

export interface DigestsReply {
  readonly v: 1;
  readonly t: 'digests';
  readonly from: string;
  readonly epoch: string;
  readonly files: Readonly<Record<string, Md5 | null>>;
  /** Names with a change of the replier's on its way to the requester. */
  readonly pending: readonly string[];
  /** The replier's journal: the last version of each name it agreed on with the requester. */
  readonly agreed?: Readonly<Record<string, Md5>>;
}
export interface ContentReply {
  readonly v: 1;
  readonly t: 'content';
  readonly name: string;
  readonly md5: Md5 | null;
  /** Null when the file is absent (md5 null) or larger than LIMITS.inline (pull chunks). */
  readonly data: Uint8Array | null;
  readonly size: number;
}
export interface ChunkReply {
  readonly v: 1;
  readonly t: 'chunk';
  readonly name: string;
  readonly md5: Md5;
  readonly offset: number;
  readonly size: number;
  readonly data: Uint8Array;
}
export interface ErrorReply {
  readonly v: 1;
  readonly t: 'error';
  readonly message: string;
  /**
   * For a signed request refused as a replay: the highest counter the replier took from the
   * requester, which counts on from there (a requester whose clock went back across a restart).
   */
  readonly counter?: number;
}
export interface TookReply {
  readonly v: 1;
  readonly t: 'took';
  readonly name: string;
  readonly md5: Md5;
  readonly result: 'updated' | 'unchanged';
}
export type Reply = DigestsReply | ContentReply | ChunkReply | TookReply | ErrorReply;

/** Limits on what a peer may send; anything larger is dropped. */
export const LIMITS = {
  name: 4096,
  node: 256,
  epoch: 64,
  sum: 64,
  /** A have frame's error: one line, cut to this many characters by its sender. */
  error: 1024,
  files: 1_000_000,
  peers: 1000,
  history: 64,
  /** Content carried inside a change frame or a whole-content reply. */
  inline: 1024 * 1024,
  /** One chunk of a larger file. */
  chunk: 4 * 1024 * 1024,
  /** The largest file size a peer may announce (1 TiB). */
  size: 2 ** 40,
} as const;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const MD5_RE = /^[0-9a-f]{32}$/;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
const isMd5 = (x: unknown): x is Md5 => typeof x === 'string' && MD5_RE.test(x);
const isMd5OrNull = (x: unknown): x is Md5 | null => x === null || isMd5(x);
const isStr = (x: unknown, max: number): x is string => typeof x === 'string' && x.length > 0 && x.length <= max;

const isCount = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;

/** Inline content (size its length, at most LIMITS.inline) or an announced larger size. */
function checkContent(data: unknown, size: unknown): boolean {
  if (!isCount(size, LIMITS.size)) return false;
  if (data === null) return size > LIMITS.inline;
  return data instanceof Uint8Array && data.length === size && size <= LIMITS.inline;
}

function fail<T>(reason: string): Checked<T> {
  return { ok: false, reason };
}

/**
 * Checks the shape of a decoded PUB frame: version, kind, field types and sizes. It does not
 * check the name against the allow-list nor the content against its md5: the caller does.
 */
export function checkFrame(x: unknown): Checked<Frame> {
  if (!isObj(x)) return fail('not a map');
  if (x.v !== PROTOCOL_VERSION) return fail('unsupported version');
  if (!isStr(x.from, LIMITS.node)) return fail('bad from');
  if (!isStr(x.epoch, LIMITS.epoch)) return fail('bad epoch');
  switch (x.t) {
    case FRAME_KINDS.change:
      if (!isStr(x.name, LIMITS.name)) return fail('bad name');
      if (!isMd5(x.md5)) return fail('bad md5');
      if (!isMd5OrNull(x.prev)) return fail('bad prev');
      if (!Array.isArray(x.also) || x.also.length > LIMITS.history || !x.also.every(isMd5)) return fail('bad also');
      if (!checkContent(x.data, x.size)) return fail('bad data');
      if (typeof x.ts !== 'number' || !Number.isFinite(x.ts)) return fail('bad ts');
      if (!isObj(x.to)) return fail('bad to');
      {
        const to = Object.entries(x.to);
        if (to.length > LIMITS.peers || !to.every(([k, e]) => k.length <= LIMITS.node && isStr(e, LIMITS.epoch))) return fail('bad to');
      }
      return { ok: true, value: x as unknown as ChangeFrame };
    case FRAME_KINDS.have:
      if (!isStr(x.name, LIMITS.name)) return fail('bad name');
      if (!isMd5OrNull(x.md5)) return fail('bad md5');
      if (!isMd5OrNull(x.re)) return fail('bad re');
      if (x.conflict !== null && !isStr(x.conflict, LIMITS.node)) return fail('bad conflict');
      // An error is about the change it answers: never without `re`.
      if (x.error !== undefined && (!isStr(x.error, LIMITS.error) || x.re === null)) return fail('bad error');
      return { ok: true, value: x as unknown as HaveFrame };
    case FRAME_KINDS.heartbeat:
      if (!isStr(x.sum, LIMITS.sum)) return fail('bad sum');
      return { ok: true, value: x as unknown as HeartbeatFrame };
    default:
      return fail('unknown kind');
  }
}

/** Checks the shape of a decoded REQ request. */
export function checkRequest(x: unknown): Checked<Request> {
  if (!isObj(x)) return fail('not a map');
  if (x.v !== PROTOCOL_VERSION) return fail('unsupported version');
  if (!isStr(x.from, LIMITS.node)) return fail('bad from');
  if (x.t === REQUEST_KINDS.digests) {
    if (!isStr(x.epoch, LIMITS.epoch)) return fail('bad epoch');
    return { ok: true, value: x as unknown as DigestsRequest };
  }
  if (x.t === REQUEST_KINDS.take) {
    if (!isStr(x.name, LIMITS.name)) return fail('bad name');
    if (!isMd5(x.md5)) return fail('bad md5');
    if (!checkContent(x.data, x.size)) return fail('bad data');
    if (x.expected !== undefined && !isMd5OrNull(x.expected)) return fail('bad expected');
    return { ok: true, value: x as unknown as TakeRequest };
  }
  if (x.t === REQUEST_KINDS.pull) {
    if (!isStr(x.name, LIMITS.name)) return fail('bad name');
    if (x.md5 !== undefined && !isMd5(x.md5)) return fail('bad md5');
    if (x.offset !== undefined && (!isCount(x.offset, LIMITS.size) || x.md5 === undefined)) return fail('bad offset');
    return { ok: true, value: x as unknown as PullRequest };
  }
  return fail('unknown kind');
}

/** Checks the shape of a decoded REP reply. */
export function checkReply(x: unknown): Checked<Reply> {
  if (!isObj(x)) return fail('not a map');
  if (x.v !== PROTOCOL_VERSION) return fail('unsupported version');
  switch (x.t) {
    case 'digests': {
      if (!isStr(x.from, LIMITS.node) || !isStr(x.epoch, LIMITS.epoch)) return fail('bad from');
      if (!isObj(x.files)) return fail('bad files');
      const entries = Object.entries(x.files);
      if (entries.length > LIMITS.files) return fail('too many files');
      for (const [, md5] of entries) if (!isMd5OrNull(md5)) return fail('bad digest');
      if (!Array.isArray(x.pending) || !x.pending.every((n) => isStr(n, LIMITS.name))) return fail('bad pending');
      if (x.agreed !== undefined) {
        if (!isObj(x.agreed)) return fail('bad agreed');
        const agreed = Object.values(x.agreed);
        if (agreed.length > LIMITS.files || !agreed.every(isMd5)) return fail('bad agreed');
      }
      return { ok: true, value: x as unknown as DigestsReply };
    }
    case 'took':
      if (!isStr(x.name, LIMITS.name)) return fail('bad name');
      if (!isMd5(x.md5)) return fail('bad md5');
      if (x.result !== 'updated' && x.result !== 'unchanged') return fail('bad result');
      return { ok: true, value: x as unknown as TookReply };
    case 'content':
      if (!isStr(x.name, LIMITS.name)) return fail('bad name');
      if (!isMd5OrNull(x.md5)) return fail('bad md5');
      if (x.md5 === null ? x.data !== null : !checkContent(x.data, x.size)) return fail('bad data');
      return { ok: true, value: x as unknown as ContentReply };
    case 'chunk':
      if (!isStr(x.name, LIMITS.name)) return fail('bad name');
      if (!isMd5(x.md5)) return fail('bad md5');
      if (!isCount(x.offset, LIMITS.size) || !isCount(x.size, LIMITS.size)) return fail('bad offset');
      if (!(x.data instanceof Uint8Array) || x.data.length > LIMITS.chunk || x.offset + x.data.length > x.size) return fail('bad data');
      return { ok: true, value: x as unknown as ChunkReply };
    case 'error':
      if (typeof x.message !== 'string') return fail('bad message');
      if (x.counter !== undefined && !isCount(x.counter, Number.MAX_SAFE_INTEGER - 1)) return fail('bad counter');
      return { ok: true, value: x as unknown as ErrorReply };
    default:
      return fail('unknown kind');
  }
}
