import { createHash } from 'node:crypto';
import type { Md5 } from '../core/types.js';

/** A digest of a digest map, order-independent: heartbeats carry it so drift is noticed. */
export function digestSum(entries: Iterable<[string, Md5 | null]>): string {
  const lines = [...entries].map(([n, m]) => `${n}\0${m ?? '-'}`).sort();
  return createHash('md5').update(lines.join('\n')).digest('hex');
}
