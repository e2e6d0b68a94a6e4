import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { judgeOwnership, unsafeMessage, type EntryFacts, type Trusted, type WalkStep } from '../core/ownership.js';
import { nameOfGroup, nameOfUser } from './accounts.js';

/** As many links as the kernel follows before ELOOP. */
const MAX_LINKS = 40;

/** The node's own user and group: the effective ids (root is trusted whatever they are). */
export const NODE_USER: Trusted = Object.freeze({ uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 });

/** Thrown instead of a read or a write of a listed path another user controls; nothing was read or written. */
export class PathNotTrusted extends Error {
  readonly code = 'UNSAFE_PATH';
  constructor(message: string) {
    super(message);
    this.name = 'PathNotTrusted';
  }
}

/**
 * Where a walk of a listed path ended: `resolved` is the path with every link resolved (its
 * folders real folders, as the walk met them), and what is there: a file, nothing (`absent`),
 * something else, or no end at all (`unresolved`: a loop, a missing or unreadable folder on
 * the way, a file used as a folder).
 */
export interface Walk {
  readonly steps: readonly WalkStep[];
  readonly resolved: string;
  readonly end: 'file' | 'absent' | 'folder' | 'other' | 'unresolved';
  /** The folder holding the end, as the walk met it (its inode, to check a folder opened later). */
  readonly folder: { readonly dev: number; readonly ino: number } | null;
}

function factsOf(p: string, st: Stats): EntryFacts {
  const kind = st.isDirectory() ? 'folder' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
  return { path: p, kind, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, nlink: st.nlink };
}

/**
 * Walks the absolute path `listed` as the kernel resolves it, one lstat per entry met: each
 * component, and for a symbolic link each component of its target (an absolute target starts
 * again at `/`, `..` goes back to the folder the walk came from). Stops at the first name that
 * does not exist or cannot be looked at. Reads only metadata and links, never a file.
 */
export function walkPath(listed: string): Walk {
  const steps: WalkStep[] = [];
  // The real folders from `/` to where the walk is: their facts and stats.
  const root = lstatSync('/');
  const rootFacts = factsOf('/', root);
  steps.push({ entry: rootFacts, holder: null });
  let stack: { facts: EntryFacts; st: Stats }[] = [{ facts: rootFacts, st: root }];
  const pending = listed.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  const here = () => stack[stack.length - 1]!;
  const folderOf = () => ({ dev: here().st.dev, ino: here().st.ino });
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === '..') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const at = path.join(here().facts.path, comp);
    let st: Stats | undefined;
    try {
      st = lstatSync(at, { throwIfNoEntry: false });
    } catch {
      // EACCES, ENOTDIR: the walk cannot see past here; the read says why.
      return { steps, resolved: at, end: 'unresolved', folder: null };
    }
    if (st === undefined) {
      steps.push({ entry: { path: at, kind: 'absent' }, holder: here().facts });
      return { steps, resolved: path.join(at, ...pending), end: pending.length === 0 ? 'absent' : 'unresolved', folder: pending.length === 0 ? folderOf() : null };
    }
    const facts = factsOf(at, st);
    steps.push({ entry: facts, holder: here().facts });
    if (facts.kind === 'link') {
      if (++links > MAX_LINKS) return { steps, resolved: at, end: 'unresolved', folder: null };
      let target: string;
      try {
        target = readlinkSync(at);
      } catch {
        return { steps, resolved: at, end: 'unresolved', folder: null };
      }
      if (target.startsWith('/')) stack = [{ facts: rootFacts, st: root }];
      pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    if (facts.kind === 'folder') {
      if (pending.length === 0) return { steps, resolved: at, end: 'folder', folder: folderOf() };
      stack.push({ facts, st });
      continue;
    }
    if (pending.length > 0) return { steps, resolved: path.join(at, ...pending), end: 'unresolved', folder: null };
    return { steps, resolved: at, end: facts.kind === 'file' ? 'file' : 'other', folder: folderOf() };
  }
  // The path was `/` itself.
  return { steps, resolved: '/', end: 'folder', folder: null };
}

/**
 * Walks `listed` and judges it (see core/ownership.ts): the walk when no user other than root
 * and the node's own can change where it leads, else throws PathNotTrusted naming the step that
 * fails. Throws what the lstat of `/` throws.
 */
export function trustedWalk(listed: string, me: Trusted = NODE_USER): Walk {
  const walk = walkPath(listed);
  const v = judgeOwnership(walk.steps, me);
  if (v.kind === 'safe') return walk;
  const w = v.writer;
  const names = {
    user: w !== 'everyone' && 'uid' in w ? nameOfUser(w.uid) : null,
    group: w !== 'everyone' && 'gid' in w ? nameOfGroup(w.gid) : null,
  };
  throw new PathNotTrusted(unsafeMessage(listed, v, names));
}

/** Why `listed` may not be read or written (PathNotTrusted's line), or null when it may. */
export function distrustOf(listed: string): string | null {
  try {
    trustedWalk(listed);
    return null;
  } catch (err) {
    if (err instanceof PathNotTrusted) return err.message;
    throw err;
  }
}
