import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { chmod, copyFile, open, readdir, stat } from 'node:fs/promises';
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

/** A file's key (see keyFor), and one version of it: `<ms>-<md5>`, the time padded to 13 digits. */
const KEY = '[A-Za-z0-9._-]+-[0-9a-f]{12}';
const VERSION = '(\\d{13,})-([0-9a-f]{32})';
/** The backups folder's mode, and its entries': kept versions of root-only files stay root-only. */
const DIR_MODE = 0o700;
const ENTRY_MODE = 0o600;
const MY_UID = process.getuid?.();

/** `<key>@<ms>-<md5>`: the key names the file, the rest the version. */
const ENTRY_RE = new RegExp(`^(${KEY})@${VERSION}$`);
/** An entry of the earlier layout, one folder per file: `backups/<key>/<ms>-<md5>`. */
const OLD_ENTRY_RE = new RegExp(`^${VERSION}$`);
const KEY_RE = new RegExp(`^${KEY}$`);

/**
 * The previous versions of each listed file, in one folder: `stateDir/backups/<key>@<ms>-<md5>`,
 * with `<key>` the file's cluster name made readable plus a hash of it. One folder for all files,
 * so keeping the first version of a file costs a `link`, not a `mkdir` as well. A version is kept
 * as a hard link to the replaced inode when the folder is on the same filesystem (no copy), else
 * as an fsynced copy. The newest `limit` distinct versions per file are kept.
 */
export class BackupStore {
  readonly #root: string;
  #limit: number;
  /** The kept entries' names per key, oldest first; read from disk once, by load(). */
  #index: Map<string, string[]> | null = null;
  readonly #keys = new Map<string, string>();
  /** Entries pruned but not yet removed: removal waits until the write in progress is done. */
  #drops: string[] = [];
  /** Entries kept as hard links, to be made 0600 once the rename has left them the only name of their inode. */
  #loose: string[] = [];
  #flushQueued = false;

  constructor(stateDir: string, limit: number) {
    this.#root = path.join(stateDir, 'backups');
    this.#limit = limit;
  }

  /**
   * A reload's `backups`: from the next write on, that many versions are kept (a store turned
   * on is loaded first; fewer kept are pruned at each file's next backup). Throws like load().
   */
  setLimit(limit: number): void {
    this.#limit = limit;
    this.load();
  }

  get enabled(): boolean {
    return this.#limit > 0;
  }

  /** The folder the kept versions are in. */
  get root(): string {
    return this.#root;
  }

