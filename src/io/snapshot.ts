import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Md5 } from '../core/types.js';

export interface Snapshot {
  readonly md5: Md5;
  readonly size: number;
  readonly mtimeMs: number;
  readonly data: Buffer;
}

/**
 * Files up to this size are read synchronously: one open, fstat and read on the main thread
 * costs a few microseconds, four thread-pool round trips cost far more than that (latency).
 */
export const SMALL_FILE_BYTES = 1024 * 1024;

export function md5Of(data: Uint8Array): Md5 {
  return createHash('md5').update(data).digest('hex');
}

const ABSENT = new Set(['ENOENT', 'EISDIR', 'ENOTDIR']);

/**
 * Reads a small file whole and hashes it, synchronously. Returns null when it does not exist
 * (or is not a regular file), `undefined` when it is too large for this path; other errors
 * (EACCES, EIO) are thrown.
 */
export function readSnapshotSync(file: string): Snapshot | null | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    if (st.size > SMALL_FILE_BYTES) return undefined;
    const data = readFileSync(fd);
    return { md5: md5Of(data), size: data.length, mtimeMs: st.mtimeMs, data };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a file whole and hashes it. Returns null when it does not exist (or is not a regular
 * file); other errors (EACCES, EIO) are thrown for the caller to record as a per-file problem.
 */
export async function readSnapshot(file: string): Promise<Snapshot | null> {
  const small = readSnapshotSync(file);
  if (small !== undefined) return small;
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
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
