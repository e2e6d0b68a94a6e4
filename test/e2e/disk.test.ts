import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cannotRunAsNobody, defineCluster, NOBODY, md5, md5File, patchConfig, startNode, stopAll, waitConnected, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

/** Why a small tmpfs cannot be mounted here (not root, no mount), or null when it can. */
function cannotMount(): string | null {
  const probe = mkdtempSync(path.join(tmpdir(), 'entangled-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n')[0]}): needs root`;
  } finally {
    rmdirSync(probe);
  }
}
const NO_MOUNT = cannotMount();
const NO_NOBODY = cannotRunAsNobody();

function save(file: string, content: string): void {
  writeFileSync(`${file}.save`, content);
  renameSync(`${file}.save`, file);
}

const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.entangled-tmp'));

/**
 * Two nodes sharing `app.conf`, which beta keeps in `beta/disk/` (its own mount or folder) and
 * alpha in `alpha/disk/`. `prepare` sets up beta's folder before anything is written there.
 */
async function clusterWithDisk(prepare: (dir: string) => void): Promise<{ root: string; nodes: NodeDef[]; dirs: [string, string] }> {
  const { root, nodes } = await defineCluster({ files: { 'placeholder.conf': 'p\n' } });
  const dirs = nodes.map((n) => path.join(n.dir, 'disk')) as [string, string];
  for (const d of dirs) mkdirSync(d);
  prepare(dirs[1]);
  for (const [i, n] of nodes.entries()) {
    writeFileSync(path.join(dirs[i]!, 'app.conf'), 'v0\n');
    patchConfig(n, (cfg) => {
      cfg.files = [{ path: 'disk/app.conf', name: 'app.conf' }];
    });
  }
  return { root, nodes, dirs };
}

/**
 * Starts both nodes into `running` (each as soon as it is up, so that `stopAll` stops whatever
 * started even when the other did not) and waits until app.conf is aligned.
 */
async function startAligned(nodes: NodeDef[], running: RunningNode[]): Promise<[RunningNode, RunningNode]> {
  for (const n of nodes) running.push(await startNode(n));
  await Promise.all(running.map((r) => waitConnected(r)));
  await running[1]!.waitStatus('app.conf', 'aligned');
  return running as [RunningNode, RunningNode];
}

async function betaError(b: RunningNode, pattern: RegExp): Promise<string> {
  return waitFor(`beta reports ${pattern}`, async () => {
    const f = (await b.state()).files.find((x) => x.name === 'app.conf')!;
    return f.error && pattern.test(f.error) ? f.error : null;
  });
}

describe('disk full and permission denied while applying', () => {
  it('ENOSPC: the old file stays intact, the error shows, and the node recovers by itself once there is room', { skip: NO_MOUNT ?? false }, async () => {
    const { root, nodes, dirs } = await clusterWithDisk((dir) => execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]));
    const running: RunningNode[] = [];
    try {
      const [a, b] = await startAligned(nodes, running);
      // Fill beta's tmpfs until only a page or two is left.
      const filler = path.join(dirs[1], 'filler');
      writeFileSync(filler, Buffer.alloc(52 * 1024));
      const big = `${'x'.repeat(40 * 1024)}\n`;
      save(path.join(dirs[0], 'app.conf'), big);
      const error = await betaError(b, /ENOSPC/);
      assert.doesNotMatch(error, /\n/);
      await b.waitLog((l) => l.msg === 'cannot write listed file' && l.path === path.join(dirs[1], 'app.conf') && /ENOSPC/.test(String(l.err)), 'the ENOSPC line');
      assert.equal(readFileSync(path.join(dirs[1], 'app.conf'), 'utf8'), 'v0\n');
      assert.deepEqual(temps(dirs[1]), []);
      assert.equal((await a.state()).files[0]!.peers.beta!.status, 'pending');

      rmSync(filler);
      await waitFor('beta applies the change once there is room', () => md5File(path.join(dirs[1], 'app.conf')) === md5(big), 8000);
      await a.waitStatus('app.conf', 'aligned');
      await waitFor('beta clears the error', async () => (await b.state()).files[0]!.error === null);
      assert.equal(b.proc.exitCode, null);
    } finally {
      await stopAll(running);
      execFileSync('umount', [dirs[1]]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a read-only filesystem (EROFS): the file is untouched, and the change lands when it is writable again', { skip: NO_MOUNT ?? false }, async () => {
    const { root, nodes, dirs } = await clusterWithDisk((dir) => execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]));
    const running: RunningNode[] = [];
    try {
      const [a, b] = await startAligned(nodes, running);
      execFileSync('mount', ['-o', 'remount,ro', dirs[1]]);
      save(path.join(dirs[0], 'app.conf'), 'v1\n');
      await betaError(b, /EROFS/);
      assert.equal(readFileSync(path.join(dirs[1], 'app.conf'), 'utf8'), 'v0\n');
      execFileSync('mount', ['-o', 'remount,rw', dirs[1]]);
      await waitFor('beta applies the change once writable', () => md5File(path.join(dirs[1], 'app.conf')) === md5('v1\n'), 8000);
      await a.waitStatus('app.conf', 'aligned');
    } finally {
      await stopAll(running);
      execFileSync('umount', [dirs[1]]);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('EACCES: a node that may not write the folder keeps the old file, reports it, and recovers when allowed', { skip: NO_NOBODY ?? false }, async () => {
    // beta runs as nobody: its file is its own, but the folder (root's, 0755) is not writable.
    const { root, nodes, dirs } = await clusterWithDisk(() => undefined);
    chmodSync(root, 0o755);
    chmodSync(nodes[1]!.dir, 0o755);
    chownSync(path.join(nodes[1]!.dir, 'state'), NOBODY, NOBODY);
    chownSync(path.join(dirs[1], 'app.conf'), NOBODY, NOBODY);
    const running: RunningNode[] = [];
    try {
      running.push(await startNode(nodes[0]!));
      running.push(await startNode(nodes[1]!, { uid: NOBODY }));
      const [a, b] = running as [RunningNode, RunningNode];
      await Promise.all(running.map((r) => waitConnected(r)));
      await b.waitStatus('app.conf', 'aligned');
      save(path.join(dirs[0], 'app.conf'), 'v1\n');
      await betaError(b, /EACCES/);
      assert.equal(readFileSync(path.join(dirs[1], 'app.conf'), 'utf8'), 'v0\n');
      assert.equal((await a.state()).files[0]!.peers.beta!.status, 'pending');
      chownSync(dirs[1], NOBODY, NOBODY);
      await waitFor('beta applies the change once allowed', () => md5File(path.join(dirs[1], 'app.conf')) === md5('v1\n'), 8000);
      await a.waitStatus('app.conf', 'aligned');
    } finally {
      await stopAll(running, root);
    }
  });
});
