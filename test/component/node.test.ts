import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ChangeFrame, HaveFrame } from '../../src/core/frame.js';
import { md5, waitFor } from '../helpers/cluster.js';
import type { FakePeer } from '../helpers/fake-peer.js';
import { NODE, PEER, startNodeWithFakePeer } from '../helpers/in-process-node.js';

/**
 * One real node in this process (real files, real sockets on loopback) and a scripted fake
 * peer beta: connecting, publishing local changes, taking up beta's changes.
 */

const V0 = 'v0\n';
const isChange = (m: string) => (f: { t: string }) => f.t === 'change' && (f as ChangeFrame).md5 === m;
const isHaveRe = (m: string) => (f: { t: string }) => f.t === 'have' && (f as HaveFrame).re === m;

/**
 * The changes of version `m` the node sent in the ticks after `since` (once the ack was taken
 * up): only those after the second heartbeat count, the node publishes in order, so a
 * retransmission already on its way when the ack arrived comes before it.
 */
async function sentAfterAck(beta: FakePeer, since: number, m: string): Promise<number> {
  await beta.waitTicks(4, since);
  const settled = beta.frames.slice(since).filter((f) => f.t === 'hb')[1]!.seq;
  return beta.frames.filter((f) => f.seq > settled && isChange(m)(f)).length;
}

describe('connecting to a peer', () => {
  it('the peer\'s heartbeats make the node request its digests; after the exchange the file is aligned', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, node } = h;
    // Not heard yet: nothing known of beta's copy, and no exchange asked for.
    assert.equal(node.state().peers[0]!.connected, false);
    assert.equal(h.fileState('app.conf').peers[PEER]!.status, 'unknown');
    assert.equal(beta.requests.length, 0);

    beta.startHeartbeats();
    const req = await beta.waitRequest('its digests', (r) => r.t === 'digests');
    assert.deepEqual(req, { v: 1, t: 'digests', from: NODE, epoch: node.epoch });
    const f = await h.waitFile('app.conf aligned', (x) => x.status === 'aligned');
    assert.deepEqual(f.peers, { [PEER]: { md5: md5(V0), status: 'aligned' } });
    assert.equal(f.md5, md5(V0));
    assert.equal(f.error, null);
    const peer = node.state().peers[0]!;
    assert.equal(peer.name, PEER);
    assert.equal(peer.connected, true);
    assert.ok(peer.lastSeen !== null && Math.abs(Date.parse(peer.lastSeen) - Date.now()) < 60_000, peer.lastSeen ?? 'null');
    assert.ok(h.logs.some((l) => l.msg === 'peer connected' && l.peer === PEER));
  });

  it('a copy that differs at connect (reconcile: manual) is a split-brain, told to the peer, and neither copy is written', async (t) => {
    const h = await startNodeWithFakePeer(t, { peerFiles: { 'app.conf': 'beta\'s own\n' } });
    h.beta.startHeartbeats();
    await h.waitFile('split-brain', (f) => f.status === 'split-brain');
    const have = await h.beta.waitFrame<HaveFrame>('a have naming beta as the conflict', (f) => f.t === 'have' && f.conflict === PEER);
    assert.equal(have.md5, md5(V0));
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);
  });
});

describe('a local change', () => {
  it('is published naming prev and md5, addressed to the peer\'s incarnation; a have answering it makes the file aligned', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, node } = h;
    await h.connect();
    const since = beta.mark();
    writeFileSync(h.file('app.conf'), 'v1\n');
    const change = await beta.waitFrame<ChangeFrame>('the change', isChange(md5('v1\n')), 3000, since);
    assert.equal(change.from, NODE);
    assert.equal(change.epoch, node.epoch);
    assert.equal(change.name, 'app.conf');
    assert.equal(change.prev, md5(V0));
    assert.deepEqual(change.to, { [PEER]: beta.epoch });
    assert.equal(Buffer.from(change.data!).toString(), 'v1\n');
    assert.equal(change.size, 3);
    // Sent and not confirmed: pending until beta answers.
    assert.equal(h.fileState().peers[PEER]!.status, 'pending');

    await beta.ack(change);
    const f = await h.waitFile('aligned after the have', (x) => x.status === 'aligned');
    assert.equal(f.md5, md5('v1\n'));
    assert.equal(f.peers[PEER]!.md5, md5('v1\n'));
    // Confirmed: no retransmission in the following ticks.
    assert.equal(await sentAfterAck(beta, beta.mark(), md5('v1\n')), 0, 'retransmitted after the ack');
  });

  it('is retransmitted, unchanged, within a couple of heartbeats while unacknowledged, and no more once acknowledged', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, settings } = h;
    await h.connect();
    const hbMs = Math.floor(settings.peerTimeoutMs / 5);
    const since = beta.mark();
    writeFileSync(h.file('app.conf'), 'v1\n');
    const first = await beta.waitFrame<ChangeFrame>('the change', isChange(md5('v1\n')), 3000, since);
    const again = await beta.waitFrame<ChangeFrame>('a retransmission', (f) => f.seq > first.seq && isChange(md5('v1\n'))(f), 3 * hbMs + 500, since);
    assert.equal(again.prev, first.prev);
    assert.deepEqual(again.to, first.to);
    assert.deepEqual(Buffer.from(again.data!), Buffer.from(first.data!));
    assert.equal(h.fileState().peers[PEER]!.status, 'pending');

    await beta.ack(again);
    await h.waitFile('aligned', (f) => f.status === 'aligned');
    assert.equal(await sentAfterAck(beta, beta.mark(), md5('v1\n')), 0, 'retransmitted after the ack');
  });
});

