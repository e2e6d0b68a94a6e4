/** The default of `maxBytes` (top-level and per file): 1 GiB. */
export const DEFAULT_MAX_BYTES = 1024 ** 3;

/**
 * Why a version of `size` bytes is refused under `maxBytes` (a file's own, else the top-level
 * one), or null when it is within it. The size is the file's length (a sparse file's holes count).
 */
export function overMaxBytes(size: number, maxBytes: number): string | null {
  // Within the cap: the version may be sent and written.
  if (size <= maxBytes) return null;
  return `${size} bytes, over maxBytes (${maxBytes})`;
}

/** The free space of one filesystem, as statfs reports it: blocks free to this user and their size. */
export interface Room {
  readonly bavail: number;
  readonly bsize: number;
}

export interface RoomNeed {
  /** The incoming version's size, staged as a temp file in the target's folder. */
  readonly size: number;
  /** That folder's filesystem. */
  readonly target: Room;
  /**
   * The replaced version's backup when it is a copy (the backups folder is on another
   * filesystem): its size and that filesystem; null when there is none or it is a hard link.
   */
  readonly backup: { readonly size: number; readonly room: Room } | null;
}

/** Bytes as blocks of `bsize`, rounded up (a partly used block is used). */
function blocks(bytes: number, bsize: number): number {
  return Math.ceil(bytes / Math.max(bsize, 1));
}

/** What does not fit: the version in the target's folder, or the replaced version's backup copy. */
export interface NoRoom {
  readonly where: 'target' | 'backup';
  readonly need: number;
  readonly free: number;
}

/**
 * What a pull of `need.size` bytes lacks room for (the version and its backup copy must both
 * fit), or null when both fit. Nothing is written when it is refused.
 */
export function lackOfRoom(need: RoomNeed): NoRoom | null {
  const { size, target, backup } = need;
  // The staged version itself does not fit beside the file it replaces (still there until the rename).
  if (blocks(size, target.bsize) > target.bavail) return { where: 'target', need: size, free: target.bavail * target.bsize };
  // No copy to make: a hard link costs no blocks, and an absent file has nothing to keep.
  if (backup === null) return null;
  // The copy of the replaced version does not fit in the backups' filesystem.
  if (blocks(backup.size, backup.room.bsize) > backup.room.bavail) return { where: 'backup', need: backup.size, free: backup.room.bavail * backup.room.bsize };
  return null;
}

/**
 * A file mode as the config writes it: a string of three or four octal digits ("0600", "640");
 * its permission bits, or null when it is not one (set-id and sticky bits are refused: a file
 * created with a peer's content must never be set-id).
 */
export function parseFileMode(text: string): number | null {
  if (!/^[0-7]{3,4}$/.test(text)) return null;
  const mode = parseInt(text, 8);
  return mode > 0o777 ? null : mode;
}
