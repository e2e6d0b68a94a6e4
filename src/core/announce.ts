import { decideLocal } from './decide.js';
import type { Md5 } from './types.js';

/** What a fresh local snapshot makes this node tell its peers. */
export type Announcement =
  | { readonly kind: 'none' }
  /** The file was deleted: peers keep their copies; they learn ours is absent (have null). */
  | { readonly kind: 'deleted' }
  /** The file is back with the bytes it had: not a change, but peers learn we hold it again (have md5). */
  | { readonly kind: 'reappeared'; readonly md5: Md5 }
  /** New bytes: a change naming the version it replaces. */
  | { readonly kind: 'publish'; readonly prev: Md5 | null; readonly md5: Md5 };

export interface SnapshotFacts {
  /** The last version this node had (survives a deletion). */
  readonly known: Md5 | null;
  /** The file's md5 as just read; null when absent. */
  readonly fresh: Md5 | null;
  /** Whether the file was present at the previous look. */
  readonly wasPresent: boolean;
}

/** Decides the announcement a local snapshot calls for (see decideLocal for the change itself). */
export function announceSnapshot(f: SnapshotFacts): Announcement {
  const d = decideLocal(f.known, f.fresh);
  // Absent now: say so once, when it was there before.
  if (d.kind === 'gone') return f.wasPresent ? { kind: 'deleted' } : { kind: 'none' };
  // The known bytes, back after an absence.
  if (d.kind === 'unchanged') return f.wasPresent || f.fresh === null ? { kind: 'none' } : { kind: 'reappeared', md5: f.fresh };
  return d;
}
