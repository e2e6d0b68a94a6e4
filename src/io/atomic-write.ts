import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, fsync as fsFsync, fsyncSync, open as fsOpen, openSync, readFileSync, renameSync, statSync, unlinkSync, write as fsWrite, writeSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { chownSpec, ownerText } from './accounts.js';
import { writeTargetWithStats } from './link.js';
import { trustedWalk, type Walk } from './ownership.js';
import { NotRegularFile, SMALL_FILE_BYTES } from './snapshot.js';
import { mark } from '../trace.js';

/** Hidden, never matching `*.conf`-style globs, and recognizable for clean-up after a crash. */
const TEMP_SUFFIX = '.entangled-tmp';
const TEMP_RE = /^\..+\.[0-9a-f]{12}\.entangled-tmp$/;

/** Whether `name` (a folder entry) is one of our temp files for a target named `base`. */
export function isTempFor(name: string, base: string): boolean {
  return TEMP_RE.test(name) && name.startsWith(`.${base}.`) && name.length === base.length + 2 + 12 + TEMP_SUFFIX.length;
}

/**
 * The temp names' 12 hex digits: a random start per process, then a counter (a random draw per
 * write costs a getrandom call and 30 µs in a burst). Unique within the process; across
 * processes the random start makes a clash unlikely, and the exclusive create refuses one.
 */
let tempSeq = randomBytes(6).readUIntBE(0, 6);

/**
 * A new temp file's name for a file named `base`: only letters, digits and `._-` whatever the
 * name (each other character becomes `_`, and a long name is cut), so that a validate command
 * is never handed a name that means something to the shell.
 */
function tempNameFor(base: string): string {
  tempSeq = (tempSeq + 1) % 0x1000000000000;
  return `.${base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}.${tempSeq.toString(16).padStart(12, '0')}${TEMP_SUFFIX}`;
}

/** A new temp file's path beside `target` (see tempNameFor). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), tempNameFor(path.basename(target)));
}

/**
 * Paths under /proc/self/fd/N reach the folder open as N itself, whatever is renamed or
 * retargeted on the way to it since: the create and the rename of a write go through it
 * (Node has no openat or renameat). Without /proc, the folder's own path is used.
 */
const PROC_FD = existsSync('/proc/self/fd');

/**
 * Where a write stages and renames: the folder of `target` (the listed path with every link
 * resolved), held open from before the temp file is created until after the rename. `tmp` is
 * the temp file's real path (what validate is given), `via(name)` a path to `name` in the held folder.
 */
interface Stage {
  readonly target: string;
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
  readonly tmp: string;
  readonly tmpVia: string;
  readonly targetVia: string;
}

/**
 * Where a write of `listed` goes, checked now: the regular file (or absent name) the path
 * resolves to, every folder and link on the way beyond other users' reach. Throws LinkRefused
 * (a link that reaches no file) or PathNotTrusted; nothing is written then. `stats`: as
 * writeTargetWithStats, for the resolved target.
 */
function resolveWrite(listed: string): { target: string; stats: Stats | null | undefined; walk: Walk } {
  const link = writeTargetWithStats(listed);
  const walk = trustedWalk(listed);
  if (walk.end === 'unresolved') return { ...link, walk };
  return { target: walk.resolved, stats: walk.resolved === link.target ? link.stats : undefined, walk };
}

/**
 * Opens the folder `target` is to be staged in; when the walk saw that folder, it must be the
 * one opened (else PreconditionFailed: it was replaced since). Throws WriteStepFailed (create)
 * when it cannot be opened.
 */
function openStage(target: string, walk: Walk): Stage {
  const dir = path.dirname(target);
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw new WriteStepFailed(err, 'create', target);
  }
  const st = fstatSync(fd);
  if (walk.folder !== null && (st.dev !== walk.folder.dev || st.ino !== walk.folder.ino)) {
    closeSync(fd);
    throw new PreconditionFailed();
  }
  const name = tempNameFor(path.basename(target));
  const via = PROC_FD ? `/proc/self/fd/${fd}` : dir;
  return { target, fd, dev: st.dev, ino: st.ino, tmp: path.join(dir, name), tmpVia: path.join(via, name), targetVia: path.join(via, path.basename(target)) };
}

function closeStage(stage: Stage): void {
  try {
    closeSync(stage.fd);
  } catch {
    // Closed already.
  }
}

/** Thrown when the precondition checked just before the rename no longer holds. */
export class PreconditionFailed extends Error {
  constructor() {
    super('local copy changed before the write');
    this.name = 'PreconditionFailed';
  }
}

/** Thrown when the validate step refused the staged content; the file was not replaced. */
export class ValidationFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationFailed';
  }
}

