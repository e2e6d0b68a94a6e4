/**
 * The tools entangled is compared with, each configured for the lowest delay it accepts, as
 * shared/PEERS.md measured them: lsyncd (default.rsync, delay = 0, with and without rsync's
 * checksum), unison (-repeat 1, and -repeat 0 which rescans without pause), syncthing (two
 * instances on loopback, watcher delay 1 s) and csync2 (two instances on loopback aliases, an
 * inotify trigger running `csync2 -x`).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep, type ScenarioContext } from './context.js';
import { CSYNC2_VARIANTS } from './tool-csync2.js';
import { SYNCTHING_VARIANTS } from './tool-syncthing.js';
import { spawnTool } from './tool-process.js';

/** What a variant's start gets: the run's temp folder, the two synced folders A → B, the programs. */
export interface ToolRun {
  ctx: ScenarioContext;
  /** The run's temp folder (configs, logs, databases go here). */
  root: string;
  a: string;
  b: string;
  /** The absolute path of its binary or of one of its `needs` (all checked to be on PATH). */
  bin(name: string): string;
}

export interface ToolVariant {
  tool: 'lsyncd' | 'unison' | 'syncthing' | 'csync2';
  variant: string;
  binary: string;
  /** Other programs it runs (lsyncd's default.rsync runs rsync). */
  needs: string[];
  /** How it was run, for the report (A and B are the two temp folders). */
  shown: string;
  /**
   * Starts it syncing a → b (the folders hold the same file already) and resolves once it is
   * ready for the first (warm-up) change; returns the pids whose process trees are the tool (their
   * CPU is its CPU). Its processes are stopped through `run.ctx` when the run ends.
   */
  start(run: ToolRun): Promise<number[]>;
  /** Why it cannot run on this machine although installed (reported missing), else null. */
  preflight?(): Promise<string | null>;
  /** The least spacing between changes it needs to deliver them at all (see `note`). */
  minGapMs: number;
  /** Random extra spacing, so changes land at every phase of a tool that rescans on a timer. */
  jitterMs: number;
  /** Why the spacing or the CPU figure differs from entangled's, for the report. */
  note: string | null;
}

/** The Debian package of each program a variant runs, for the missing tool's reason. */
export const DEBIAN_PACKAGE: Record<string, string> = { inotifywait: 'inotify-tools' };

const lua = (s: string) => JSON.stringify(s); // a JSON string of a plain path is a valid Lua string
/** How long lsyncd and unison are let come up before the first change (they say nothing when ready). */
const SETTLE_MS = 1000;

function lsyncd(variant: string, extra: string, quickCheck: boolean): ToolVariant {
  return {
    tool: 'lsyncd',
    variant,
    binary: 'lsyncd',
    needs: ['rsync'],
    minGapMs: quickCheck ? 1100 : 0,
    jitterMs: 0,
    note: quickCheck
      ? "changes spaced >= 1.1 s: rsync's quick check (same size, same mtime second) skips a same-size change made in the same second as the one before, and that change is never delivered"
      : null,
    shown: `lsyncd -nodaemon CONF with sync { default.rsync, source = "A/", target = "B/", delay = 0${extra} }`,
    async start({ ctx, root, a, b, bin }) {
      const config = path.join(root, 'lsyncd.conf.lua');
      const text = [
        `settings { logfile = ${lua(path.join(root, 'lsyncd.log'))}, statusFile = ${lua(path.join(root, 'lsyncd.status'))}, nodaemon = true }`,
        `sync { default.rsync, source = ${lua(`${a}/`)}, target = ${lua(`${b}/`)}, delay = 0${extra} }`,
        '',
      ].join('\n');
      writeFileSync(config, text);
      const p = spawnTool(ctx, 'lsyncd', bin('lsyncd'), ['-nodaemon', config], { dir: root });
      await sleep(SETTLE_MS, ctx.signal);
      return [p.pid];
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
    minGapMs: 0,
    jitterMs: periodMs,
    note: periodMs > 0 ? `spacing has a random 0-${periodMs} ms added, so changes land at every phase of its ${periodMs} ms rescan timer` : null,
    shown: `unison A B -batch -repeat ${repeat}`,
    async start({ ctx, root, a, b, bin }) {
      // UNISON: its archive and profile folder, kept inside the run's temp folder.
      const p = spawnTool(ctx, 'unison', bin('unison'), [a, b, '-batch', '-repeat', repeat], { dir: root, env: { UNISON: path.join(root, 'unison-home') } });
      await sleep(SETTLE_MS, ctx.signal);
      return [p.pid];
    },
  };
}

export const VARIANTS: Record<string, ToolVariant[]> = {
  lsyncd: [lsyncd('default.rsync, delay = 0', '', true), lsyncd('default.rsync, delay = 0, rsync checksum = true', ', rsync = { checksum = true }', false)],
  unison: [unison('1'), unison('0')],
  syncthing: SYNCTHING_VARIANTS,
  csync2: CSYNC2_VARIANTS,
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

/** The version it prints: `lsyncd --version`, `unison -version`, `syncthing --version`, csync2's help; null when it will not say. */
export function version(tool: string, binPath: string): string | null {
  const args: Record<string, string[]> = { unison: ['-version'], csync2: [] };
  // csync2 has no version option: run without arguments, it prints its help (exit 1), which starts "csync2 2.1-0rc1 - cluster synchronization tool".
  const r = spawnSync(binPath, args[tool] ?? ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const m = tool === 'csync2' ? /csync2 (\S+) - cluster/.exec(out) : /(\d+\.\d+(?:\.\d+)?)/.exec(out);
  return m?.[1] ?? null;
}
