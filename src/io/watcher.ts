import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

const REARM_MS = 1000;

/**
 * Watches the parent folders of the listed files, and only the folders, with one inotify watch
 * each (`fs.watch`): a folder's watch reports every write, truncation, rename-over (an
 * editor's save) and delete+recreate of the files in it. Reports any event on a listed path
 * through `onTouched`, synchronously from the event. A folder whose watch fails (removed,
 * EACCES) is watched again every second until it can be; meanwhile the node's stat sweep
 * covers its files.
 */
export class Watcher {
  readonly #byDir = new Map<string, Set<string>>();
  readonly #watches = new Map<string, FSWatcher>();
  readonly #rearm = new Map<string, NodeJS.Timeout>();
  readonly #onTouched: (file: string) => void;
  readonly #onError: (err: Error) => void;
  #closed = false;

  constructor(paths: Iterable<string>, onTouched: (file: string) => void, onError: (err: Error) => void) {
    for (const p of paths) {
      const dir = path.dirname(p);
      let names = this.#byDir.get(dir);
      if (!names) this.#byDir.set(dir, (names = new Set()));
      names.add(path.basename(p));
    }
    this.#onTouched = onTouched;
    this.#onError = onError;
  }

  async start(): Promise<void> {
    for (const dir of this.#byDir.keys()) this.#arm(dir, true);
  }

  #arm(dir: string, first: boolean): void {
    this.#rearm.delete(dir);
    if (this.#closed) return;
    const names = this.#byDir.get(dir)!;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: true }, (event, name) => {
        if (name !== null && names.has(name)) this.#onTouched(path.join(dir, name));
        // The folder itself was removed or moved (inotify names it by its own name; its inode
        // number may be reused at once, so it is not compared): its watch is dead, watch it again.
        if (event === 'rename' && name === path.basename(dir)) this.#lost(dir, 0);
      });
    } catch (err) {
      if (first) this.#onError(err as Error);
      this.#retry(dir);
      return;
    }
    this.#watches.set(dir, w);
    w.on('error', (err) => {
      this.#onError(err);
      this.#lost(dir);
    });
    // A watch re-armed after a failure may have missed changes: report every file once.
    if (!first) for (const n of names) this.#onTouched(path.join(dir, n));
  }

  #lost(dir: string, after = REARM_MS): void {
    this.#watches.get(dir)?.close();
    this.#watches.delete(dir);
    this.#retry(dir, after);
  }

  #retry(dir: string, after = REARM_MS): void {
    if (this.#closed || this.#rearm.has(dir)) return;
    this.#rearm.set(dir, setTimeout(() => this.#arm(dir, false), after));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#rearm.values()) clearTimeout(t);
    this.#rearm.clear();
    for (const w of this.#watches.values()) w.close();
    this.#watches.clear();
  }
}
