import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
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
