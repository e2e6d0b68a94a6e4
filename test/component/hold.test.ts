import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ChangeFrame, HaveFrame } from '../../src/core/frame.js';
import { md5 } from '../helpers/cluster.js';
import { PEER, startNodeWithFakePeer } from '../helpers/in-process-node.js';

/**
 * A local version held back (CONTRACT.md, "No torn version leaves a node") as a peer sees it:
 * one real node in this process, a scripted fake peer beta. settleMs 1500 makes the hold long
 * enough for the fake to act inside it on a loaded machine.
 */

const V0 = 'v0\n';
const EMPTY = md5('');
const isChange = (m: string) => (f: { t: string }) => f.t === 'change' && (f as ChangeFrame).md5 === m;
const held = (path: string) => (l: { msg: string; path?: string }) => l.path === path && /^(local change held|file became empty)/.test(l.msg);

describe('a local version held back', () => {
  it('is not served: a pull meanwhile is refused, the digests name the version before; once sent, it is served', async (t) => {
    const h = await startNodeWithFakePeer(t, { settleMs: 1500 });
    const { beta } = h;
    await h.connect();
    truncateSync(h.file('app.conf'), 0);
    await h.waitLog('the empty file held', held(h.file('app.conf')));
    const refused = await beta.ask({ v: 1, t: 'pull', from: PEER, name: 'app.conf' });
    const digests = await beta.ask({ v: 1, t: 'digests', from: PEER, epoch: beta.epoch });
    assert.equal(h.fileState('app.conf').md5, md5(V0), 'the state names the version before');
    assert.deepEqual([refused.t, String(refused.message)], ['error', 'the file is being rewritten on this node; try again shortly']);
    assert.deepEqual(digests.files, { 'app.conf': md5(V0) });
    // The hold ends: the empty file is sent (emptied on purpose), and served.
    await beta.waitFrame('the empty version', isChange(EMPTY), 5000);
    const served = await beta.ask({ v: 1, t: 'pull', from: PEER, name: 'app.conf' });
    assert.deepEqual([served.t, served.md5], ['content', EMPTY]);
  });

  it('a peer\'s change that arrives meanwhile is decided once the hold ends, against what the writer left: sent first, then a split-brain', async (t) => {
    const h = await startNodeWithFakePeer(t, { settleMs: 1500 });
    const { beta } = h;
    await h.connect();
    const mine = 'alpha rewrote it\n';
    writeFileSync(h.file('app.conf'), mine);
    await h.waitLog('the local change held', held(h.file('app.conf')));
    const since = beta.mark();
    const theirs = 'beta changed it meanwhile\n';
    await beta.publish(beta.change('app.conf', md5(V0), theirs));
    const have = await beta.waitFrame<HaveFrame>('a have answering beta\'s change', (f) => f.t === 'have' && (f as HaveFrame).re === md5(theirs), 5000, since);
    const sent = beta.frames.slice(since).find(isChange(md5(mine)));
    // The have names a version the node had sent before it: never one the peer was not told of.
    assert.ok(sent && sent.seq < have.seq, 'alpha\'s own version was sent before the have');
    assert.deepEqual([have.md5, have.conflict], [md5(mine), PEER]);
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), mine, 'the local version is not overwritten');
    await h.waitFile('split-brain', (f) => f.status === 'split-brain');
  });
});
