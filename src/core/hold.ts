import type { Md5 } from './types.js';

/**
 * A file that becomes empty is sent only once it has stayed empty this long (ms): `cmd > file`
 * truncates the file and the program writes it, often milliseconds later (CONTRACT.md, "No torn
 * version leaves a node").
 */
export const EMPTY_HOLD_MS = 250;

/** A version held back: the identity it was read with, and when it was first read so (monotonic ms). */
export interface Held {
  readonly sig: string;
  readonly since: number;
}

export interface ReadFacts {
  /** The last version this node had (sent, received or read at start); null when none. */
  readonly known: Md5 | null;
  /** What the read found, null when the file is absent; `sig` is its identity (inode, size, mtime, ctime). */
  readonly fresh: { readonly md5: Md5; readonly size: number; readonly sig: string } | null;
  /** The file's identity moved while it was read. */
  readonly moving: boolean;
  /** The version held back at an earlier read, if any. */
  readonly held: Held | null;
  /** How long the file must be quiet before a change of it is sent (the file's own settleMs, else the top-level one). */
  readonly settleMs: number;
  /** Monotonic ms. */
  readonly now: number;
}

/** `announce`: what the read found is the file's; announceSnapshot decides what it makes this node say. */
export type HoldDecision =
  | { readonly kind: 'announce' }
  /** The bytes may be no version the file ever held: read the file again, send nothing. */
  | { readonly kind: 'reread' }
  /** Not sent yet: read again at `until`; it is sent then if the file has not changed meanwhile. */
  | { readonly kind: 'hold'; readonly held: Held; readonly until: number; readonly why: 'empty' | 'settle' };

const ANNOUNCE: HoldDecision = Object.freeze({ kind: 'announce' });
const REREAD: HoldDecision = Object.freeze({ kind: 'reread' });

/**
 * Decides whether a fresh read of a local file may go out now, must be read again, or is held
 * until the file has been quiet long enough: an empty file right after content (a rewrite in
 * place, truncated first) for EMPTY_HOLD_MS, any change for `settleMs`. Pure: times are passed in.
 */
export function decideHold(f: ReadFacts): HoldDecision {
  // The file changed while it was read: what was read may be half of one version and half of the next.
  if (f.moving) return REREAD;
  // Absent (a deletion is reported, never sent), or the known bytes (nothing to send; a hold that
  // ends on them, as `cat same > file` does, sends nothing): nothing is held.
  if (f.fresh === null || f.fresh.md5 === f.known) return ANNOUNCE;
  const empty = f.fresh.size === 0;
  const holdMs = empty ? Math.max(EMPTY_HOLD_MS, f.settleMs) : f.settleMs;
  // New content and nothing asks for quiet (the hot path: sent at once).
  if (holdMs === 0) return ANNOUNCE;
  // New content, to be sent once the file has not changed for holdMs: quiet since this identity was first read.
  const held = f.held !== null && f.held.sig === f.fresh.sig ? f.held : { sig: f.fresh.sig, since: f.now };
  if (f.now - held.since >= holdMs) return ANNOUNCE;
  return { kind: 'hold', held, until: held.since + holdMs, why: empty ? 'empty' : 'settle' };
}
