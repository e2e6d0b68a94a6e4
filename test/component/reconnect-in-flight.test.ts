import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ChangeFrame } from '../../src/core/frame.js';
import { md5, waitFor } from '../helpers/cluster.js';
import { PEER, startNodeWithFakePeer, TestClock } from '../helpers/in-process-node.js';

/**
 * A change of the peer's that this node missed because it lost the peer for a moment (its own
 * stall), and that the peer still has in flight when they meet again: the connect exchange
 * leaves it to the retransmission, which is judged as the first frame would have been.
 */

const PEER_TIMEOUT_MS = 1000;

describe('a change in flight across a reconnect', () => {
  it('in split-brain, the peer\'s new change missed during this node\'s stall still resolves it when retransmitted', async (t) => {
    const clock = new TestClock();
    const ours = 'alpha\'s side\n';
    const theirs = 'beta\'s side\n';
    const resolved = 'beta\'s new change, made while alpha was in its reach\n';
    const h = await startNodeWithFakePeer(t, { clock, peerTimeoutMs: PEER_TIMEOUT_MS, files: { 'app.conf': ours }, peerFiles: { 'app.conf': theirs } });
    const { beta, settings } = h;
    await h.connect();
    await h.waitFile('split-brain at the connect exchange', (f) => f.peers[PEER]!.status === 'split-brain');

    // beta changes its side while alpha is in its reach; alpha stalls before it reads the frame.
    const change: ChangeFrame = beta.change('app.conf', md5(theirs), resolved);
    beta.hold('app.conf', resolved);
    const exchanges = beta.requests.filter((r) => r.t === 'digests').length;
    clock.nowShift += settings.peerTimeoutMs * 2;
    await beta.publish(change);
    await h.waitLog('the change ignored as out of reach', (l) => l.msg === 'ignored a frame' && l.reason === 'out of reach' && l.kind === 'change');

    // They meet again: beta's digests carry its new version, with that change still pending to alpha.
    beta.answerNext('digests', { reply: { v: 1, t: 'digests', from: PEER, epoch: beta.epoch, files: beta.digests(), pending: ['app.conf'] } });
    await beta.waitRequest('the connect exchange after the stall', (r) => r.t === 'digests', 3000, exchanges);
    await waitFor('alpha has beta in reach again, its connect exchange done', () => {
      const s = h.node.state();
      return s.peers[0]!.connected && s.files[0]!.peers[PEER]!.status !== 'unknown';
    }, 3000);

    // beta's retransmission: the change alpha would have applied had it read the first frame.
    await beta.publish({ ...change, to: { [h.settings.node]: beta.nodeEpoch! } });
    await h.waitFile('aligned on beta\'s new change', (f) => f.status === 'aligned' && f.md5 === md5(resolved));
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), resolved);
    await h.waitLog('the split-brain resolved', (l) => l.msg === 'split-brain resolved' && l.peer === PEER);
  });
});
