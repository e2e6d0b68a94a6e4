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
  readonly data: Uint8Array;
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
export interface PullRequest { readonly v: 1; readonly t: 'pull'; readonly from: string; readonly name: string }
/** A forced push: the receiver replaces its copy with this content, whatever it holds. */
export interface TakeRequest {
  readonly v: 1;
  readonly t: 'take';
  readonly from: string;
  readonly name: string;
  readonly md5: Md5;
  readonly data: Uint8Array;
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
}
export interface ContentReply {
  readonly v: 1;
  readonly t: 'content';
  readonly name: string;
  readonly md5: Md5 | null;
  readonly data: Uint8Array | null;
}
export interface ErrorReply { readonly v: 1; readonly t: 'error'; readonly message: string }
export interface TookReply {
  readonly v: 1;
  readonly t: 'took';
  readonly name: string;
  readonly md5: Md5;
  readonly result: 'updated' | 'unchanged';
}
export type Reply = DigestsReply | ContentReply | TookReply | ErrorReply;

/** Limits on what a peer may send; anything larger is dropped. */
export const LIMITS = { name: 4096, node: 256, epoch: 64, sum: 64, files: 1_000_000, peers: 1000, history: 64 } as const;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const MD5_RE = /^[0-9a-f]{32}$/;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);
const isMd5 = (x: unknown): x is Md5 => typeof x === 'string' && MD5_RE.test(x);
const isMd5OrNull = (x: unknown): x is Md5 | null => x === null || isMd5(x);
const isStr = (x: unknown, max: number): x is string => typeof x === 'string' && x.length > 0 && x.length <= max;

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
      if (!(x.data instanceof Uint8Array)) return fail('bad data');
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
    if (!(x.data instanceof Uint8Array)) return fail('bad data');
    return { ok: true, value: x as unknown as TakeRequest };
  }
  if (x.t === REQUEST_KINDS.pull) {
    if (!isStr(x.name, LIMITS.name)) return fail('bad name');
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
      if (x.md5 === null ? x.data !== null : !(x.data instanceof Uint8Array)) return fail('bad data');
      return { ok: true, value: x as unknown as ContentReply };
    case 'error':
      if (typeof x.message !== 'string') return fail('bad message');
      return { ok: true, value: x as unknown as ErrorReply };
    default:
      return fail('unknown kind');
  }
}
