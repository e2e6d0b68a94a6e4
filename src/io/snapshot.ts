import { createHash, hash as oneShotHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Md5 } from '../core/types.js';

export interface Snapshot {
  readonly md5: Md5;
  readonly size: number;
  readonly mtimeMs: number;
  /** The bytes for a small file; null for a larger one (hashed while streaming, never held). */
  readonly data: Buffer | null;
  /**
   * Identity of what was read: inode, size, mtime and ctime in nanoseconds; 'moving' when the
   * file changed while it was read (its size moved under a small read, its identity under a large one).
   */
  readonly sig: string;
  /**
   * The file's ctime was already 20 ms old (SETTLED_NS) when the read began, so any later change to it
   * gets another ctime (timestamps come from a coarse clock: a change within the same tick as
   * the last one may keep its ctime). While `sig` is unchanged, this md5 is the file's.
   */
  readonly settled: boolean;
}

/** Twice the coarsest kernel clock tick (HZ=100). */
const SETTLED_NS = 20_000_000n;

/**
 * Files up to this size are read whole and synchronously: one open, fstat and read on the main
 * thread costs microseconds, thread-pool round trips cost far more (latency). Larger files are
 * streamed through the hash and never held in memory.
 */
export const SMALL_FILE_BYTES = 1024 * 1024;
const STREAM_CHUNK = 1024 * 1024;
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

/** One call into OpenSSL, no Hash object to build (crypto.hash: 1.5 µs against createHash's 2.1 µs for 1 KiB, in a loop). */
export function md5Of(data: Uint8Array): Md5 {
  return oneShotHash('md5', data, 'hex');
}

/** Identity of a file as read: inode, size, mtime and ctime in nanoseconds. */
export function sigOf(st: Pick<BigIntStats, 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The identity of the file at `file` now (one synchronous stat), or 'absent'. */
export function statSig(file: string): string {
  try {
    return sigOf(statSync(file, { bigint: true }));
  } catch {
    return 'absent';
  }
}

const ABSENT = new Set(['ENOENT', 'EISDIR', 'ENOTDIR']);

/**
 * Reads a small file whole and hashes it, synchronously. Returns null when it does not exist
 * (or is not a regular file), `undefined` when it is too large for this path; other errors
 * (EACCES, EIO) are thrown.
 */
export function readSnapshotSync(file: string): Snapshot | null | undefined {
  // The wall clock, not a monotonic one: it is compared with the file's ctime, which the kernel takes from the wall clock.
  const began = BigInt(Date.now()) * 1_000_000n;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) return null;
    if (st.size > BigInt(SMALL_FILE_BYTES)) return undefined;
    const size = Number(st.size);
    // Read to the end, but never past the small-file limit: a file that grows while we read it
    // (a writer still writing) is not small any more. Reads go to one scratch buffer, so a
    // read makes one allocation (the copy handed out), not a large one for every look.
    let buf = size + 4096 <= SCRATCH.length ? SCRATCH : Buffer.allocUnsafe(Math.min(size + 4096, SMALL_FILE_BYTES + 1));
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > SMALL_FILE_BYTES) return undefined;
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, SMALL_FILE_BYTES + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const want = buf.length - got;
      const n = readSync(fd, buf, got, want, got);
      if (n === 0) break;
      got += n;
      // Short, with all the bytes the fstat counted: the end (no second read to see a 0). A short
      // read before that (a file shrinking, or a filesystem that returns less) reads on.
      if (n < want && got >= size) break;
    }
    // Only the scratch buffer's bytes must be copied out; a buffer of the file's own is handed on.
    const data = buf === SCRATCH ? Buffer.from(buf.subarray(0, got)) : buf.subarray(0, got);
    // Other than the size the fstat counted: the file grew or shrank while it was read (no second
    // fstat: this is the hot path; a rewrite of the same size during the read is not seen here, and
    // the watcher event it makes reads the file again).
    const sig = got === size ? sigOf(st) : 'moving';
    return { md5: md5Of(data), size: data.length, mtimeMs: Number(st.mtimeMs), data, sig, settled: began - st.ctimeNs > SETTLED_NS };
  } finally {
    closeSync(fd);
  }
}

/** A previous hash of a file, reused while its signature is unchanged (see Snapshot.settled). */
export interface HashCache {
  sig: string;
  md5: Md5;
}

/**
 * Reads and hashes a file. Small files come with their bytes; larger ones are streamed through
 * md5 (or, when `cache` has the same signature, not read at all) and come without. Returns null
 * when the file does not exist; other errors (EACCES, EIO) are thrown.
 */
export async function readSnapshot(file: string, cache?: HashCache | null): Promise<Snapshot | null> {
  for (;;) {
    const small = readSnapshotSync(file);
    if (small !== undefined) return small;
    const large = await streamSnapshot(file, cache);
    // A file that shrank below the limit while it was streamed is read again as a small one.
    if (large === null || large.size > SMALL_FILE_BYTES) return large;
  }
}

async function streamSnapshot(file: string, cache?: HashCache | null): Promise<Snapshot | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const st = await fh.stat({ bigint: true });
    const sig = sigOf(st);
    const mtimeMs = Number(st.mtimeMs);
    if (cache && cache.sig === sig) return { md5: cache.md5, size: Number(st.size), mtimeMs, data: null, sig, settled: false };
    const hash = createHash('md5');
    // Read-ahead: the next piece is read in the thread pool while this thread hashes the last
    // one (two buffers, used in turn for the whole file).
    const bufs = [Buffer.allocUnsafe(STREAM_CHUNK), Buffer.allocUnsafe(STREAM_CHUNK)];
    let size = 0;
    let turn = 0;
    let reading = fh.read(bufs[0]!, 0, STREAM_CHUNK, 0);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const piece = bufs[turn]!.subarray(0, bytesRead);
      size += bytesRead;
      turn ^= 1;
      reading = fh.read(bufs[turn]!, 0, STREAM_CHUNK, size);
      hash.update(piece);
    }
    // The identity after reading: a write during the read changes ctime, so the next look re-hashes.
    const after = await fh.stat({ bigint: true });
    return { md5: hash.digest('hex'), size, mtimeMs, data: null, sig: sigOf(after) === sig ? sig : 'moving', settled: false };
  } finally {
    await fh.close();
  }
}

/**
 * The file's md5 from `cache` when its identity has not changed since (one stat, no read);
 * undefined when it must be read.
 */
export function cachedMd5(file: string, cache: HashCache | null | undefined): Md5 | undefined {
  return cache && statSig(file) === cache.sig ? cache.md5 : undefined;
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export async function readRange(file: string, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return buf.subarray(0, await readRangeInto(file, offset, buf));
}

/** Fills `buf` with the bytes at `offset`; returns how many there were (fewer at the end of the file). */
export async function readRangeInto(file: string, offset: number, buf: Uint8Array): Promise<number> {
  const fh = await open(file, 'r');
  try {
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  } finally {
    await fh.close();
  }
}
