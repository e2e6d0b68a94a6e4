/** What the figures were measured on: the machine, the commit, and whether dist/ is the build of src/. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, ROOT } from '../test/helpers/cluster.js';
import type { RunReport } from './types.js';

export function machine(): RunReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export function loadAvg(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The commit, and whether src/ differs from it (then dist/ may hold uncommitted code). */
export function gitInfo(): RunReport['git'] {
  const commit = git(['rev-parse', 'HEAD']);
  const status = git(['status', '--porcelain', '--', 'src']);
  return { commit, dirty: status === null ? null : status.length > 0 };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Throws when there is no build; returns a warning when src/ changed after it was built. */
export function checkBuild(): string | null {
  if (!existsSync(CLI)) throw new Error(`no build at ${path.relative(ROOT, CLI)}: run 'npm run build' first`);
  const src = path.join(ROOT, 'src');
  if (existsSync(src) && newestMtime(src) > statSync(CLI).mtimeMs + 1000) {
    return "src/ changed after dist/ was built: the daemons run the older build ('npm run build' to refresh)";
  }
  return null;
}
