import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Replaces `file` by a new inode with `content`, the way an editor saves (temp file, rename over). */
export function saveOver(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.swp`);
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

/** Waits until a watcher's reports (`touched`) name `p` after index `from`, failing after `ms`. */
export async function waitReported(touched: readonly string[], p: string, from: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!touched.slice(from).includes(p)) {
    if (Date.now() > deadline) assert.fail(`${p} not reported within ${ms} ms; reported: ${JSON.stringify(touched.slice(from))}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
