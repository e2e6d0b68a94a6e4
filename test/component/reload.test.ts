import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { stringify, parse } from 'yaml';
import { loadSettings } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { md5, waitFor } from '../helpers/cluster.js';
import { PEER, startNodeWithFakePeer, type InProcess } from '../helpers/in-process-node.js';

// One node in-process, reloaded with EntangledNode.reload (what SIGHUP calls), against the fake peer.

/** The node's config with `patch` applied, loaded as start (and reload) would. */
function reconfigured(h: InProcess, patch: (cfg: Record<string, unknown>) => void) {
  const cfg = parse(readFileSync(h.settings.configPath, 'utf8')) as Record<string, unknown>;
  patch(cfg);
  writeFileSync(h.settings.configPath, stringify(cfg));
  return loadSettings(h.settings.configPath);
}

describe('reload, one node in-process', () => {
  it('an added file is in the digests the peer gets; a removed one is not, and a change of it is not written', async (t) => {
    const h = await startNodeWithFakePeer(t, { files: { 'app.conf': 'v0\n', 'old.conf': 'old\n' } });
    const { node, beta } = h;
    await h.connect();
    writeFileSync(h.file('new.conf'), 'new\n');
    const summary = await node.reload(reconfigured(h, (c) => (c.files = ['app.conf', 'new.conf'])));
    assert.deepEqual([summary.filesAdded, summary.filesRemoved], [['new.conf'], ['old.conf']]);
    const reply = await beta.ask({ v: 1, t: 'digests', from: PEER, epoch: beta.epoch });
    assert.deepEqual(reply.files, { 'app.conf': md5('v0\n'), 'new.conf': md5('new\n') });
    assert.deepEqual(node.state().files.map((f) => f.name), ['app.conf', 'new.conf']);
    // A change of the removed file is dropped at the door; a pull of it is refused.
    await beta.publish(beta.change('old.conf', md5('old\n'), 'from beta\n'));
    await beta.publish(beta.change('app.conf', md5('v0\n'), 'v1\n'));
    await waitFor('app.conf applied', () => readFileSync(h.file('app.conf'), 'utf8') === 'v1\n');
    assert.equal(readFileSync(h.file('old.conf'), 'utf8'), 'old\n');
    const pull = await beta.ask({ v: 1, t: 'pull', from: PEER, name: 'old.conf' });
    assert.equal(pull.t, 'error');
    // And the added file is watched.
    const since = beta.mark();
    writeFileSync(h.file('new.conf'), 'new, edited\n');
    await beta.waitFrame('new.conf change', (f) => f.t === 'change' && f.name === 'new.conf' && f.md5 === md5('new, edited\n'), 3000, since);
  });

  it('a reload that changes a fixed key throws a ConfigError and changes nothing', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { node } = h;
    const before = node.settings;
    await assert.rejects(
      node.reload(reconfigured(h, (c) => {
        c.node = 'omega';
        c.files = ['app.conf', 'entangled.yaml'];
      })),
      (err: unknown) => err instanceof ConfigError && /^node: cannot change while the node runs/.test(err.message),
    );
    assert.equal(node.settings, before);
    assert.deepEqual(node.state().files.map((f) => f.name), ['app.conf']);
  });

  it('peerTimeoutMs and reconcile follow the reload', async (t) => {
    const h = await startNodeWithFakePeer(t, { peerTimeoutMs: 1000 });
    const { node } = h;
    await h.connect();
    const summary = await node.reload(reconfigured(h, (c) => {
      c.peerTimeoutMs = 400;
      c.reconcile = 'auto';
    }));
    assert.deepEqual(summary.settings, ['reconcile', 'peerTimeoutMs']);
    assert.equal(node.state().reconcile, 'auto');
    // Silence longer than the new timeout (but well under the old one) loses the peer.
    h.beta.stopHeartbeats();
    const lost = await h.waitLog('peer lost', (l) => l.msg === 'peer lost');
    assert.ok((lost.silentMs as number) < 1000, `lost after ${String(lost.silentMs)} ms: still the old timeout`);
  });
});
