/**
 * The file watcher: chokidar 5, configured by measurement against the `fs.watch` watcher it
 * replaced (bench/README.md, "The watcher").
 *
 * chokidar watches each listed file itself, one inotify watch per file; `ignored` rejects
 * every other path, so it never watches a folder: a folder it watches is re-read (a readdir
 * and an lstat per entry) after each event, before the event is passed on, which made the
 * 1 KiB change ~0.5 ms slower at p50; on a file its listener only queues a stat first
 * (+0.06 ms from the write to the report; the 1 KiB p50 within noise of `fs.watch` in an
 * alternated A/B), at ~6 KiB of memory per file. Reports come from the `raw` event,
 * unthrottled; `atomic` off (it delays unlinks by 100 ms and ignores names like `*~`),
 * `awaitWriteFinish` off, `alwaysStat` off, `ignoreInitial`, `persistent`, no polling.
 *
 * chokidar follows a replaced file (rename-over) when its inode number changed, but its
 * listener skips the events within 5 ms of one it handled, a file made again often gets the
 * freed inode number back, it drops a deleted file, and each new watch loses the events still
 * queued for the old one. So each event is also checked against the file's inode and birth
 * time, and a file chokidar would not follow is unwatched and added again; each time a new
 * watch is in place (chokidar's `_addPathCloser`, the one internal relied on) the file is
 * reported once more; a missing file's folder is watched (another chokidar instance, the
 * folder alone) until the file is back, and a folder that cannot be watched is tried again
 * every second. One Watcher per file per process: chokidar shares a path's fs.watch between
 * its instances.
 *
 * A listed path that is a symbolic link is watched through it: the file's watch is on the
 * target (inotify follows the link), so an edit of the target made directly is seen like any
 * other; a rename-over of the target is followed as above. The link's folder is watched as
 * well (as a missing file's is), for a retarget of the link (`ln -sfn`) or its removal:
 * chokidar hands that folder's events on to the link's own listener, which watches the new
 * target. While the link reaches no file (dangling), the folder of the path it points at is
 * watched too, until that file is there.
 */
import { FSWatcher, type ChokidarOptions } from 'chokidar';
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { TargetFolders } from './target-folders.js';
import { mark } from '../trace.js';

/** chokidar's listener for a watched file skips the events within 5 ms of one it handled. */
const CHOKIDAR_LISTENER_MS = 5;
const RETRY_MS = 1000;

/** chokidar's options for every watch of the node (the bench's bare pipeline uses them too). */
export const WATCH_OPTIONS: Readonly<ChokidarOptions> = {
  persistent: true,
  ignoreInitial: true,
  usePolling: false,
  atomic: false,
  alwaysStat: false,
  awaitWriteFinish: false,
  depth: 0,
};

/**
 * `pending` until chokidar first watches it; `watched`; `renewing` while it is unwatched and
 * added again (chokidar would not follow its new file); `absent`: missing, its folder is
 * watched until it is back.
 */
type State = 'pending' | 'watched' | 'renewing' | 'absent';

interface Track {
  readonly path: string;
  readonly key: string;
  readonly dir: string;
  state: State;
  ino: number;
  born: number;
  /** chokidar's stats of the file just before it first watches it. */
  seen: Stats | null;
  /** Mirror of chokidar's 5 ms throttle of the file's listener (see `#skipped`). */
  throttled: boolean;
  throttle: NodeJS.Timeout | null;
  /** Set while a new watch is awaited: chokidar's listener is to follow a new file, or `renewing`. */
  retry: NodeJS.Timeout | null;
  /** When the listed path is a symbolic link: the path it resolves to (dangling: the one it points at). */
  link: string | null;
}

interface Folder {
  readonly w: FSWatcher;
  readonly tried: Promise<void>;
  readonly settle: () => void;
}

