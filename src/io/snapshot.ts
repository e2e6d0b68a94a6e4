import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Md5 } from '../core/types.js';

export interface Snapshot {
  readonly md5: Md5;
  readonly size: number;
  readonly mtimeMs: number;
  readonly data: Buffer;
}

export function md5Of(data: Uint8Array): Md5 {
  return createHash('md5').update(data).digest('hex');
}

/**
 * Reads a file whole and hashes it. Returns null when it does not exist (or is not a regular
 * file); other errors (EACCES, EIO) are thrown for the caller to record as a per-file problem.
 */
export async function readSnapshot(file: string): Promise<Snapshot | null> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null;
    throw err;
  }
  let mtimeMs = Date.now();
  try {
    mtimeMs = (await stat(file)).mtimeMs;
  } catch {
    // RACE: removed between read and stat; the watcher reports the removal next.
  }
  return { md5: md5Of(data), size: data.length, mtimeMs, data };
}
