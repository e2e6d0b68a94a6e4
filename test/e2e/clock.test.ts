import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineCluster, md5, md5File, startNode, stopAll, waitConnected, waitFor, type LogLine, type RunningNode } from '../helpers/cluster.js';

/**
 * The contract: "Time here is a monotonic clock: a step of the wall clock (NTP, `date -s`) never
 * makes a live peer look lost, nor a dead one look alive." One node (alpha) runs under
 * libfaketime with a relative offset read from a file, so that the test steps alpha's wall clock
 * (gettimeofday, clock_gettime(CLOCK_REALTIME): what Date.now() reads) while it runs, and nothing
 * else on the machine:
 *   LD_PRELOAD=…/libfaketime.so.1   the library (Debian package faketime / libfaketime)
 *   FAKETIME_TIMESTAMP_FILE=<file>  holds the offset: "+0", "+3600" (an hour ahead), "-3600"
 *   FAKETIME_NO_CACHE=1             re-read the file on every call: a step takes effect at once
 *                                   (by default the setting is cached for 10 s)
 *   FAKETIME_DONT_FAKE_MONOTONIC=1  CLOCK_MONOTONIC stays real: performance.now() and libuv's
 *                                   timers do not move (faked, a step back hangs node's timers)
 * The offset file is replaced by rename, so that alpha never reads a half-written one.
 */

/** libfaketime.so.1, or null when it is not installed. */
function findLibfaketime(): string | null {
  const dpkg = spawnSync('dpkg', ['-L', 'libfaketime'], { encoding: 'utf8' });
  const listed = dpkg.status === 0 ? dpkg.stdout.split('\n').filter((l) => l.endsWith('/libfaketime.so.1')) : [];
  const known = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf', 'i386-linux-gnu'].map((t) => `/usr/lib/${t}/faketime/libfaketime.so.1`);
  return [...listed, ...known, '/usr/lib/faketime/libfaketime.so.1', '/usr/local/lib/faketime/libfaketime.so.1'].find((p) => existsSync(p)) ?? null;
}

const LIBFAKETIME = process.platform === 'linux' ? findLibfaketime() : null;
const skip = LIBFAKETIME
  ? false
  : process.platform === 'linux'
  ? 'libfaketime is not installed: apt-get install faketime (.ci/run does)'
  : `libfaketime (LD_PRELOAD) needs Linux (this is ${process.platform})`;
if (skip) console.log(`clock tests skipped: ${skip}`);

const PEER_TIMEOUT_MS = 1500;
const HOUR_MS = 3_600_000;
const opts = { timeout: 60_000, skip };

/** Sets alpha's wall clock `offset` ("+3600", "-3600") from the real one, atomically. */
function setOffset(file: string, offset: string): void {
  writeFileSync(`${file}.new`, `${offset}\n`);
  renameSync(`${file}.new`, file);
}

/** How far the node's wall clock is from the test's, from its API's Date header (1 s resolution). */
async function wallClockOffset(r: RunningNode): Promise<number> {
  const res = await fetch(`${r.api}/api/1/health`);
  const date = res.headers.get('date');
  assert.ok(date, 'the API sends no Date header');
  return Date.parse(date) - Date.now();
}

/** Waits until the node's wall clock reads `offsetMs` from the real one: libfaketime took. */
async function waitOffset(r: RunningNode, offsetMs: number): Promise<void> {
  await waitFor(`${r.def.name}'s wall clock to read ${offsetMs / 1000} s from the real one (is libfaketime working?)`, async () => Math.abs((await wallClockOffset(r)) - offsetMs) < 60_000, 5000, 20);
}

const lostLines = (logs: readonly LogLine[]) => logs.filter((l) => /^peer lost/.test(l.msg));
const show = (logs: readonly LogLine[]) => JSON.stringify(logs.map((l) => ({ msg: l.msg, peer: l.peer, stalledMs: l.stalledMs, silentMs: l.silentMs })));

/**
 * libfaketime keeps a shared memory segment and a semaphore per process, named by its pid, and
 * removes them only when the process exits normally. A stale pair makes a later process that
 * gets the same pid fail under libfaketime ("shm_open failed: File exists"), so alpha is stopped
 * with SIGTERM (it exits 0), and whatever it left anyway is removed.
 */
async function stopClockCluster(root: string, running: RunningNode[]): Promise<void> {
  const a = running[0];
  if (a) {
    const kill = setTimeout(() => a.proc.kill('SIGKILL'), 5000);
    await a.stop('SIGTERM');
    clearTimeout(kill);
  }
  await stopAll(running, root);
  if (a?.proc.pid !== undefined) for (const f of [`faketime_shm_${a.proc.pid}`, `sem.faketime_sem_${a.proc.pid}`]) rmSync(path.join('/dev/shm', f), { force: true });
}

