import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { md5, waitFor } from '../helpers/cluster.js';
import { PEER, startNodeWithFakePeer, TestClock } from '../helpers/in-process-node.js';

/** Liveness on the node's injected clock: wall-clock steps change nothing, silence and stalls do. */

const HOUR = 3_600_000;
const PEER_TIMEOUT_MS = 1000;

describe('peer liveness on the injected clock', () => {
  it('a wall-clock step of +1 h and of -1 h keeps a live peer connected; its silence disconnects it after peerTimeoutMs', async (t) => {
    const clock = new TestClock();
    const h = await startNodeWithFakePeer(t, { clock, peerTimeoutMs: PEER_TIMEOUT_MS });
    const { node, beta, settings } = h;
    await h.connect();
    // Each tick judges the peer once: this many ticks span more than a whole peerTimeoutMs.
    const ticksPerTimeout = Math.ceil(settings.peerTimeoutMs / Math.floor(settings.peerTimeoutMs / 5)) + 2;
    const lost = () => h.logs.filter((l) => l.msg.startsWith('peer lost'));

    for (const [step, offset] of [['+1 h', HOUR], ['-1 h (back)', 0], ['-1 h (behind)', -HOUR]] as const) {
      clock.wallShift = offset;
      await beta.waitTicks(ticksPerTimeout);
      assert.deepEqual(lost(), [], `peer lost after the ${step} step`);
      const peer = node.state().peers[0]!;
      assert.equal(peer.connected, true, `disconnected after the ${step} step`);
      // lastSeen is read on the wall clock: it follows the step (what a person reads).
      const seen = Date.parse(peer.lastSeen!) - Date.now();
      assert.ok(Math.abs(seen - offset) < 60_000, `lastSeen ${peer.lastSeen} after the ${step} step`);
      assert.equal(h.fileState().status, 'aligned');
    }

    beta.stopHeartbeats();
    const stoppedAt = performance.now();
    await waitFor('beta disconnected', () => !node.state().peers[0]!.connected, settings.peerTimeoutMs + 1500);
    const after = performance.now() - stoppedAt;
    // Not before its timeout (less the gap since its last heartbeat), and not much after.
    assert.ok(after >= settings.peerTimeoutMs - 150, `lost after ${Math.round(after)} ms of silence`);
    const line = lost();
    assert.equal(line.length, 1);
    assert.equal(line[0]!.msg, 'peer lost');
    assert.equal(line[0]!.peer, PEER);
    // More than peerTimeoutMs of silence, logged in whole ms: 1000.3 ms is logged as 1000.
    assert.ok((line[0]!.silentMs as number) >= settings.peerTimeoutMs, `silentMs ${line[0]!.silentMs}`);
    assert.equal(h.fileState().peers[PEER]!.status, 'unknown');
  });

  it('a forward jump of the monotonic clock past peerTimeoutMs is this node\'s stall: the peer is lost as such, then comes back', async (t) => {
    const clock = new TestClock();
    const h = await startNodeWithFakePeer(t, { clock, peerTimeoutMs: PEER_TIMEOUT_MS });
    const { node, beta, settings } = h;
    await h.connect();
    const exchanges = beta.requests.filter((r) => r.t === 'digests').length;

    clock.nowShift += settings.peerTimeoutMs * 2;
    const line = await h.waitLog('peer lost: this node was stalled', (l) => l.msg === 'peer lost: this node was stalled');
    assert.equal(line.peer, PEER);
    assert.ok((line.stalledMs as number) >= settings.peerTimeoutMs * 2 - 50, String(line.stalledMs));
    assert.equal(h.logs.filter((l) => l.msg === 'peer lost').length, 0, 'blamed on the peer\'s silence');

    // Its heartbeats never stopped: it is heard again, and the digest exchange runs anew.
    await h.waitLog('peer back', (l) => l.msg === 'peer back' && l.peer === PEER);
    await waitFor('connected again', () => node.state().peers[0]!.connected);
    await beta.waitRequest('a new digest exchange', (r) => r.t === 'digests', 3000, exchanges);
    await h.waitFile('aligned again', (f) => f.status === 'aligned');
  });

  it('a change read right after a stall, before the next tick, is not taken up: the node judges its own stall first', async (t) => {
    const clock = new TestClock();
    const h = await startNodeWithFakePeer(t, { clock, peerTimeoutMs: PEER_TIMEOUT_MS });
    const { beta, settings } = h;
    await h.connect();
    const before = readFileSync(h.file('app.conf'), 'utf8');
    const theirs = 'sent while the node was stalled\n';
    // The jump and the frame together: the frame arrives long before the next timer tick.
    clock.nowShift += settings.peerTimeoutMs * 2;
    await beta.publish(beta.change('app.conf', md5(before), theirs));
    await h.waitLog('peer lost: this node was stalled', (l) => l.msg === 'peer lost: this node was stalled');
    await h.waitLog('the frame ignored as out of reach', (l) => l.msg === 'ignored a frame' && l.reason === 'out of reach' && l.kind === 'change');
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), before, 'a frame from before the stall was applied');
  });
});

