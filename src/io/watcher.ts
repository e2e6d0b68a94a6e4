import { watch, type FSWatcher } from 'chokidar';
import path from 'node:path';

/**
 * Watches the parent folders of the listed files (so a save by rename, or delete and recreate,
 * is still seen) and reports any event on a listed path through `onTouched`.
 */
export class Watcher {
  #fsw: FSWatcher | null = null;
  readonly #paths: ReadonlySet<string>;
  readonly #onTouched: (file: string) => void;
  readonly #onError: (err: Error) => void;

  constructor(paths: Iterable<string>, onTouched: (file: string) => void, onError: (err: Error) => void) {
    this.#paths = new Set(paths);
    this.#onTouched = onTouched;
    this.#onError = onError;
  }

  async start(): Promise<void> {
    const dirs = [...new Set([...this.#paths].map((p) => path.dirname(p)))];
    const dirSet = new Set(dirs);
    const fsw = watch(dirs, {
      ignoreInitial: true,
      depth: 0,
      atomic: false,
      persistent: true,
      ignored: (p: string) => !dirSet.has(p) && !this.#paths.has(p),
    });
    this.#fsw = fsw;
    fsw.on('all', (_event, p) => {
      if (this.#paths.has(p)) this.#onTouched(p);
    });
    // chokidar throttles and stat-filters its own events: it swallows the later writes of a
    // burst and sometimes a save by rename. Its raw fs.watch events miss nothing; use them too.
    fsw.on('raw', (_event, name, details: unknown) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || !name) return;
      const p = this.#paths.has(watched) ? watched : path.join(watched, name);
      if (this.#paths.has(p)) this.#onTouched(p);
    });
    fsw.on('error', (err) => this.#onError(err as Error));
    await new Promise<void>((resolve) => fsw.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    await this.#fsw?.close();
    this.#fsw = null;
  }
}
