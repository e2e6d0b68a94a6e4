/**
 * The tools entangled is compared with, each configured for the lowest delay it accepts, as
 * shared/PEERS.md measured them: lsyncd (default.rsync, delay = 0, with and without rsync's
 * checksum) and unison (-repeat 1, and -repeat 0 which rescans without pause).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface ToolVariant {
  tool: 'lsyncd' | 'unison';
  variant: string;
  binary: string;
  /** Other programs it runs (lsyncd's default.rsync runs rsync). */
  needs: string[];
  /** How it was run, for the report (A and B are the two temp folders). */
  shown: string;
  /** How to start it syncing a → b, with the config files it needs under `root` (path → content). */
  command(root: string, a: string, b: string): { args: string[]; env: Record<string, string>; files: Record<string, string> };
  /** How long to let it come up before the first (warm-up) change. */
  settleMs: number;
  /** The least spacing between changes it needs to deliver them at all (see `note`). */
  minGapMs: number;
  /** Random extra spacing, so changes land at every phase of a tool that rescans on a timer. */
  jitterMs: number;
  /** Why the spacing differs from entangled's, for the report. */
  note: string | null;
}

const lua = (s: string) => JSON.stringify(s); // a JSON string of a plain path is a valid Lua string

function lsyncd(variant: string, extra: string, quickCheck: boolean): ToolVariant {
  return {
    tool: 'lsyncd',
    variant,
    binary: 'lsyncd',
    needs: ['rsync'],
    settleMs: 1000,
    minGapMs: quickCheck ? 1100 : 0,
    jitterMs: 0,
    note: quickCheck
      ? "changes spaced >= 1.1 s: rsync's quick check (same size, same mtime second) skips a same-size change made in the same second as the one before, and that change is never delivered"
      : null,
    shown: `lsyncd -nodaemon CONF with sync { default.rsync, source = "A/", target = "B/", delay = 0${extra} }`,
    command(root, a, b) {
      const config = path.join(root, 'lsyncd.conf.lua');
      const text = [
        `settings { logfile = ${lua(path.join(root, 'lsyncd.log'))}, statusFile = ${lua(path.join(root, 'lsyncd.status'))}, nodaemon = true }`,
        `sync { default.rsync, source = ${lua(`${a}/`)}, target = ${lua(`${b}/`)}, delay = 0${extra} }`,
        '',
      ].join('\n');
      return { args: ['-nodaemon', config], env: {}, files: { [config]: text } };
    },
  };
}

function unison(repeat: string): ToolVariant {
  const periodMs = Number(repeat) * 1000;
  return {
    tool: 'unison',
    variant: `-batch -repeat ${repeat}`,
    binary: 'unison',
    needs: [],
    settleMs: 1000,
    minGapMs: 0,
    jitterMs: periodMs,
    note: periodMs > 0 ? `spacing has a random 0-${periodMs} ms added, so changes land at every phase of its ${periodMs} ms rescan timer` : null,
    shown: `unison A B -batch -repeat ${repeat}`,
    command(root, a, b) {
      // UNISON: its archive and profile folder, kept inside the run's temp folder.
      return { args: [a, b, '-batch', '-repeat', repeat], env: { UNISON: path.join(root, 'unison-home') }, files: {} };
    },
  };
}

export const VARIANTS: Record<string, ToolVariant[]> = {
  lsyncd: [lsyncd('default.rsync, delay = 0', '', true), lsyncd('default.rsync, delay = 0, rsync checksum = true', ', rsync = { checksum = true }', false)],
  unison: [unison('1'), unison('0')],
};

/** The binary's absolute path when it is on PATH, else null. */
export function which(binary: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, binary);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** "2.2.3" from `lsyncd --version`, "2.52.1" from `unison -version`; null when it will not say. */
export function version(tool: string, binPath: string): string | null {
  try {
    const out = execFileSync(binPath, [tool === 'unison' ? '-version' : '--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    return /(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}
