import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { verdictOf } from '../io/link.js';
import { distrustOf } from '../io/ownership.js';
import { loadSettings } from './load.js';
import type { Settings } from './settings.js';

/**
 * Every check `start` makes before it binds anything: the file's keys and values, the listed
 * files' folders, the key file and its permissions (all in loadSettings), and whether stateDir
 * can be used (an existing folder this process may write, or one it may create). Reads only;
 * writes and binds nothing, so it may check the config of a running node. Throws ConfigError.
 */
export function checkConfig(file: string): Settings {
  const settings = loadSettings(file);
  checkStateDir(settings.stateDir);
  if (settings.backups > 0) checkStateDir(path.join(settings.stateDir, 'backups'), 'stateDir: cannot keep backups in');
  return settings;
}

/**
 * What `entangled check` adds to start's checks, for the user it runs as (the node's user):
 * no other user may change where a listed path leads (see io/ownership.ts; the node refuses
 * such a file, a per-file error), each listed file must be readable when it exists, and the folder a write of it stages its temp
 * file in (a link's target's folder; an absent file's own folder, where it will be created) must
 * be writable. Start does not make these (it typically runs as root, for whom they always pass;
 * as another user a failure is the file's own problem, reported in its state). Throws ConfigError.
 */
export function checkAccess(settings: Settings): void {
  settings.files.forEach((f, i) => {
    let distrust;
    try {
      distrust = distrustOf(f.path);
    } catch (err) {
      throw new ConfigError(`files[${i}]: cannot look at ${f.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (distrust !== null) throw new ConfigError(`files[${i}]: ${distrust}`);
    let verdict;
    try {
      verdict = verdictOf(f.path);
    } catch (err) {
      throw new ConfigError(`files[${i}]: cannot look at ${f.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    // A link that reaches no regular file is never written: the node reports it as the file's problem.
    if (verdict.kind === 'broken') return;
    const file = verdict.kind === 'through' ? verdict.target : f.path;
    const dir = path.dirname(file);
    const unwritable = refusal(dir, constants.W_OK | constants.X_OK);
    if (unwritable !== null) {
      throw new ConfigError(`files[${i}]: folder ${dir} is not writable by this user (${unwritable}; a write of ${f.path} stages a temp file there)`);
    }
    const unreadable = statSync(file, { throwIfNoEntry: false }) === undefined ? null : refusal(file, constants.R_OK);
    if (unreadable !== null) throw new ConfigError(`files[${i}]: ${file} is not readable by this user (${unreadable})`);
  });
}

/** Why this process may not access `p` in `mode` (EACCES, EROFS for a read-only mount, …), or null when it may. */
function refusal(p: string, mode: number): string | null {
  try {
    accessSync(p, mode);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

/** `dir` exists as a folder this process may write, or its nearest existing ancestor is one (start creates the rest). */
function checkStateDir(dir: string, what = 'stateDir: cannot use'): void {
  let probe = dir;
  for (;;) {
    let st;
    try {
      st = statSync(probe, { throwIfNoEntry: false });
    } catch (err) {
      // ENOTDIR: a part of the path is a file; the loop goes up until it meets it.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw new ConfigError(`${what} ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (st) {
      if (!st.isDirectory()) throw new ConfigError(`${what} ${dir} (${probe} is not a folder)`);
      try {
        accessSync(probe, constants.W_OK | constants.X_OK | (probe === dir ? constants.R_OK : 0));
      } catch {
        throw new ConfigError(`${what} ${dir} (${probe} is not writable by this user)`);
      }
      return;
    }
    const parent = path.dirname(probe);
    if (parent === probe) throw new ConfigError(`${what} ${dir} (no folder of it exists)`);
    probe = parent;
  }
}

/** The one line `entangled check` prints for a valid config. */
export function describeSettings(s: Settings): string {
  const peers = s.peers.map((p) => p.name).join(', ');
  const files = `${s.files.length} file${s.files.length === 1 ? '' : 's'}`;
  const curve = s.security ? 'CURVE on' : 'CURVE off';
  return `${s.configPath}: OK: node ${s.node}, ${files}, ${s.peers.length} peer${s.peers.length === 1 ? '' : 's'} (${peers}), ${curve}, api ${s.api.host}:${s.api.port}, stateDir ${s.stateDir}`;
}
