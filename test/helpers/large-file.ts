import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, statfsSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { RunningNode, StateDoc } from './cluster.js';

export const MiB = 1024 * 1024;

/**
 * Saves `mib` MiB of fresh content over `file` the way an editor does (a temp file beside it,
 * then a rename), without holding it in memory: one random MiB, each copy stamped with its
 * index. Returns its md5. Throws when the folder's filesystem has less than twice that free.
 */
export function saveLargeFile(file: string, mib: number): string {
  const fs = statfsSync(path.dirname(file));
  const free = fs.bavail * fs.bsize;
  if (free < 2 * mib * MiB) throw new Error(`${path.dirname(file)} has ${Math.round(free / MiB)} MiB free; this test needs ${2 * mib} MiB`);
  const block = randomBytes(MiB);
  const hash = createHash('md5');
  const tmp = `${file}.new`;
  const fd = openSync(tmp, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      block.writeUInt32BE(i, 0);
      writeSync(fd, block);
      hash.update(block);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return hash.digest('hex');
}

export type TransferDoc = NonNullable<StateDoc['files'][number]['peers'][string]['transfer']>;

/** The transfer shown in `node`'s state for file `name` and `peer`, or undefined; also the file's entry. */
export async function transferOf(node: RunningNode, name: string, peer: string): Promise<{ transfer: TransferDoc | undefined; file: StateDoc['files'][number] }> {
  const file = (await node.state()).files.find((f) => f.name === name);
  if (!file) throw new Error(`${node.def.name}: ${name} is not listed`);
  return { transfer: file.peers[peer]?.transfer, file };
}
