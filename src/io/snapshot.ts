import { createHash, hash as oneShotHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { overMaxBytes } from '../core/limits.js';
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
 * How a listed file is opened for reading: O_NONBLOCK, so that a FIFO (or a device) put in its
 * place never blocks the open (nor a read); the fstat that follows refuses it before any read.
 * On a regular file O_NONBLOCK changes nothing.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Thrown when a listed path is not a regular file (a FIFO, a socket, a device, a folder): nothing was read. */
export class NotRegularFile extends Error {
  constructor(file: string, st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }) {
    const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isDirectory() ? 'a folder' : 'not a regular file';
    super(`${file} is ${what}, not a regular file: it is neither read nor written until it is one again`);
    this.name = 'NotRegularFile';
  }
}

/** Thrown when a listed file is larger than its maxBytes: it was not read, and it is not sent. */
export class FileTooLarge extends Error {
  readonly size: number;
  constructor(file: string, size: number, why: string) {
    super(`${file} is ${why}: it is not sent (raise maxBytes to replicate it)`);
    this.name = 'FileTooLarge';
    this.size = size;
  }
}

/**
 * What the fstat of an open listed file allows: throws NotRegularFile or FileTooLarge. A
 * non-regular file reached through a symbolic link is no error here but absent (null): the
 * link is the problem, reported as one (see core/link.ts).
 */
function admit(file: string, st: BigIntStats, maxBytes: number): null | undefined {
  if (!st.isFile()) {
    let viaLink = false;
    try {
      viaLink = lstatSync(file).isSymbolicLink();
    } catch {
      // Gone meanwhile: what is there is read next time.
    }
    if (viaLink) return null;
    throw new NotRegularFile(file, st);
  }
  const size = Number(st.size);
  const over = overMaxBytes(size, maxBytes);
  if (over !== null) throw new FileTooLarge(file, size, over);
  return undefined;
}

/**
 * Reads a small file whole and hashes it, synchronously. Returns null when it does not exist
 * (or a link leads to no regular file), `undefined` when it is too large for this path; throws
 * NotRegularFile (a FIFO, …: never blocks on it), FileTooLarge (over `maxBytes`: not read) and
 * other errors (EACCES, EIO).
 */
export function readSnapshotSync(file: string, maxBytes = Infinity): Snapshot | null | undefined {
  // The wall clock, not a monotonic one: it is compared with the file's ctime, which the kernel takes from the wall clock.
  const began = BigInt(Date.now()) * 1_000_000n;
  let fd: number;
  try {
    fd = openSync(file, READ_FLAGS);
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (admit(file, st, maxBytes) === null) return null;
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
 * when the file does not exist; throws as readSnapshotSync does (a file over `maxBytes` is
 * refused from its fstat, before any byte is read).
 */
export async function readSnapshot(file: string, cache?: HashCache | null, maxBytes = Infinity): Promise<Snapshot | null> {
  for (;;) {
    const small = readSnapshotSync(file, maxBytes);
    if (small !== undefined) return small;
    const large = await streamSnapshot(file, cache, maxBytes);
    // A file that shrank below the limit while it was streamed is read again as a small one.
    if (large === null || large.size > SMALL_FILE_BYTES) return large;
  }
}

async function streamSnapshot(file: string, cache: HashCache | null | undefined, maxBytes: number): Promise<Snapshot | null> {
  let fh;
  try {
    fh = await open(file, READ_FLAGS);
  } catch (err) {
    if (ABSENT.has((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const st = await fh.stat({ bigint: true });
    // Replaced since the small path looked (by a FIFO, or by a larger file).
    if (admit(file, st, maxBytes) === null) return null;
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
      // Grown past the cap while it was read: not hashed to the end.
      const over = overMaxBytes(size, maxBytes);
      if (over !== null) throw new FileTooLarge(file, size, over);
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
  // Non-blocking: a FIFO put there since the version was read gives a short read (the version changed), never a hang.
  const fh = await open(file, READ_FLAGS);
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
