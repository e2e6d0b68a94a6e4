/**
 * Who may change where a listed path leads: the contract's "only files that no other user
 * controls". io/ownership.ts walks the path as the kernel resolves it (each component, each
 * symbolic link's target spliced in) and gathers an lstat of every entry it meets; this file
 * decides, from those facts alone, whether a user other than root and the node's own may change
 * what a read or a write of the path reaches.
 */

/** What an lstat says of one entry met on the way. */
export interface EntryFacts {
  readonly path: string;
  readonly kind: 'folder' | 'link' | 'file' | 'other';
  readonly uid: number;
  readonly gid: number;
  /** Permission bits with the set-id and sticky bits (st_mode & 0o7777). */
  readonly mode: number;
  readonly nlink: number;
}

/**
 * One entry met on the way, and the folder it was found in (null for `/`). `absent`: the name
 * does not exist there (a file not created yet).
 */
export interface WalkStep {
  readonly entry: EntryFacts | { readonly path: string; readonly kind: 'absent' };
  readonly holder: EntryFacts | null;
}

/** The users trusted with the path: root is always, and the node's own user (and its group). */
export interface Trusted {
  readonly uid: number;
  readonly gid: number;
}

/** Who besides the trusted users may write an entry. */
export type Writer = { readonly uid: number } | { readonly gid: number } | 'everyone';

/**
 * `safe`: no other user can change what the path reaches. `unsafe`: `step` (a folder that holds
 * an entry on the way, or the final file) may be written by `writer`.
 */
export type OwnershipVerdict =
  | { readonly kind: 'safe' }
  | { readonly kind: 'unsafe'; readonly step: string; readonly what: 'folder' | 'file'; readonly writer: Writer };

const STICKY = 0o1000;

/**
 * Who other than root and `me` may write `e`: its owner (who may chmod it at will), its group
 * when the group may write it (unless that is root's group or the node's own), or everyone.
 * ACLs are not looked at. Null when nobody else.
 */
export function otherWriter(e: Pick<EntryFacts, 'uid' | 'gid' | 'mode'>, me: Trusted): Writer | null {
  if (e.uid !== 0 && e.uid !== me.uid) return { uid: e.uid };
  if (e.mode & 0o002) return 'everyone';
  if (e.mode & 0o020 && e.gid !== 0 && e.gid !== me.gid) return { gid: e.gid };
  return null;
}

const trustedUid = (uid: number, me: Trusted): boolean => uid === 0 || uid === me.uid;

/** Decides whether the entries a walk met (in the order met) are all beyond other users' reach; the first that is not is named. */
export function judgeOwnership(steps: readonly WalkStep[], me: Trusted): OwnershipVerdict {
  for (const { entry, holder } of steps) {
    if (holder !== null) {
      const writer = otherWriter(holder, me);
      // Another user may write the folder: it may rename, remove or replace the entry, unless the
      // folder is sticky (only an entry's owner, or the folder's, may then remove or rename it) and
      // both are trusted; a hard link there to a file (nlink > 1) may be another user's doing.
      // An absent name in a sticky folder is safe: a write renames over whatever appears there.
      if (writer !== null) {
        const sticky = (holder.mode & STICKY) !== 0 && trustedUid(holder.uid, me);
        const kept = entry.kind === 'absent' || (trustedUid(entry.uid, me) && !(entry.kind === 'file' && entry.nlink > 1));
        if (!(sticky && kept)) return { kind: 'unsafe', step: holder.path, what: 'folder', writer };
      }
    }
    // The final file (or whatever is there instead): another user who may write it controls its content.
    if (entry.kind === 'file' || entry.kind === 'other') {
      const writer = otherWriter(entry, me);
      if (writer !== null) return { kind: 'unsafe', step: entry.path, what: 'file', writer };
    }
    // A folder is judged as the holder of the next entry; a link's own bits mean nothing (only its folder may change it).
  }
  return { kind: 'safe' };
}

/** Names for the ids in a verdict (the local account files'), null where there is none. */
export interface WriterNames {
  readonly user: string | null;
  readonly group: string | null;
}

/** The per-file error for an unsafe verdict about `listed`: names the step, who may write it, and the fix. */
export function unsafeMessage(listed: string, v: Extract<OwnershipVerdict, { kind: 'unsafe' }>, names: WriterNames): string {
  const w = v.writer;
  const who =
    w === 'everyone'
      ? 'everyone'
      : 'uid' in w
        ? `uid ${w.uid}${names.user !== null ? ` (${names.user})` : ''}`
        : `group gid ${w.gid}${names.group !== null ? ` (${names.group})` : ''}`;
  const how =
    v.what === 'folder'
      ? `so another user can change where ${listed} leads`
      : `so another user controls the content of ${v.step === listed ? 'it' : `${listed} (a link to it)`}`;
  const fix = w !== 'everyone' && 'uid' in w ? `chown root ${v.step}` : `chmod go-w ${v.step}`;
  return `${v.step} is writable by ${who}, ${how}; nothing is read from it or written to it until it is not (${fix})`;
}
