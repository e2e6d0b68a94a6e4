/**
 * Tells, from outside the daemons, when files in a folder hold given bytes: inotify (fs.watch on
 * the folder) triggers a check at once, and a polling fallback re-checks every `pollMs` in case an
 * event was missed. A check is a stat; the file is hashed only when its stat changed since the
 * last hash and its size is the wanted one, so the fallback costs the daemons next to nothing.
 * The time reported is when the matching check began (the moment the bytes were seen there),
 * so the time spent hashing is not counted.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { markAt } from '../src/trace.js';

const SETTLED_NS = 50_000_000n;
const CHUNK = Buffer.allocUnsafe(4 * 1024 * 1024);

/** md5 of a file read in 4 MiB chunks (no whole-file buffer, even for 1 GiB); null when unreadable. */
export function hashFileSync(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const h = createHash('md5');
    for (;;) {
      const n = readSync(fd, CHUNK, 0, CHUNK.length, null);
      if (n === 0) break;
      h.update(CHUNK.subarray(0, n));
    }
    return h.digest('hex');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

interface Want {
  md5: string;
  size: number;
  resolve: (t: number) => void;
}

export class FolderWatch {
  /** How the matches were seen: through an inotify event or by the polling fallback. */
  readonly seen = { watch: 0, poll: 0 };
  readonly #dir: string;
  readonly #pollMs: number;
  readonly #fsw: FSWatcher | null;
  readonly #wants = new Map<string, Want>();
  readonly #hashed = new Map<string, { sig: string; md5: string | null }>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(dir: string, pollMs: number) {
    this.#dir = dir;
    this.#pollMs = pollMs;
    let fsw: FSWatcher | null = null;
    try {
      fsw = watch(dir, { persistent: false }, (_event, filename) => this.#onEvent(filename));
      fsw.on('error', () => undefined);
    } catch {
      fsw = null; // no inotify: the polling fallback alone
    }
    this.#fsw = fsw;
  }

  /** Resolves with performance.now() at the check that found `name` holding bytes of this md5 and size. */
  expect(name: string, md5: string, size: number): Promise<number> {
    return new Promise<number>((resolve) => {
      this.#wants.set(name, { md5, size, resolve });
      this.#schedule();
    });
  }

  /** Hashes these files now, so the checks during the measurement only stat the unchanged ones. */
  prime(names: Iterable<string>): void {
    for (const name of names) this.#hash(name);
  }

  /** How many expected files have not arrived yet. */
  get pending(): number {
    return this.#wants.size;
  }

  close(): void {
    this.#closed = true;
    this.#fsw?.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#wants.clear();
  }

  #onEvent(filename: string | Buffer | null): void {
    if (this.#closed) return;
    if (filename === null) {
      for (const name of [...this.#wants.keys()]) this.#check(name, 'watch');
      return;
    }
    const name = filename.toString();
    if (this.#wants.has(name)) this.#check(name, 'watch');
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      for (const name of [...this.#wants.keys()]) this.#check(name, 'poll');
      if (this.#wants.size > 0) this.#schedule();
    }, this.#pollMs);
  }

  #check(name: string, via: 'watch' | 'poll'): void {
    const want = this.#wants.get(name);
    if (!want) return;
    const t = performance.now();
    const st = statSync(path.join(this.#dir, name), { bigint: true, throwIfNoEntry: false });
    if (!st || Number(st.size) !== want.size) return;
    if (this.#hash(name, st) !== want.md5) return;
    this.#wants.delete(name);
    this.seen[via]++;
    markAt(t, 'arrived');
    want.resolve(t);
  }

  /** The file's md5, from the cache when its stat has not changed since it was hashed settled. */
  #hash(name: string, st = statSync(path.join(this.#dir, name), { bigint: true, throwIfNoEntry: false })): string | null {
    if (!st) return null;
    const file = path.join(this.#dir, name);
    const sig = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    let cached = this.#hashed.get(name);
    if (cached?.sig !== sig) {
      cached = { sig, md5: hashFileSync(file) };
      // Timestamps are coarse (a jiffy): a file changed in place within the last moment could
      // change again under the same stat, so only a settled file's hash is reused.
      const settled = BigInt(Date.now()) * 1_000_000n - st.ctimeNs > SETTLED_NS;
      if (settled) this.#hashed.set(name, cached);
      else this.#hashed.delete(name);
    }
    return cached.md5;
  }
}
