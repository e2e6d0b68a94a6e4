import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { copyFile, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Md5 } from '../core/types.js';
import { fsyncPath } from './atomic-write.js';
import { SMALL_FILE_BYTES } from './snapshot.js';

/** One kept version of a file. */
export interface KeptVersion {
  readonly md5: Md5;
  readonly size: number;
  /** ISO time it was kept, i.e. when a newer version replaced it. */
  readonly savedAt: string;
  readonly path: string;
}

const ENTRY_RE = /^(\d{13,})-([0-9a-f]{32})$/;

/**
 * The previous versions of each listed file, in `stateDir/backups/<name>-<hash>/<ms>-<md5>`.
 * A version is kept as a hard link to the replaced inode when the folder is on the same
 * filesystem (no copy, nothing on the write's critical path but one link), else as an
 * fsynced copy. The newest `limit` distinct versions per file are kept.
 */
export class BackupStore {
  readonly #root: string;
  readonly #limit: number;
  /** The kept entries' file names per folder, oldest first, once read. */
  readonly #index = new Map<string, string[]>();
  readonly #folders = new Map<string, string>();
  /** Entries pruned but not yet removed: removal waits until the write in progress is done. */
  #drops: string[] = [];

  constructor(stateDir: string, limit: number) {
    this.#root = path.join(stateDir, 'backups');
    this.#limit = limit;
  }

  get enabled(): boolean {
    return this.#limit > 0;
  }

  /** The folder of one file's versions: readable, unique per name, at most ~120 characters. */
  folderFor(name: string): string {
    let dir = this.#folders.get(name);
    if (dir === undefined) {
      dir = this.#folderOf(name);
      this.#folders.set(name, dir);
    }
    return dir;
  }

  #folderOf(name: string): string {
    const readable = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(-80) || 'file';
    const hash = createHash('md5').update(name).digest('hex').slice(0, 12);
    return path.join(this.#root, `${readable}-${hash}`);
  }

  #entries(dir: string): string[] {
    let names = this.#index.get(dir);
    if (!names) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      names = readdirSync(dir).filter((n) => ENTRY_RE.test(n)).sort();
      this.#index.set(dir, names);
    }
    return names;
  }

  /**
   * Keeps the current content of `target` (which hashes to `md5`) before it is replaced.
   * Synchronous for a hard link or a small copy; a large copy returns a promise. Throws when
   * the version cannot be kept: the caller must then not replace the file.
   */
  keep(name: string, target: string, md5: Md5, size: number, now = Date.now()): void | Promise<void> {
    if (!this.enabled) return;
    const dir = this.folderFor(name);
    const names = this.#entries(dir);
    const entry = path.join(dir, `${String(now).padStart(13, '0')}-${md5}`);
    const done = () => this.#added(dir, names, path.basename(entry), md5);
    try {
      linkSync(target, entry);
      return done();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return done();
      // Another filesystem (or a mount boundary), or links not allowed here: copy instead.
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    }
    if (size <= SMALL_FILE_BYTES) {
      copyFileSync(target, entry);
      fsyncPath(entry);
      return done();
    }
    return (async () => {
      await copyFile(target, entry);
      const fh = await open(entry, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      done();
    })();
  }

  /**
   * Records a new entry; drops an older copy of the same version and the oldest beyond the
   * limit. The dropped entries are removed a moment later (`setImmediate`), after the rename
   * this backup was made for: unlinking a file's last link frees its blocks, which is not
   * work to do between a change's arrival and its bytes being on disk.
   */
  #added(dir: string, names: string[], added: string, md5: Md5): void {
    const before = this.#drops.length;
    const drop = (n: string) => this.#drops.push(path.join(dir, n));
    for (let i = names.length - 1; i >= 0; i--) {
      if (names[i] !== added && names[i]!.endsWith(md5)) drop(names.splice(i, 1)[0]!);
    }
    if (!names.includes(added)) names.push(added);
    while (names.length > this.#limit) drop(names.shift()!);
    if (before === 0 && this.#drops.length > 0) setImmediate(() => this.flush());
  }

  /** Removes the entries pruned so far (done by itself shortly after each keep). */
  flush(): void {
    const drops = this.#drops;
    this.#drops = [];
    for (const p of drops) {
      try {
        unlinkSync(p);
      } catch {
        // Removed by hand already.
      }
    }
  }

  /** The kept versions of a file, newest first, read from disk. */
  async list(name: string): Promise<KeptVersion[]> {
    this.flush();
    const dir = this.folderFor(name);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => ENTRY_RE.test(n)).sort().reverse();
    } catch {
      return [];
    }
    const out: KeptVersion[] = [];
    for (const n of names) {
      const m = ENTRY_RE.exec(n)!;
      const p = path.join(dir, n);
      try {
        const st = await stat(p);
        out.push({ md5: m[2]!, size: st.size, savedAt: new Date(Number(m[1])).toISOString(), path: p });
      } catch {
        // Pruned while listing.
      }
    }
    return out;
  }
}