export interface AtomicWriteOptions {
  /**
   * Runs on the durable temp file (its path given) before the precondition; resolving to a
   * message aborts the write with ValidationFailed, null lets it go on.
   */
  readonly validate?: (tempPath: string) => Promise<string | null>;
  /** Runs after the temp file is durable and just before the rename; false aborts the write. */
  readonly precondition?: () => boolean | Promise<boolean>;
  /**
   * Runs after the precondition held, just before the rename (keeps the old version), given
   * the file about to be replaced (a listed link's target); throwing aborts.
   */
  readonly beforeRename?: (target: string) => void | Promise<void>;
  /**
   * Write a small file on the main thread (lowest latency for one change; the default). False
   * uses the thread pool, so that many writes' fsyncs overlap (throughput for a burst).
   */
  readonly sync?: boolean;
  /** The permission bits of the file when it is created (absent before the write); default 0644. */
  readonly createMode?: number;
}

interface Keep {
  mode: number;
  owner: { uid: number; gid: number } | null;
}

const MY_UID = process.getuid?.();
const MY_GID = process.getgid?.();

function keepOf(st: { mode: number; uid: number; gid: number } | null, createMode = 0o644): Keep {
  if (!st) return { mode: createMode, owner: null };
  const mine = st.uid === MY_UID && st.gid === MY_GID;
  return { mode: st.mode & 0o7777, owner: mine ? null : { uid: st.uid, gid: st.gid } };
}

/** The process's umask, read once from /proc (reading it with process.umask() would set it); null when unknown. */
const UMASK: number | null = (() => {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? parseInt(m[1]!, 8) : null;
  } catch {
    return null;
  }
})();

/**
 * The mode to create the temp file with, and whether an fchmod must still follow: creating it
 * with the final permission bits saves the fchmod (an inode update) when the umask keeps them
 * all and no owner change is to follow (a chown would clear set-id bits set before it).
 */
function tempMode(keep: Keep): { mode: number; chmod: boolean } {
  const plain = (keep.mode & ~0o777) === 0 && keep.owner === null && UMASK !== null && (keep.mode & UMASK) === 0;
  return plain ? { mode: keep.mode, chmod: false } : { mode: 0o600, chmod: true };
}