/** Whether a read of a file written a moment ago moves its atime (relatime, strictatime: yes; noatime: no). */
async function readsMoveAtime(file: string): Promise<boolean> {
  writeFileSync(file, 'probe\n');
  await new Promise((r) => setTimeout(r, 30));
  readFileSync(file);
  const st = statSync(file, { bigint: true });
  return st.atimeNs - st.ctimeNs >= 20_000_000n;
}

describe('a change from the peer', () => {
  it('naming the node\'s copy as prev is applied: the bytes on disk, a have answering it, aligned, no echo', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta } = h;
    await h.connect();
    const theirs = 'v1 from beta\n';
    beta.hold('app.conf', theirs);
    const since = beta.mark();
    await beta.publish(beta.change('app.conf', md5(V0), theirs));
    const have = await beta.waitFrame<HaveFrame>('a have answering the change', isHaveRe(md5(theirs)), 3000, since);
    assert.equal(have.md5, md5(theirs));
    assert.equal(have.conflict, null);
    assert.equal(have.from, NODE);
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), theirs);
    const f = await h.waitFile('aligned', (x) => x.status === 'aligned');
    assert.equal(f.md5, md5(theirs));
    // The watcher sees the node's own rename: it must not come back as a change of the node's.
    await beta.waitTicks(3, have.seq);
    assert.equal(beta.frames.slice(since).filter((x) => x.t === 'change').length, 0, 'the applied change echoed back');
  });

  it('once written, is read again only when that read is settled (ctime 20 ms old), so the next change\'s look is a stat', async (t) => {
    const h = await startNodeWithFakePeer(t);
    if (!(await readsMoveAtime(h.file('probe')))) {
      t.skip('this filesystem does not update atime on a read (noatime): the settling read cannot be seen');
      return;
    }
    const { beta } = h;
    await h.connect();
    const theirs = 'v1 from beta, read settled\n';
    beta.hold('app.conf', theirs);
    const since = beta.mark();
    await beta.publish(beta.change('app.conf', md5(V0), theirs));
    await beta.waitFrame<HaveFrame>('a have answering the change', isHaveRe(md5(theirs)), 3000, since);
    // relatime: the first read after the rename moves atime past ctime, later reads do not. A
    // read right at the watcher's event of the rename (not settled) would leave it within ms.
    const lag = (): number => {
      const st = statSync(h.file('app.conf'), { bigint: true });
      return Number(st.atimeNs - st.ctimeNs) / 1e6;
    };
    await waitFor('the settling read', () => lag() >= 20, 3000, 5);
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), theirs);
    // Aligned once the agreement is journaled, which is saved a moment after the write (later than
    // the settling read on a busy machine): waited for, not assumed.
    assert.equal((await h.waitFile('aligned', (x) => x.status === 'aligned')).md5, md5(theirs));
  });

  // `conflict` names the node the sender is in split-brain with, i.e. the receiver (beta), which
  // recognises itself in it (decideHave: conflict === self).
  it('naming another prev is a split-brain: a have naming beta as the conflict, and the file is not overwritten', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta } = h;
    await h.connect();
    const theirs = 'beta changed something else\n';
    const since = beta.mark();
    await beta.publish(beta.change('app.conf', md5('a version alpha never had\n'), theirs));
    const have = await beta.waitFrame<HaveFrame>('a have answering the change', isHaveRe(md5(theirs)), 3000, since);
    assert.equal(have.conflict, PEER);
    assert.equal(have.from, NODE);
    assert.equal(have.md5, md5(V0));
    const f = await h.waitFile('split-brain', (x) => x.status === 'split-brain');
    assert.equal(f.peers[PEER]!.status, 'split-brain');
    assert.equal(f.peers[PEER]!.md5, md5(theirs));
    assert.equal(f.md5, md5(V0));
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);
    assert.ok(h.logs.some((l) => l.msg.startsWith('split-brain') && l.peer === PEER));
  });

  it('not addressed to this incarnation, or from an epoch other than its heartbeats\', is dropped: nothing written', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, node } = h;
    await h.connect();
    const since = beta.mark();
    const dropsBefore = h.logs.filter((l) => l.msg === 'ignored a frame').length;
    const bad: { body: string; over: Partial<ChangeFrame>; reason: string }[] = [
      { body: 'to an older incarnation\n', over: { to: { [NODE]: 'an-older-epoch' } }, reason: 'not addressed' },
      { body: 'to nobody\n', over: { to: {} }, reason: 'not addressed' },
      { body: 'to another node\n', over: { to: { gamma: node.epoch } }, reason: 'not addressed' },
      { body: 'from another incarnation\n', over: { epoch: 'not-the-heartbeats-epoch' }, reason: 'out of reach' },
    ];
    for (const b of bad) await beta.publish(beta.change('app.conf', md5(V0), b.body, b.over));
    const drops = await waitFor('four drops logged', () => {
      const d = h.logs.filter((l) => l.msg === 'ignored a frame').slice(dropsBefore);
      return d.length >= bad.length ? d : null;
    });
    assert.deepEqual(drops.map((d) => d.reason), bad.map((b) => b.reason));
    assert.ok(drops.every((d) => d.peer === PEER && d.kind === 'change'));
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);

    // The same channel still carries a proper change: frames are taken up in order, so once it
    // is applied the dropped ones were decided (and not one of them answered).
    const good = 'addressed properly\n';
    beta.hold('app.conf', good);
    await beta.publish(beta.change('app.conf', md5(V0), good));
    await beta.waitFrame('a have answering the proper change', isHaveRe(md5(good)), 3000, since);
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), good);
    for (const b of bad) assert.equal(beta.frames.slice(since).filter(isHaveRe(md5(b.body))).length, 0, `answered: ${b.body}`);
  });
});
