import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cannotMount, cannotRunAsNobody, defineCluster, NOBODY, md5, md5File, patchConfig, startNode, stopAll, waitConnected, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

const NO_MOUNT = cannotMount();
const NO_NOBODY = cannotRunAsNobody();

/** Whether `dir`'s filesystem takes the immutable attribute (ext4, xfs, btrfs do; tmpfs does not). */
function takesImmutable(dir: string): boolean {
  let probe: string | null = null;
  try {
    probe = mkdtempSync(path.join(dir, 'entangled-chattr-probe-'));
    writeFileSync(path.join(probe, 'f'), '');
    execFileSync('chattr', ['+i', path.join(probe, 'f')], { stdio: 'pipe' });
    execFileSync('chattr', ['-i', path.join(probe, 'f')], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  } finally {
    if (probe) rmSync(probe, { recursive: true, force: true });
  }
}

/**
 * Where beta's folder can hold an immutable file (`chattr +i`): in the test's temp folder, or
 * on /var/tmp bound over it when the temp folder is a tmpfs; or why neither can.
 */
const IMMUTABLE: { bindFrom: string | null } | string = takesImmutable(tmpdir())
  ? { bindFrom: null }
  : NO_MOUNT === null && takesImmutable('/var/tmp')
  ? { bindFrom: '/var/tmp' }
  : `neither ${tmpdir()} nor /var/tmp takes chattr +i (tmpfs?), or chattr is missing`;

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
async function startAligned(nodes: NodeDef[], running: RunningNode[], opts: { betaUid?: number } = {}): Promise<[RunningNode, RunningNode]> {
  for (const [i, n] of nodes.entries()) running.push(await startNode(n, i === 1 && opts.betaUid !== undefined ? { uid: opts.betaUid } : {}));
  await Promise.all(running.map((r) => waitConnected(r)));
  await running[1]!.waitStatus('app.conf', 'aligned');
  return running as [RunningNode, RunningNode];
}

/** Lets beta run as nobody: the folders above its own traversable, its state folder its own. */
function betaAsNobody(root: string, nodes: NodeDef[]): void {
  chmodSync(root, 0o755);
  chmodSync(nodes[1]!.dir, 0o755);
  chownSync(path.join(nodes[1]!.dir, 'state'), NOBODY, NOBODY);
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
    betaAsNobody(root, nodes);
    chownSync(path.join(dirs[1], 'app.conf'), NOBODY, NOBODY);
    const running: RunningNode[] = [];
    try {
      const [a, b] = await startAligned(nodes, running, { betaUid: NOBODY });
      save(path.join(dirs[0], 'app.conf'), 'v1\n');
      await a.waitHashed('app.conf', 'v1\n');
      // The sender shows what beta reported, within a second, and keeps beta pending.
      const seen = await a.waitPeerError('app.conf', 'beta', /EACCES/);
      assert.equal(seen.status, 'pending');
      assert.equal(seen.error, await betaError(b, /EACCES/));
      assert.equal(readFileSync(path.join(dirs[1], 'app.conf'), 'utf8'), 'v0\n');
      chownSync(dirs[1], NOBODY, NOBODY);
      await waitFor('beta applies the change once allowed', () => md5File(path.join(dirs[1], 'app.conf')) === md5('v1\n'), 8000);
      await a.waitStatus('app.conf', 'aligned');
      assert.equal((await a.state()).files[0]!.peers.beta!.error, undefined);
    } finally {
      await stopAll(running, root);
    }
  });
  it('EPERM keeping the owner: the error names the owner and the fix, on the node and on the sender, until the file is the node\'s own', { skip: NO_NOBODY ?? false }, async () => {
    // The guide's `chown entangled FILE` leaves the group root: beta runs as nobody, its file
    // is nobody:root, its folder its own. Keeping that group needs CAP_CHOWN.
    const { root, nodes, dirs } = await clusterWithDisk(() => undefined);
    betaAsNobody(root, nodes);
    chownSync(dirs[1], NOBODY, NOBODY);
    const file = path.join(dirs[1], 'app.conf');
    chownSync(file, NOBODY, 0);
    const running: RunningNode[] = [];
    try {
      const [a, b] = await startAligned(nodes, running, { betaUid: NOBODY });
      save(path.join(dirs[0], 'app.conf'), 'v1\n');
      await a.waitHashed('app.conf', 'v1\n');
      const seen = await a.waitPeerError('app.conf', 'beta', /EPERM/);
      const owner = `cannot keep the owner of ${file}, nobody:root (uid 65534, gid 0): this node runs as nobody:nogroup (uid 65534, gid 65534) and may not set that owner without CAP_CHOWN`;
      assert.equal(seen.error, `EPERM: ${owner}; run the node as nobody:root, give it CAP_CHOWN, or chown nobody:nogroup ${file}`);
      assert.equal(seen.status, 'pending');
      assert.equal(await betaError(b, /EPERM/), seen.error);
      await b.waitLog((l) => l.msg === 'cannot write listed file' && l.path === file && l.peer === 'alpha' && l.err === seen.error, 'the EPERM line');
      await a.waitLog((l) => l.msg === 'peer could not write or take this node\'s version' && l.path === path.join(dirs[0], 'app.conf') && l.peer === 'beta' && l.err === seen.error, 'the sender\'s line');
      assert.equal(readFileSync(file, 'utf8'), 'v0\n');
      assert.deepEqual(temps(dirs[1]), []);

      // The fix the message names: the file is the node's own user and group.
      chownSync(file, NOBODY, NOBODY);
      await waitFor('beta applies the change once the file is its own', () => md5File(file) === md5('v1\n'), 8000);
      await a.waitStatus('app.conf', 'aligned');
      assert.equal((await a.state()).files[0]!.peers.beta!.error, undefined);
    } finally {
      await stopAll(running, root);
    }
  });

  it('an immutable file (chattr +i): the peer\'s EPERM shows on the sender within a second, and clears once the change lands', { skip: typeof IMMUTABLE === 'string' ? IMMUTABLE : false }, async () => {
    const bindFrom = typeof IMMUTABLE === 'string' ? null : IMMUTABLE.bindFrom;
    let bound: string | null = null;
    const { root, nodes, dirs } = await clusterWithDisk((dir) => {
      if (bindFrom === null) return;
      bound = mkdtempSync(path.join(bindFrom, 'entangled-immutable-'));
      execFileSync('mount', ['--bind', bound, dir]);
    });
    const file = path.join(dirs[1], 'app.conf');
    const running: RunningNode[] = [];
    try {
      const [a, b] = await startAligned(nodes, running);
      execFileSync('chattr', ['+i', file]);
      save(path.join(dirs[0], 'app.conf'), 'v1\n');
      await a.waitHashed('app.conf', 'v1\n');
      const seen = await a.waitPeerError('app.conf', 'beta', /EPERM/);
      assert.equal(seen.error, `EPERM: operation not permitted: cannot rename the new version over ${file} (is it immutable or append-only? lsattr shows it, chattr -i or -a clears it)`);
      assert.equal(seen.status, 'pending');
      assert.equal(seen.error, await betaError(b, /EPERM/));
      assert.equal((await a.state()).files[0]!.status, 'pending');
      assert.equal(readFileSync(file, 'utf8'), 'v0\n');
      // Still shown a while later: every retransmission fails the same way and is answered with
      // it again; one line about it on each side, not one per attempt.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await a.state()).files[0]!.peers.beta!.error, seen.error);
      assert.equal(b.logs.filter((l) => l.msg === 'cannot write listed file').length, 1);
      assert.equal(a.logs.filter((l) => l.msg === 'peer could not write or take this node\'s version').length, 1);
      assert.deepEqual(temps(dirs[1]), []);

      execFileSync('chattr', ['-i', file]);
      await waitFor('beta applies the change once the file may be replaced', () => md5File(file) === md5('v1\n'), 8000);
      await a.waitStatus('app.conf', 'aligned');
      assert.equal((await a.state()).files[0]!.peers.beta!.error, undefined);
      assert.equal((await b.state()).files[0]!.error, null);
    } finally {
      await stopAll(running);
      spawnSync('chattr', ['-i', file]);
      if (bound !== null) {
        spawnSync('umount', [dirs[1]]);
        rmSync(bound, { recursive: true, force: true });
      }
      rmSync(root, { recursive: true, force: true });
    }
  });
});