function statOrNull(target: string): Stats | null {
  try {
    return statSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Replaces the file at `listed` with `data` atomically: temp file in the same folder, fsync,
 * keep the old file's mode/uid/gid (`createMode`, default 0644, when new, whatever the umask), rename, fsync the
 * folder. When `listed` is a symbolic link, all of that happens to the regular file it
 * resolves to now, in that file's folder; the link stays. A reader sees the old bytes or the
 * new ones, never a mix. Throws PreconditionFailed, LinkRefused (a broken link: nothing
 * written) or an fs error; the temp file is removed on every failure. Small files are written
 * synchronously (latency).
 */
export async function atomicWrite(listed: string, data: Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  if (data.length > SMALL_FILE_BYTES) {
    await atomicWriteStream(listed, (append) => append(data), opts);
    return;
  }
  const { target, stats, walk } = resolveWrite(listed);
  const stage = openStage(target, walk);
  try {
    if (opts.sync !== false) writeTempSync(stage, data, opts.createMode, stats);
    else await writeTempInPool(stage, data, opts.createMode, stats);
    await install(stage, listed, opts, opts.sync !== false ? 'now' : 'shared');
  } finally {
    closeStage(stage);
  }
}

/**
 * What to keep of the file the stage replaces (from `seen`, the stats the caller already has;
 * null: absent; undefined: look), and the mode to create the temp file with (`createMode` when
 * the file is absent). Throws NotRegularFile when what is there is no regular file (a FIFO, a
 * folder): it is not replaced.
 */
function newTemp(stage: Stage, createMode?: number, seen?: Stats | null): { keep: Keep; create: { mode: number; chmod: boolean } } {
  const st = seen === undefined ? statOrNull(stage.targetVia) : seen;
  if (st !== null && !st.isFile()) throw new NotRegularFile(stage.target, st);
  const keep = keepOf(st, createMode);
  return { keep, create: tempMode(keep) };
}

/**
 * Thrown (errno code EPERM) when the replaced file's owner cannot be given to the new version:
 * its message names that owner, this process's, and what would allow it.
 */
export class OwnerNotKept extends Error {
  readonly code = 'EPERM';
  constructor(target: string, owner: { uid: number; gid: number }, options?: { cause?: unknown }) {
    const mine = MY_UID === undefined || MY_GID === undefined ? 'this node' : `this node runs as ${ownerText(MY_UID, MY_GID)} and`;
    const fix = MY_UID === undefined || MY_GID === undefined ? '' : `, or chown ${chownSpec(MY_UID, MY_GID)} ${target}`;
    super(
      `cannot keep the owner of ${target}, ${ownerText(owner.uid, owner.gid)}: ${mine} may not set that owner without CAP_CHOWN; ` +
        `run the node as ${chownSpec(owner.uid, owner.gid)}, give it CAP_CHOWN${fix}`,
      options,
    );
    this.name = 'OwnerNotKept';
  }
}

/**
 * A failed step of a write, worded about the file it is for (the temp file's name changes with
 * every attempt, so a retry fails with the same line) and naming what allows it; keeps the
 * errno `code` (EACCES, EPERM, EROFS, ENOSPC, …) and the fs error as its cause.
 */
export class WriteStepFailed extends Error {
  readonly code: string | undefined;
  constructor(err: unknown, step: 'create' | 'rename', target: string) {
    const e = err as NodeJS.ErrnoException;
    const code = typeof e?.code === 'string' ? e.code : undefined;
    // "EACCES: permission denied, open '…'": the description between the code and the call.
    const what = /^[A-Z0-9_]+: ([^,]+),/.exec(String(e?.message ?? ''))?.[1] ?? String(e?.message ?? err);
    const head = code === undefined ? what : `${code}: ${what}`;
    const denied = code === 'EACCES' || code === 'EPERM';
    super(
      step === 'create'
        ? `${head}: cannot create a temp file in ${path.dirname(target)}${denied ? ' (a write stages the new version there: the node\'s user needs write access to that folder)' : ''}`
        : `${head}: cannot rename the new version over ${target}${code === 'EPERM' ? ' (is it immutable or append-only? lsattr shows it, chattr -i or -a clears it)' : ''}`,
      { cause: err },
    );
    this.name = 'WriteStepFailed';
    this.code = code;
  }
}

/** Gives the open temp file (beside `target`) the old file's mode (unless it was created with it) and owner; throws OwnerNotKept. */
function keepOwnership(fd: number, target: string, keep: Keep, create: { chmod: boolean }): void {
  if (create.chmod) fchmodSync(fd, keep.mode);
  if (!keep.owner) return;
  try {
    fchownSync(fd, keep.owner.uid, keep.owner.gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') throw new OwnerNotKept(target, keep.owner, { cause: err });
    throw err;
  }
}

/**
 * The steps after the temp file is durable: validate, precondition, keep the old version,
 * check again that `listed` is safe and still resolves into the held folder, to the same name
 * (a link retargeted meanwhile: PreconditionFailed; a path another user controls now:
 * PathNotTrusted), rename inside the held folder, then fsync it (`now`, or `shared` with the
 * other renames in it waiting for one). The temp file is removed unless it was renamed.
 */
async function install(stage: Stage, listed: string, opts: AtomicWriteOptions, folderSync: 'now' | 'shared'): Promise<void> {
  const { target } = stage;
  let renamed = false;
  try {
    if (opts.validate) {
      const refused = await opts.validate(stage.tmp);
      if (refused !== null) throw new ValidationFailed(refused);
    }
    if (opts.precondition && !(await opts.precondition())) throw new PreconditionFailed();
    await opts.beforeRename?.(target);
    const again = resolveWrite(listed);
    if (again.target !== target || (again.walk.folder !== null && (again.walk.folder.dev !== stage.dev || again.walk.folder.ino !== stage.ino))) throw new PreconditionFailed();
    mark('checked');
    // RACE: a local write (or a retarget of a link on the way) landing between the checks and
    // this rename is replaced (or misses us); the window is microseconds and the watcher then
    // reports what is there, which is read again. The rename goes through the held folder,
    // which was checked beyond other users' reach: a folder on the way swapped meanwhile
    // (only root or the node's user may do that) cannot send it elsewhere. Without /proc it
    // goes by path.
    try {
      renameSync(stage.tmpVia, stage.targetVia);
    } catch (err) {
      throw new WriteStepFailed(err, 'rename', target);
    }
    mark('renamed');
    renamed = true;
  } finally {
    if (!renamed) unlinkQuietly(stage.tmpVia);
  }
  if (folderSync === 'now') fsyncSync(stage.fd);
  else await syncDirShared(path.dirname(target));
}

/** Writes `data` to the stage's new temp file with the replaced file's mode and owner, fsynced. */
function writeTempSync(stage: Stage, data: Uint8Array, createMode?: number, seen?: Stats | null): void {
  const { target } = stage;
  const tmp = stage.tmpVia;
  const { keep, create } = newTemp(stage, createMode, seen);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', create.mode);
  } catch (err) {
    throw new WriteStepFailed(err, 'create', target);
  }
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    keepOwnership(fd, target, keep, create);
    fsyncSync(fd);
    mark('durable');
  } catch (err) {
    unlinkQuietly(tmp);
    throw err;
  } finally {
    closeSync(fd);
  }
}

const openFd = promisify(fsOpen);
const writeFd = promisify(fsWrite);
const fsyncFd = promisify(fsFsync);

/**
 * writeTempSync for a small file in a burst: the create, the write and the fsync in the thread
 * pool (a create and an fsync wait on the disk, and a burst's fsyncs overlap there), the rest
 * on the main thread; plain descriptors, not FileHandles (no object to collect per write).
 */
async function writeTempInPool(stage: Stage, data: Uint8Array, createMode?: number, seen?: Stats | null): Promise<void> {
  const { target } = stage;
  const tmp = stage.tmpVia;
  const { keep, create } = newTemp(stage, createMode, seen);
  const fd = await openFd(tmp, 'wx', create.mode).catch((err: unknown) => {
    throw new WriteStepFailed(err, 'create', target);
  });
  try {
    let off = 0;
    while (off < data.length) off += (await writeFd(fd, data, off, data.length - off, off)).bytesWritten;
    keepOwnership(fd, target, keep, create);
    await fsyncFd(fd);
    mark('durable');
  } catch (err) {
    unlinkQuietly(tmp);
    throw err;
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // Already gone.
  }
}

/** How much a streamed write appends between two of its background fdatasyncs. */
const FLUSH_BYTES = 64 * 1024 * 1024;

/**
 * Like atomicWrite, for content that arrives in pieces: `fill` receives a writer that appends
 * to the temp file (and may throw to abandon it, e.g. on a digest mismatch); then fsync, the
 * precondition, the rename and the folder's fsync. Only one piece is in memory at a time.
 */
export async function atomicWriteStream(
  listed: string,
  fill: (append: (piece: Uint8Array) => Promise<void>) => Promise<void>,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const { target, walk } = resolveWrite(listed);
  const stage = openStage(target, walk);
  try {
    await streamToStage(stage, fill, opts.createMode);
    await install(stage, listed, opts, 'shared');
  } finally {
    closeStage(stage);
  }
}

/** atomicWriteStream's temp file: filled, given the replaced file's mode and owner, fsynced. */
async function streamToStage(stage: Stage, fill: (append: (piece: Uint8Array) => Promise<void>) => Promise<void>, createMode?: number): Promise<void> {
  const { target } = stage;
  const tmp = stage.tmpVia;
  const { keep, create } = newTemp(stage, createMode);
  const fh = await open(tmp, 'wx', create.mode).catch((err: unknown) => {
    throw new WriteStepFailed(err, 'create', target);
  });
  // Write-back as it goes: every FLUSH_BYTES an fdatasync starts in the thread pool (one at a
  // time, not awaited) while the next pieces are written, so the final fsync finds little left.
  let flushing: Promise<void> | null = null;
  let flushFailed: unknown = null;
  try {
    let pos = 0;
    let flushedAt = 0;
    await fill(async (piece) => {
      let off = 0;
      while (off < piece.length) {
        const { bytesWritten } = await fh.write(piece, off, piece.length - off, pos);
        off += bytesWritten;
        pos += bytesWritten;
      }
      if (flushFailed !== null) throw flushFailed;
      if (flushing === null && pos - flushedAt >= FLUSH_BYTES) {
        flushedAt = pos;
        flushing = fh.datasync().then(
          () => void (flushing = null),
          (err: unknown) => void ((flushFailed = err), (flushing = null)),
        );
      }
    });
    await flushing;
    if (flushFailed !== null) throw flushFailed;
    keepOwnership(fh.fd, target, keep, create);
    await fh.sync();
  } catch (err) {
    await flushing;
    unlinkQuietly(tmp);
    throw err;
  } finally {
    await fh.close();
  }
}

interface DirSync {
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}
const dirSyncs = new Map<string, DirSync>();

/**
 * fsyncs a folder on behalf of every rename done in it so far: requests that arrive while one
 * fsync runs share the next one (group commit), so a burst of writes in one folder costs a few
 * folder fsyncs, not one each.
 */
function syncDirShared(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let state = dirSyncs.get(dir);
    const idle = !state;
    if (!state) {
      state = { waiters: [] };
      dirSyncs.set(dir, state);
    }
    state.waiters.push({ resolve, reject });
    if (idle) void drainDirSync(dir, state);
  });
}

async function drainDirSync(dir: string, state: DirSync): Promise<void> {
  while (state.waiters.length > 0) {
    const batch = state.waiters.splice(0);
    try {
      const fh = await open(dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
  dirSyncs.delete(dir);
}

/** fsyncs a file or a folder by path, synchronously. */
export function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes temp files a crash left in the given folders; returns the paths removed. */
export async function removeStrayTemps(dirs: Iterable<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!TEMP_RE.test(name)) continue;
      const p = path.join(dir, name);
      try {
        await unlink(p);
        removed.push(p);
      } catch {
        // Gone already, or not ours to remove: leave it.
      }
    }
  }
  return removed;
}
