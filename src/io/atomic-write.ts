import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Hidden, never matching `*.conf`-style globs, and recognizable for clean-up after a crash. */
const TEMP_SUFFIX = '.entangled-tmp';
const TEMP_RE = /^\..+\.[0-9a-f]{12}\.entangled-tmp$/;

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

/** Thrown when the precondition checked just before the rename no longer holds. */
export class PreconditionFailed extends Error {
  constructor() {
    super('local copy changed before the write');
    this.name = 'PreconditionFailed';
  }
}

export interface AtomicWriteOptions {
  /** Runs after the temp file is durable and just before the rename; false aborts the write. */
  readonly precondition?: () => Promise<boolean>;
}

/**
 * Replaces `target` with `data` atomically: temp file in the same folder, fsync, keep the old
 * file's mode/uid/gid (0644 when new, whatever the umask), rename, fsync the folder. A reader
 * sees the old bytes or the new ones, never a mix. Throws PreconditionFailed or an fs error;
 * the temp file is removed on every failure.
 */
export async function atomicWrite(target: string, data: Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(target);
  let mode = 0o644;
  let owner: { uid: number; gid: number } | null = null;
  try {
    const st = await stat(target);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const tmp = tempPathFor(target);
  const fh = await open(tmp, 'wx', 0o600);
  let renamed = false;
  try {
    try {
      await fh.writeFile(data);
      await fh.chmod(mode);
      if (owner && (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.())) {
        await fh.chown(owner.uid, owner.gid);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.precondition && !(await opts.precondition())) throw new PreconditionFailed();
    // RACE: a local write landing between the precondition check and this rename is replaced;
    // the window is a few microseconds and the watcher then reports our bytes, not a change.
    await rename(tmp, target);
    renamed = true;
    await syncDir(dir);
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
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