  /**
   * Whether keeping the current content of `target` would copy it (the backups folder is on
   * another filesystem, or a hard link to it is not allowed to this user) rather than link it:
   * a copy needs room there. False when backups are off or `target` is absent.
   */
  copies(target: string): boolean {
    if (!this.enabled) return false;
    let st;
    try {
      st = statSync(target);
    } catch {
      return false;
    }
    try {
      if (statSync(this.#root).dev !== st.dev) return true;
    } catch {
      return true;
    }
    // fs.protected_hardlinks: a user other than root may link only its own files.
    return MY_UID !== undefined && MY_UID !== 0 && st.uid !== MY_UID;
  }

  /** The prefix of one file's entries: readable, unique per name, at most ~93 characters. */
  keyFor(name: string): string {
    let key = this.#keys.get(name);
    if (key === undefined) {
      const readable = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(-80) || 'file';
      key = `${readable}-${createHash('md5').update(name).digest('hex').slice(0, 12)}`;
      this.#keys.set(name, key);
    }
    return key;
  }

  /**
   * Creates the folder and reads what it holds (moving entries of the older one-folder-per-file
   * layout into it). Called at start, so that no change pays for it; runs by itself otherwise.
   */
  load(): void {
    if (this.#index || !this.enabled) return;
    mkdirSync(this.#root, { recursive: true, mode: DIR_MODE });
    // The folder is the node's own (made by it): made private if an older version left it open.
    if ((lstatSync(this.#root).mode & 0o777) !== DIR_MODE) chmodSync(this.#root, DIR_MODE);
    const index = new Map<string, string[]>();
    for (const ent of readdirSync(this.#root, { withFileTypes: true })) {
      if (ent.isDirectory() && KEY_RE.test(ent.name)) {
        this.#migrate(ent.name, index);
        continue;
      }
      const m = ENTRY_RE.exec(ent.name);
      if (m) this.#listOf(index, m[1]!).push(ent.name);
    }
    // One key's names differ only after `<key>@`, in the padded time: text order is time order.
    for (const names of index.values()) names.sort();
    this.#index = index;
  }

  #listOf(index: Map<string, string[]>, key: string): string[] {
    let names = index.get(key);
    if (!names) index.set(key, (names = []));
    return names;
  }

  #migrate(key: string, index: Map<string, string[]>): void {
    const dir = path.join(this.#root, key);
    for (const n of readdirSync(dir)) {
      if (!OLD_ENTRY_RE.test(n)) continue;
      const flat = `${key}@${n}`;
      renameSync(path.join(dir, n), path.join(this.#root, flat));
      this.#listOf(index, key).push(flat);
    }
    try {
      rmdirSync(dir);
    } catch {
      // Something else is in there: leave it.
    }
  }

  /**
   * Keeps the current content of `target` (which hashes to `md5`) before it is replaced.
   * Synchronous for a hard link or a small copy; a large copy returns a promise. Throws when
   * the version cannot be kept: the caller must then not replace the file.
   */
  keep(name: string, target: string, md5: Md5, size: number, now = Date.now()): void | Promise<void> {
    if (!this.enabled) return;
    this.load();
    const key = this.keyFor(name);
    const names = this.#listOf(this.#index!, key);
    const entry = path.join(this.#root, `${key}@${String(now).padStart(13, '0')}-${md5}`);
    const done = () => this.#added(names, path.basename(entry), md5);
    try {
      linkSync(target, entry);
      this.#loose.push(entry);
      return done();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return done();
      // Another filesystem (or a mount boundary), or links not allowed here: copy instead.
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    }
    if (size <= SMALL_FILE_BYTES) {
      copyFileSync(target, entry);
      chmodSync(entry, ENTRY_MODE);
      fsyncPath(entry);
      return done();
    }
    return (async () => {
      await copyFile(target, entry);
      await chmod(entry, ENTRY_MODE);
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
  #added(names: string[], added: string, md5: Md5): void {
    const before = this.#drops.length;
    const drop = (n: string) => this.#drops.push(path.join(this.#root, n));
    for (let i = names.length - 1; i >= 0; i--) {
      if (names[i] !== added && names[i]!.endsWith(md5)) drop(names.splice(i, 1)[0]!);
    }
    if (!names.includes(added)) names.push(added);
    while (names.length > this.#limit) drop(names.shift()!);
    if (this.#drops.length > before || this.#loose.length > 0) this.#schedule();
  }

  #schedule(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => this.flush());
  }

  /**
   * Removes the entries pruned so far, and makes the hard-linked ones 0600 (done by itself
   * shortly after each keep, once its rename is done). A hard link shares its inode's mode, so
   * an entry is tightened only once it is that inode's only name (the listed file renamed away
   * from it); one that still has another name elsewhere keeps that file's mode, inside the
   * 0700 folder.
   */
  flush(): void {
    this.#flushQueued = false;
    const loose = this.#loose;
    this.#loose = [];
    for (const p of loose) {
      try {
        const st = lstatSync(p);
        if (st.nlink === 1 && (st.mode & 0o777) !== ENTRY_MODE) chmodSync(p, ENTRY_MODE);
        // The rename has not happened yet (or failed): looked at again after the next keep.
        else if (st.nlink > 1) this.#loose.push(p);
      } catch {
        // Pruned or removed by hand.
      }
    }
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
    const key = this.keyFor(name);
    let names: string[];
    try {
      names = (await readdir(this.#root)).filter((n) => n.startsWith(`${key}@`) && ENTRY_RE.test(n)).sort().reverse();
    } catch {
      return [];
    }
    const out: KeptVersion[] = [];
    for (const n of names) {
      const m = ENTRY_RE.exec(n)!;
      const p = path.join(this.#root, n);
      try {
        const st = await stat(p);
        out.push({ md5: m[3]!, size: st.size, savedAt: new Date(Number(m[2])).toISOString(), path: p });
      } catch {
        // Pruned while listing.
      }
    }
    return out;
  }
}

