import { chmod, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Md5 } from '../core/types.js';
import { atomicWrite, isTempFor } from './atomic-write.js';

const MD5_RE = /^[0-9a-f]{32}$/;
/** The journal holds md5s of files others may not read (an md5 of a short secret can be guessed offline): only the node's user reads it. */
const JOURNAL_MODE = 0o600;
/** The mode of a state folder the node creates. */
const STATE_DIR_MODE = 0o700;

type Agreed = Record<string, Record<string, Md5>>;

/** Validates a parsed journal document; returns the agreed map or null when malformed. */
export function checkJournal(x: unknown, node: string): Agreed | null {
  if (typeof x !== 'object' || x === null) return null;
  const doc = x as { v?: unknown; node?: unknown; agreed?: unknown };
  if (doc.v !== 1 || doc.node !== node || typeof doc.agreed !== 'object' || doc.agreed === null) return null;
  const out: Agreed = {};
  for (const [peer, files] of Object.entries(doc.agreed as Record<string, unknown>)) {
    if (typeof files !== 'object' || files === null) return null;
    const m: Record<string, Md5> = {};
    for (const [name, md5] of Object.entries(files as Record<string, unknown>)) {
      if (typeof md5 !== 'string' || !MD5_RE.test(md5)) return null;
      m[name] = md5;
    }
    out[peer] = m;
  }
  return out;
}

/**
 * The last md5 this node and each peer agreed on, per file, kept in `stateDir`. Saves are
 * atomic and coalesced: a record starts a save at once, at most one write is in flight, and
 * the records made meanwhile go in the next. `durable()` says what is on disk: a node reports a
 * peer aligned only once their agreement is, so a crash right after never loses it.
 */
export class Journal {
  readonly file: string;
  #agreed: Agreed = {};
  #saving: Promise<void> | null = null;
  /** Records not on disk yet: made since the last save began, and those in the save under way. */
  #unsaved = new Set<string>();
  #inSave = new Set<string>();
  #onSaved: () => void = () => undefined;
  readonly #node: string;
  readonly #log: Logger;

  constructor(stateDir: string, node: string, log: Logger) {
    this.file = path.join(stateDir, `${node}.journal.json`);
    this.#node = node;
    this.#log = log;
  }

  /**
   * Loads the journal; a missing one is empty, a corrupt one is a warning and empty. Creates
   * the state folder 0700 when it is missing; one that exists and others may enter is a warning
   * (left as it is: it may be a folder shared with other programs), and the journal is made
   * 0600 if an older version left it readable. First removes the journal's own temp files that
   * a crash during a save left behind (stateDir is not among the listed files' folders that the
   * node cleans; other nodes' temps are left alone).
   */
  async load(): Promise<void> {
    const dir = path.dirname(this.file);
    const made = await mkdir(dir, { recursive: true, mode: STATE_DIR_MODE });
    if (made === undefined && ((await stat(dir)).mode & 0o077) !== 0) {
      this.#log.warn({ path: dir }, `the state folder is open to other users: chmod 700 ${dir} (it holds the journal and the backups)`);
    }
    const base = path.basename(this.file);
    for (const name of await readdir(dir)) {
      if (!isTempFor(name, base)) continue;
      const p = path.join(dir, name);
      try {
        await unlink(p);
        this.#log.info({ path: p }, 'removed a temp file left by a crash');
      } catch {
        // Gone already, or not ours to remove.
      }
    }
    let text: string;
    try {
      if (((await stat(this.file)).mode & 0o777) !== JOURNAL_MODE) await chmod(this.file, JOURNAL_MODE);
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Reported below as corrupt.
    }
    const agreed = checkJournal(parsed, this.#node);
    if (agreed === null) {
      this.#log.warn({ path: this.file }, 'journal is corrupt; starting without agreed versions');
      return;
    }
    this.#agreed = agreed;
  }

  agreed(peer: string, name: string): Md5 | null {
    return this.#agreed[peer]?.[name] ?? null;
  }

  /** Every agreement with `peer`: name → md5 (a copy). */
  agreedWith(peer: string): Record<string, Md5> {
    return { ...this.#agreed[peer] };
  }

  /** Whether this node and `peer` agreed on `md5` for `name`, and that agreement is on disk. */
  durable(peer: string, name: string, md5: Md5 | null): boolean {
    if (md5 === null || this.#agreed[peer]?.[name] !== md5) return false;
    if (this.#unsaved.size === 0 && this.#inSave.size === 0) return true;
    const key = `${peer}\0${name}`;
    return !this.#unsaved.has(key) && !this.#inSave.has(key);
  }

  /** `listener` hears of every save that made records durable. */
  onSaved(listener: () => void): void {
    this.#onSaved = listener;
  }

  record(peer: string, name: string, md5: Md5): void {
    const forPeer = (this.#agreed[peer] ??= {});
    if (forPeer[name] === md5) return;
    forPeer[name] = md5;
    this.#unsaved.add(`${peer}\0${name}`);
    if (!this.#saving) this.#saving = this.#saveLoop();
  }

  /** Resolves when everything recorded so far is on disk. */
  async flush(): Promise<void> {
    while (this.#saving) await this.#saving;
  }

  async #saveLoop(): Promise<void> {
    try {
      while (this.#unsaved.size > 0) {
        // The records of this turn go together; the write is off the main thread (never blocks a change).
        await new Promise((resolve) => setImmediate(resolve));
        this.#inSave = this.#unsaved;
        this.#unsaved = new Set();
        const doc = { v: 1, node: this.#node, agreed: this.#agreed };
        try {
          await atomicWrite(this.file, Buffer.from(JSON.stringify(doc)), { sync: false, createMode: JOURNAL_MODE });
        } catch (err) {
          // Not on disk: those agreements stay undurable (not shown aligned) until a save succeeds.
          for (const k of this.#inSave) this.#unsaved.add(k);
          this.#inSave = new Set();
          this.#log.error({ path: this.file, err: (err as Error).message }, 'journal save failed');
          return;
        }
        this.#inSave = new Set();
        this.#onSaved();
      }
    } finally {
      this.#saving = null;
    }
  }
}
