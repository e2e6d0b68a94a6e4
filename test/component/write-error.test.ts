import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ChangeFrame, HaveFrame } from '../../src/core/frame.js';
import { md5, waitFor } from '../helpers/cluster.js';
import { PEER, startNodeWithFakePeer, type InProcess } from '../helpers/in-process-node.js';

/**
 * A write problem is data in the state while its cause lasts, and only then: the file's
 * validate command (`false`: it refuses every version) stands in for an unwritable target.
 */

const V0 = 'v0\n';
const REFUSED = 'a version validate refuses\n';

/** A node whose validate refuses every version, connected to beta, after beta's change was refused. */
async function refusedChange(t: Parameters<typeof startNodeWithFakePeer>[0]): Promise<InProcess> {
  const h = await startNodeWithFakePeer(t, { validate: { 'app.conf': 'false' } });
  await h.connect();
  h.beta.hold('app.conf', REFUSED);
  await h.beta.publish(h.beta.change('app.conf', md5(V0), REFUSED));
  const f = await h.waitFile('a write error', (x) => x.error !== null);
  assert.match(f.error!, new RegExp(`validate refused version ${md5(REFUSED)} from ${PEER}`));
  assert.equal(f.md5, md5(V0));
  assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);
  assert.ok(h.logs.some((l) => l.msg === 'hook validate failed'));
  return h;
}

describe('a write problem', () => {
  it('a refused change is an error in the state; its retransmission is not retried and the error stays', async (t) => {
    const h = await refusedChange(t);
    const { beta } = h;
    // Not applied, so not acknowledged: beta sends it again.
    await beta.publish(beta.change('app.conf', md5(V0), REFUSED));
    await h.waitLog('the retransmission not retried', (l) => l.msg === 'not retrying a version the validate command refused');
    assert.notEqual(h.fileState().error, null);
    // Each is answered with the refusal (the sender shows it), never with an ack: the copy is still V0.
    await waitFor('the refusal told again', () => beta.frames.filter((f) => f.t === 'have' && f.re === md5(REFUSED)).length >= 2, 3000);
    for (const f of beta.frames.filter((x) => x.t === 'have' && x.re === md5(REFUSED)) as HaveFrame[]) {
      assert.equal(f.md5, md5(V0), 'a refused change was acknowledged');
      assert.equal(f.conflict, null);
      assert.match(f.error ?? '', new RegExp(`^validate refused version ${md5(REFUSED)} from ${PEER}`));
    }
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);
  });

  it('clears once the peer says (have) that it moved on to another version', async (t) => {
    const h = await refusedChange(t);
    const { beta } = h;
    const next = 'beta moved on\n';
    beta.hold('app.conf', next);
    await beta.publish(beta.have('app.conf', md5(next)));
    const f = await h.waitFile('the error cleared', (x) => x.error === null);
    assert.equal(f.peers[PEER]!.md5, md5(next));
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);
  });

  it('clears once the local file is edited (and published): the refused version is no longer wanted', async (t) => {
    const h = await refusedChange(t);
    const { beta } = h;
    const since = beta.mark();
    writeFileSync(h.file('app.conf'), 'edited here\n');
    const change = await beta.waitFrame<ChangeFrame>('the local edit', (f) => f.t === 'change' && f.md5 === md5('edited here\n'), 3000, since);
    assert.equal(change.prev, md5(V0));
    await h.waitFile('the error cleared', (x) => x.error === null);
  });

  it('clears once the peer\'s digests (a refresh its heartbeat asks for) show it moved on', async (t) => {
    const h = await refusedChange(t);
    const { beta } = h;
    const since = beta.requests.length;
    const next = 'beta moved on, its have lost\n';
    // No have: only beta's heartbeats, whose digest sum now differs, tell the node to refresh.
    beta.hold('app.conf', next);
    await beta.waitRequest('a digest refresh', (r) => r.t === 'digests', 3000, since);
    await h.waitFile('beta\'s new copy learnt', (x) => x.peers[PEER]!.md5 === md5(next));
    await h.waitFile('the error cleared', (x) => x.error === null, 1000);
  });
});
