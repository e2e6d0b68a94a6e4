import { lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { judgeLink, type LinkVerdict, type PathShape } from '../core/link.js';

/** Thrown instead of a write through a listed symbolic link that reaches no regular file; nothing was written. */
export class LinkRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkRefused';
  }
}

/** As many hops as the kernel follows before ELOOP. */
const MAX_HOPS = 40;

/** The lstat of `listed`: undefined when there is nothing there, null when it cannot be looked at (EACCES). */
function lstatOf(listed: string): Stats | undefined | null {
  try {
    return lstatSync(listed, { throwIfNoEntry: false });
  } catch {
    return null;
  }
}

/**
 * What `listed` is as far as links go: one lstat for a path that is no link; for a link, the
 * absolute path it resolves to and what is there. A path that cannot be looked at counts as
 * no link; for a link, throws what its realpath or stat throws other than ENOENT, ENOTDIR and
 * ELOOP (EACCES: the read reports it).
 */
export function inspectPath(listed: string): PathShape {
  return shapeOf(listed, lstatOf(listed));
}

/** inspectPath, given the lstat of `listed` already made. */
function shapeOf(listed: string, st: Stats | undefined | null): PathShape {
  if (!st?.isSymbolicLink()) return { kind: 'plain' };
  let target: string;
  try {
    target = realpathSync.native(listed);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { kind: 'link', target: hop(listed), reaches: 'loop' };
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'link', target: danglingEnd(listed), reaches: 'absent' };
    throw err;
  }
  const t = statSync(target, { throwIfNoEntry: false });
  // RACE: removed since the realpath: dangling now.
  const reaches = t === undefined ? 'absent' : t.isFile() ? 'file' : t.isDirectory() ? 'folder' : 'other';
  return { kind: 'link', target, reaches };
}

/** How the node treats `listed` (see judgeLink). */
export function verdictOf(listed: string): LinkVerdict {
  return judgeLink(listed, inspectPath(listed));
}

/** Where a write of `listed` of shape `shape` goes; throws LinkRefused for a broken link. */
function targetOf(listed: string, shape: PathShape): string {
  const v = judgeLink(listed, shape);
  if (v.kind === 'broken') throw new LinkRefused(v.message);
  return v.kind === 'through' ? v.target : listed;
}

/**
 * Where a write of `listed` goes, resolved now: the path itself, or the regular file its link
 * resolves to (the link itself is never replaced). Throws LinkRefused for a broken link.
 */
export function writeTargetOf(listed: string): string {
  return targetOf(listed, inspectPath(listed));
}

/**
 * writeTargetOf, with what its lstat saw when `listed` is no link: the file's stats (null when
 * absent), so the write needs no second look for the mode and owner to keep. For a link (or a
 * path that cannot be looked at) the stats are undefined: look at the target.
 */
export function writeTargetWithStats(listed: string): { target: string; stats: Stats | null | undefined } {
  const st = lstatOf(listed);
  const target = targetOf(listed, shapeOf(listed, st));
  return { target, stats: st === null || st?.isSymbolicLink() ? undefined : (st ?? null) };
}

/** The folders a write of `listed` may leave a temp file in: its own, and its link target's. */
export function writeFoldersOf(listed: string): string[] {
  const dirs = [path.dirname(listed)];
  try {
    const v = verdictOf(listed);
    if (v.kind !== 'plain') dirs.push(path.dirname(v.target));
  } catch {
    // Unreadable: nothing of ours can be there.
  }
  return dirs;
}

/** The link's first hop, as an absolute path. */
function hop(link: string): string {
  try {
    return path.resolve(path.dirname(link), readlinkSync(link));
  } catch {
    return link;
  }
}

/** Where a dangling link's chain of links ends: the path that does not exist. */
function danglingEnd(link: string): string {
  let at = link;
  for (let i = 0; i < MAX_HOPS; i++) {
    let st;
    try {
      st = lstatSync(at);
    } catch {
      break;
    }
    if (!st.isSymbolicLink()) break;
    at = hop(at);
  }
  // Its folder's own links resolved, when the folder exists.
  try {
    return path.join(realpathSync.native(path.dirname(at)), path.basename(at));
  } catch {
    return at;
  }
}
