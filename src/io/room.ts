import { statfsSync } from 'node:fs';
import type { Room } from '../core/limits.js';

/** The space free to this process on the filesystem that holds `dir` (one statfs). Throws what statfs throws. */
export function roomIn(dir: string): Room {
  const s = statfsSync(dir);
  return { bavail: Number(s.bavail), bsize: Number(s.bsize) };
}