/** alpha (under libfaketime, offset +0) and beta (the real clock), connected, app.conf aligned. */
async function startClockCluster(): Promise<{ root: string; clock: string; a: RunningNode; b: RunningNode }> {
  const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, peerTimeoutMs: PEER_TIMEOUT_MS });
  const clock = path.join(root, 'alpha-faketime.rc');
  setOffset(clock, '+0');
  const env = { LD_PRELOAD: LIBFAKETIME!, FAKETIME_TIMESTAMP_FILE: clock, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
  const running: RunningNode[] = [];
  try {
    running.push(await startNode(nodes[0]!, { env }));
    running.push(await startNode(nodes[1]!));
    const [a, b] = running as [RunningNode, RunningNode];
    await Promise.all([waitConnected(a), waitConnected(b)]);
    await a.waitStatus('app.conf', 'aligned');
    await b.waitStatus('app.conf', 'aligned');
    await waitOffset(a, 0);
    return { root, clock, a, b };
  } catch (err) {
    await stopClockCluster(root, running);
    throw err;
  }
}

describe('a step of the wall clock (libfaketime on one node)', () => {
  it('an hour forward: the live peer is not lost, and changes still flow', opts, async (t) => {
    const { root, clock, a, b } = await startClockCluster();
    try {
      const fromA = a.logs.length;
      const fromB = b.logs.length;
      setOffset(clock, '+3600');
      await waitOffset(a, HOUR_MS);
      // A bounded observation window of 3 × peerTimeoutMs (15 of alpha's heartbeat periods)
      // after the step took: throughout it, beta stays connected in alpha's state and neither
      // node logs "peer lost" (nor "peer lost: this node was stalled").
      const end = performance.now() + 3 * PEER_TIMEOUT_MS;
      while (performance.now() < end) {
        const beta = (await a.state()).peers.find((p) => p.name === 'beta');
        assert.equal(beta?.connected, true, `alpha reports beta connected: ${String(beta?.connected)} after its clock stepped an hour forward; alpha logged ${show(lostLines(a.logs.slice(fromA)))}`);
        assert.equal(show(lostLines(a.logs.slice(fromA))), '[]', 'alpha lost beta after its clock stepped an hour forward');
        assert.equal(show(lostLines(b.logs.slice(fromB))), '[]', 'beta lost alpha after alpha\'s clock stepped an hour forward');
        await sleep(50);
      }
      const t0 = performance.now();
      writeFileSync(b.file('app.conf'), 'v1 written on beta after the step\n');
      await waitFor('alpha to hold beta\'s change', () => md5File(a.file('app.conf')) === md5('v1 written on beta after the step\n'), 3000);
      await a.waitStatus('app.conf', 'aligned', 3000);
      const took = Math.round(performance.now() - t0);
      assert.ok(took < 3000, `beta's change took ${took} ms to reach alpha`);
      t.diagnostic(`beta's change reached alpha in ${took} ms, an hour after alpha's clock stepped forward`);
      assert.equal(show(lostLines(a.logs.slice(fromA))), '[]', 'alpha lost beta after its clock stepped an hour forward');
      assert.equal((await a.state()).peers.find((p) => p.name === 'beta')?.connected, true);
    } finally {
      await stopClockCluster(root, [a, b]);
    }
  });

  it('an hour back: a peer that died is lost within the peer timeout, not an hour later', opts, async (t) => {
    const { root, clock, a, b } = await startClockCluster();
    try {
      const fromA = a.logs.length;
      // Beta dies first, then alpha's clock steps back: beta's last heartbeat was heard before the
      // step, so alpha's record of it is on the wall clock's old timeline. (Stepping first and
      // killing later would let beta's heartbeats re-stamp lastSeen on the new timeline, which
      // a wall clock survives.) Awaiting beta's exit and one request to alpha lets alpha take up
      // whatever beta sent before it died before the step.
      await b.stop('SIGKILL');
      const killedAt = performance.now();
      await a.state();
      setOffset(clock, '-3600');
      await waitOffset(a, -HOUR_MS);
      const budget = 3 * PEER_TIMEOUT_MS + 2000;
      await waitFor(
        `alpha to report beta connected: false within ${budget} ms of beta's death (alpha's clock stepped an hour back)`,
        async () => (await a.state()).peers.find((p) => p.name === 'beta')?.connected === false,
        Math.max(0, Math.round(budget - (performance.now() - killedAt))),
        20,
      );
      const lostAfter = Math.round(performance.now() - killedAt);
      const lost = await a.waitLog((l) => /^peer lost/.test(l.msg) && l.peer === 'beta', 'peer lost (beta)', 1000);
      assert.equal(lost.msg, 'peer lost', `alpha logged ${show(lostLines(a.logs.slice(fromA)))}`);
      assert.equal(lostLines(a.logs.slice(fromA)).length, 1, `alpha logged ${show(lostLines(a.logs.slice(fromA)))}`);
      assert.ok(lostAfter <= budget, `beta was lost ${lostAfter} ms after its death`);
      t.diagnostic(`alpha lost beta ${lostAfter} ms after beta died (peerTimeoutMs ${PEER_TIMEOUT_MS}, budget ${budget} ms)`);
    } finally {
      await stopClockCluster(root, [a, b]);
    }
  });
});
