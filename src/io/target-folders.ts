import path from 'node:path';
import { inspectPath } from './link.js';

/** A watched listed path: `key` its absolute path, `link` where it leads when it is a symbolic link. */
export interface Linkable {
  readonly key: string;
  link: string | null;
}

/**
 * The watcher's index of listed symbolic links by the folder of the path each resolves to (a
 * dangling one: the path it points at), so that a file made there is matched to its link.
 */
export class TargetFolders<T extends Linkable> {
  readonly #byDir = new Map<string, Set<T>>();

  /**
   * Looks again at where `t` leads (an lstat; a realpath for a link), sets `t.link` and files it
   * under that folder; returns what `t.link` was before. A path that cannot be looked at (EACCES) counts as no link.
   */
  relink(t: T): string | null {
    const before = t.link;
    let link: string | null = null;
    try {
      const shape = inspectPath(t.key);
      link = shape.kind === 'link' ? shape.target : null;
    } catch {
      // Watched as a file; its read reports the problem.
    }
    if (link === before) return before;
    if (before !== null) {
      const set = this.#byDir.get(path.dirname(before));
      set?.delete(t);
      if (set?.size === 0) this.#byDir.delete(path.dirname(before));
    }
    t.link = link;
    if (link !== null) {
      const set = this.#byDir.get(path.dirname(link));
      if (set) set.add(t);
      else this.#byDir.set(path.dirname(link), new Set([t]));
    }
    return before;
  }

  /** The links resolving into `dir` (a copy: safe to relink while going through it). */
  in(dir: string): T[] {
    return [...(this.#byDir.get(dir) ?? [])];
  }
}
