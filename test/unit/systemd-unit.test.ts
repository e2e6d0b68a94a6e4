import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../src/config/settings.js';

const UNIT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config/entangled.service');

/** The unit's [Service] settings: key → every value assigned (comments and other sections left out). */
function serviceSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('config/entangled.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const service = serviceSettings(text);
  const last = (key: string): string | undefined => service.get(key)?.at(-1);

  test('runs `entangled start` as its own unprivileged user, with the hardening in force', () => {
    assert.equal(last('User'), 'entangled');
    assert.match(last('ExecStart') ?? '', /\bentangled start --config \/etc\/entangled\/entangled\.yaml$/);
    assert.equal(last('NoNewPrivileges'), 'yes');
    assert.equal(last('ProtectSystem'), 'strict');
    assert.ok((last('ReadWritePaths') ?? '').trim().length > 0, 'ReadWritePaths lists no folder');
    assert.equal(last('ProtectHome'), 'yes');
    assert.equal(last('PrivateTmp'), 'yes');
    assert.equal(last('PrivateDevices'), 'yes');
    assert.equal(last('RestrictAddressFamilies'), 'AF_INET AF_INET6 AF_UNIX');
    // CAP_CHOWN alone (an updated file keeps its owner), confined to ReadWritePaths by ProtectSystem=strict.
    assert.equal(last('CapabilityBoundingSet'), 'CAP_CHOWN', 'capabilities beyond CAP_CHOWN are not dropped');
    assert.equal(last('AmbientCapabilities'), 'CAP_CHOWN');
    assert.equal(service.has('MemoryDenyWriteExecute'), false, 'V8 cannot run with MemoryDenyWriteExecute');
  });

  test('checks the config before the start and reloads it with SIGHUP', () => {
    assert.match(last('ExecStartPre') ?? '', /\bentangled check --config \/etc\/entangled\/entangled\.yaml$/);
    const config = (cmd: string | undefined) => /--config (\S+)$/.exec(cmd ?? '')?.[1];
    assert.equal(config(last('ExecStartPre')), config(last('ExecStart')), 'check and start read different files');
    assert.equal(last('ExecReload'), '/bin/kill -HUP $MAINPID');
  });

  test('agrees with the daemon: stateDir default, the 2 s stop, exit 2 for a config error', () => {
    assert.equal(`/var/lib/${last('StateDirectory')}`, DEFAULTS.stateDir);
    assert.equal(last('KillSignal'), 'SIGTERM');
    const stopSec = Number(last('TimeoutStopSec'));
    assert.ok(stopSec > 2 && stopSec <= 5, `TimeoutStopSec=${stopSec}`);
    assert.equal(last('Restart'), 'on-failure');
    assert.equal(last('RestartPreventExitStatus'), '2');
  });

  test('systemd-analyze verify reports nothing (a misspelt directive is otherwise silently ignored)', (t) => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 30_000 });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      t.skip('systemd-analyze is not installed');
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  });
});
