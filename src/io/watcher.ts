import { watch, type FSWatcher } from 'chokidar';
import path from 'node:path';

/**
 * Watches the parent folders of the listed files, and only the folders: an inotify watch on a
 * folder reports every write, truncation, rename-over (an editor's save) and delete+recreate
 * of the files in it, and chokidar passes each of those on as a raw event, unthrottled. Files
 * themselves are "ignored" so chokidar holds no watch, stat or timer per file (10,000 listed
 * files cost one watch per folder). Reports any event on a listed path through `onTouched`.
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
    const dirs = new Set([...this.#paths].map((p) => path.dirname(p)));
    const fsw = watch([...dirs], {
      ignoreInitial: true,
      depth: 0,
      atomic: false,
      persistent: true,
      ignored: (p: string) => !dirs.has(p),
    });
    this.#fsw = fsw;
    fsw.on('raw', (_event, name, details: unknown) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || !name) return;
      const p = path.join(watched, name);
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