/** The file at `p` (symlinks followed, like chokidar), undefined when there is no file to watch. */
function statOf(p: string): Stats | undefined {
  try {
    const st = statSync(p, { throwIfNoEntry: false });
    return st?.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/**
 * chokidar's FSWatcher that tells each time it has put a new watch in place for a path: after
 * its first stat of the path, and each time its listener follows a replaced file. Both end in
 * `_addPathCloser`, right after the fs.watch is made.
 */
class FileWatcher extends FSWatcher {
  readonly #onWatch: (p: string) => void;

  constructor(opts: ChokidarOptions, onWatch: (p: string) => void) {
    super(opts);
    this.#onWatch = onWatch;
  }

  override _addPathCloser(p: string, closer: () => void): void {
    super._addPathCloser(p, closer);
    this.#onWatch(p);
  }
}

/**
 * Reports every change of the listed files (writes, truncations, rename-over saves, deletions,
 * re-creations) through `onTouched`, synchronously from the event; the caller re-reads the file.
 */
export class Watcher {
  readonly #byKey = new Map<string, Track>();
  readonly #byDir = new Map<string, Track[]>();
  readonly #targets = new TargetFolders<Track>();
  readonly #folders = new Map<string, Folder>();
  readonly #rearm = new Map<string, NodeJS.Timeout>();
  readonly #erred = new Set<string>();
  readonly #onTouched: (file: string) => void;
  readonly #onError: (err: Error) => void;
  #files: FileWatcher | null = null;
  #started: (() => void) | null = null;
  #closed = false;

  /** `paths`: the listed files; `onTouched` gets each one as given, `onError` what cannot be watched. */
  constructor(paths: Iterable<string>, onTouched: (file: string) => void, onError: (err: Error) => void) {
    for (const p of paths) {
      const key = path.resolve(p);
      if (this.#byKey.has(key)) continue;
      const dir = path.dirname(key);
      const t: Track = { path: p, key, dir, state: 'pending', ino: -1, born: -1, seen: null, throttled: false, throttle: null, retry: null, link: null };
      this.#byKey.set(key, t);
      const same = this.#byDir.get(dir);
      if (same) same.push(t);
      else this.#byDir.set(dir, [t]);
    }
    this.#onTouched = onTouched;
    this.#onError = onError;
  }

  /** Resolves once every listed file that exists is watched and the folders of the others were tried once. */
  async start(): Promise<void> {
    if (this.#byKey.size === 0 || this.#files || this.#closed) return;
    const opts = { ...WATCH_OPTIONS, ignored: (p: string, stats?: Stats) => this.#ignored(p, stats) };
    const files = new FileWatcher(opts, (p) => this.#guard(() => this.#watching(p)));
    this.#files = files;
    for (const t of this.#byKey.values()) this.#targets.relink(t);
    files.on('raw', (_event, _name, details) => {
      mark('watched');
      this.#guard(() => this.#onFileEvent(details));
    });
    files.on('unlink', (p) => this.#guard(() => this.#onUnlink(p)));
    files.on('error', (err) => this.#guard(() => this.#onError(err as Error)));
    const ready = new Promise<void>((resolve) => {
      this.#started = resolve;
      files.once('ready', () => resolve());
    });
    files.add([...this.#byKey.keys()]);
    await ready;
    this.#started = null;
    if (this.#closed) return;
    for (const t of this.#byKey.values()) if (t.state === 'pending') this.#guard(() => this.#lose(t));
    for (const t of this.#byKey.values()) if (t.link !== null) this.#guard(() => this.#review(t.dir));
    await Promise.all([...this.#folders.values()].map((f) => f.tried));
  }

  /** Stops every watch and timer; nothing is reported afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#started?.();
    for (const timer of this.#rearm.values()) clearTimeout(timer);
    this.#rearm.clear();
    for (const t of this.#byKey.values()) {
      if (t.throttle) clearTimeout(t.throttle);
      this.#settled(t);
    }
    const closing = [...this.#folders.keys()].map((dir) => this.#drop(dir));
    if (this.#files) closing.push(this.#files.close());
    this.#files = null;
    await Promise.all(closing);
  }

  #guard(fn: () => void): void {
    if (this.#closed) return;
    try {
      fn();
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  /** chokidar's filter: the listed paths, and only files (no folder watch, no re-read). */
  #ignored(p: string, stats: Stats | undefined): boolean {
    const t = this.#byKey.get(p);
    if (!t) return true;
    if (!stats) return false;
    if (!stats.isFile()) return true;
    if (t.state === 'pending') t.seen = stats;
    return false;
  }

  #watching(p: string): void {
    const t = this.#byKey.get(p);
    if (!t) return;
    if (t.state === 'pending') {
      const st = t.seen ?? statOf(t.key);
      t.seen = null;
      if (st) [t.ino, t.born, t.state] = [st.ino, st.birthtimeMs, 'watched'];
      return;
    }
    const st = statOf(t.key);
    if (!st) return this.#lose(t);
    const was = t.state;
    [t.ino, t.born, t.state] = [st.ino, st.birthtimeMs, 'watched'];
    this.#settled(t);
    this.#onTouched(t.path);
    // A file made a link (or a link made a file) since: its folder is watched, or no more.
    const before = this.#targets.relink(t);
    if (was === 'absent' || before !== t.link) this.#reviewAround(t, before);
  }

  #onFileEvent(details: unknown): void {
    const t = this.#byKey.get((details as { watchedPath?: string } | undefined)?.watchedPath ?? '');
    if (t) this.#fileEvent(t);
  }

  /** An event on a listed file (or, for a link, in the link's folder naming it). */
  #fileEvent(t: Track): void {
    this.#onTouched(t.path);
    const skipped = this.#skipped(t);
    if (t.state !== 'watched') return;
    const st = statOf(t.key);
    if (!st) return this.#lose(t);
    const sameIno = st.ino === t.ino;
    if (sameIno && st.birthtimeMs === t.born) return;
    [t.ino, t.born] = [st.ino, st.birthtimeMs];
    // Unless it skipped this event, chokidar's listener stats the file and watches it again
    // when its inode number changed; that new watch is awaited, for a second at most.
    if (skipped || sameIno) this.#renew(t);
    else this.#await(t);
  }

  /**
   * Whether chokidar's listener skipped this event: mirrors its throttle, armed in the same
   * callback just after it, so with the same start time it expires just after it.
   */
  #skipped(t: Track): boolean {
    if (t.throttled) return true;
    t.throttled = true;
    if (t.throttle) t.throttle.refresh();
    else t.throttle = setTimeout(() => (t.throttled = false), CHOKIDAR_LISTENER_MS);
    return false;
  }

  #onUnlink(p: string): void {
    const t = this.#byKey.get(p);
    if (!t || t.state !== 'watched') return;
    if (statOf(t.key)) this.#renew(t);
    else this.#lose(t);
  }

  #renew(t: Track): void {
    t.state = 'renewing';
    this.#readd(t);
    this.#await(t);
  }

  #await(t: Track): void {
    if (t.retry) t.retry.refresh();
    else t.retry = setTimeout(() => this.#guard(() => this.#unanswered(t)), RETRY_MS);
  }

  #settled(t: Track): void {
    if (t.retry) clearTimeout(t.retry);
    t.retry = null;
  }

  /** No new watch within a second: the file went away before chokidar's stat, or it did not follow. */
  #unanswered(t: Track): void {
    t.retry = null;
    if (t.state === 'absent') return;
    if (statOf(t.key)) this.#renew(t);
    else this.#lose(t);
  }

  #readd(t: Track): void {
    this.#files!.unwatch(t.key);
    this.#files!.add(t.key);
  }

  #lose(t: Track): void {
    if (t.state === 'absent') return;
    const watched = t.state !== 'pending';
    t.state = 'absent';
    this.#settled(t);
    if (watched) {
      this.#files!.unwatch(t.key);
      this.#onTouched(t.path);
    }
    // Needed now (it is missing): watched unless it is already, without a look at its other files.
    const before = this.#targets.relink(t);
    this.#coverOnce(t.dir);
    if (t.link !== null) this.#coverOnce(path.dirname(t.link));
    if (before !== null && before !== t.link) this.#review(path.dirname(before));
  }

  #coverOnce(dir: string): void {
    if (!this.#folders.has(dir) && !this.#rearm.has(dir)) this.#cover(dir);
  }

  /** Covers or uncovers the folders `t` may need watched: its own, and its link's target's (before and now). */
  #reviewAround(t: Track, before: string | null): void {
    const dirs = new Set([t.dir]);
    if (before !== null) dirs.add(path.dirname(before));
    if (t.link !== null) dirs.add(path.dirname(t.link));
    for (const dir of dirs) this.#review(dir);
  }

  /**
   * Whether `dir` must be watched: a listed file in it is missing or is a link (for its
   * retarget), or a missing listed link resolves into it (for its target to appear).
   */
  #needs(dir: string): boolean {
    if (this.#byDir.get(dir)?.some((t) => t.state === 'absent' || t.link !== null)) return true;
    return this.#targets.in(dir).some((t) => t.state === 'absent');
  }

  #review(dir: string): void {
    if (!this.#needs(dir)) this.#uncover(dir);
    else this.#coverOnce(dir);
  }

  /** The listed files a watch on `dir` is for: those in it, and the links resolving into it. */
  #tracksIn(dir: string): Track[] {
    return [...(this.#byDir.get(dir) ?? []), ...this.#targets.in(dir)];
  }

  /** A missing listed file that may be back: reported, and watched again (a link first looked at again). */
  #reappear(t: Track): void {
    this.#onTouched(t.path);
    const before = this.#targets.relink(t);
    if (before !== t.link) this.#reviewAround(t, before);
    this.#readd(t);
  }

  #cover(dir: string): void {
    this.#rearm.delete(dir);
    if (this.#closed || !this.#needs(dir)) return;
    const w = new FSWatcher({ ...WATCH_OPTIONS, ignored: (p: string) => p !== dir });
    let settle!: () => void;
    const tried = new Promise<void>((resolve) => (settle = resolve));
    this.#folders.set(dir, { w, tried, settle });
    w.on('raw', (event, name) => this.#guard(() => this.#onFolderEvent(dir, w, event, name)));
    w.on('error', (err) => this.#guard(() => this.#folderError(dir, err as Error)));
    w.once('ready', () => {
      this.#guard(() => this.#covered(dir, w));
      settle();
    });
    w.add(dir);
  }

  #covered(dir: string, w: FSWatcher): void {
    if (this.#folders.get(dir)?.w !== w) return;
    if (!(dir in w.getWatched())) {
      void this.#drop(dir);
      this.#rearm.set(dir, setTimeout(() => this.#guard(() => this.#cover(dir)), RETRY_MS));
      return;
    }
    this.#erred.delete(dir);
    for (const t of new Set(this.#tracksIn(dir))) if (t.state === 'absent' && statOf(t.key)) this.#reappear(t);
  }

  #onFolderEvent(dir: string, w: FSWatcher, event: string, name: string): void {
    if (this.#folders.get(dir)?.w !== w) return;
    const full = name ? path.join(dir, name) : '';
    const t = name ? this.#byKey.get(full) : undefined;
    if (t?.state === 'absent') {
      this.#reappear(t);
    } else if (t?.link != null && t.state === 'watched') {
      // The link itself replaced (retargeted) or removed: chokidar hands this event on to the
      // link's listener (its stat finds the new target's inode, and it watches that), as here.
      this.#fileEvent(t);
    } else if (t) {
      // chokidar hands the folder's event on to the file's listener after this one returns.
      queueMicrotask(() => this.#guard(() => void this.#skipped(t)));
    }
    // The file a missing link points at, made in this folder.
    for (const u of this.#targets.in(dir)) if (u !== t && u.state === 'absent' && u.link === full) this.#reappear(u);
    // The folder itself removed or moved (inotify names it by its own name): watch it again.
    if (event === 'rename' && name === path.basename(dir)) {
      void this.#drop(dir);
      this.#cover(dir);
    }
  }

  #folderError(dir: string, err: Error): void {
    if (this.#erred.has(dir)) return;
    this.#erred.add(dir);
    this.#onError(err);
  }

  #uncover(dir: string): void {
    if (this.#needs(dir)) return;
    void this.#drop(dir);
    const timer = this.#rearm.get(dir);
    if (timer) clearTimeout(timer);
    this.#rearm.delete(dir);
  }

  #drop(dir: string): Promise<void> {
    const f = this.#folders.get(dir);
    if (!f) return Promise.resolve();
    this.#folders.delete(dir);
    f.settle();
    return f.w.close();
  }
}
