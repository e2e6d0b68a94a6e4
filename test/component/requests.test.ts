import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pack } from 'msgpackr';
import { EntangledError } from '../../src/core/errors.js';
import { md5, waitFor } from '../helpers/cluster.js';
import { NODE, PEER, startNodeWithFakePeer } from '../helpers/in-process-node.js';

/** The node's REP, asked by the fake peer's REQ; and the node's own requests (force) answered by the fake's Router. */

const V0 = 'v0\n';
const FILES = { 'app.conf': V0, 'absent.conf': null };

describe('the node\'s REP side', () => {
  it('a digests request gets the digest map (and tells the node the requester is alive)', async (t) => {
    const h = await startNodeWithFakePeer(t, { files: FILES });
    const { beta, node } = h;
    const reply = await beta.ask({ v: 1, t: 'digests', from: PEER, epoch: beta.epoch });
    // `agreed`: the node's journal with beta, empty since they never agreed.
    assert.deepEqual(reply, { v: 1, t: 'digests', from: NODE, epoch: node.epoch, files: { 'app.conf': md5(V0), 'absent.conf': null }, pending: [], agreed: {} });
    // No heartbeat was sent: the request alone brought beta into reach, and the node asks back.
    await waitFor('beta connected', () => node.state().peers[0]!.connected);
    await beta.waitRequest('beta\'s digests in turn', (r) => r.t === 'digests');
  });

  it('a pull of a listed name gets its content; of an unlisted name, or from an unknown peer, an error', async (t) => {
    const h = await startNodeWithFakePeer(t, { files: FILES });
    const { beta } = h;
    const content = await beta.ask({ v: 1, t: 'pull', from: PEER, name: 'app.conf' });
    assert.equal(content.t, 'content');
    assert.equal(content.md5, md5(V0));
    assert.equal(Buffer.from(content.data as Uint8Array).toString(), V0);
    assert.deepEqual(await beta.ask({ v: 1, t: 'pull', from: PEER, name: 'absent.conf' }), { v: 1, t: 'content', name: 'absent.conf', md5: null, data: null, size: 0 });

    for (const name of ['/etc/passwd', h.file('app.conf'), '../app.conf', 'state/alpha.journal.json']) {
      const r = await beta.ask({ v: 1, t: 'pull', from: PEER, name });
      assert.equal(r.t, 'error', `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.message, 'name not listed here');
    }
    const foreign = await beta.ask(pack({ v: 1, t: 'pull', from: 'mallory', name: 'app.conf' }));
    assert.deepEqual(foreign, { v: 1, t: 'error', message: 'unknown peer "mallory"' });
    // And it keeps serving.
    assert.equal((await beta.ask({ v: 1, t: 'pull', from: PEER, name: 'app.conf' })).md5, md5(V0));
  });

  it('a take (forced push) writes the file, answers took, and publishes the version to its other peers only (not back to the pusher)', async (t) => {
    const h = await startNodeWithFakePeer(t, { files: FILES });
    const { beta } = h;
    await h.connect();
    const pushed = Buffer.from('forced by beta\n');
    beta.hold('app.conf', pushed);
    const since = beta.mark();
    const reply = await beta.ask({ v: 1, t: 'take', from: PEER, name: 'app.conf', md5: md5(pushed), data: pushed, size: pushed.length });
    assert.deepEqual(reply, { v: 1, t: 'took', name: 'app.conf', md5: md5(pushed), result: 'updated' });
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), pushed.toString());
    await h.waitFile('aligned', (f) => f.status === 'aligned' && f.md5 === md5(pushed));
    // The pusher holds that version: the change is for the node's other peers, and it has none.
    await beta.waitTicks(3, since);
    assert.equal(beta.frames.slice(since).filter((f) => f.t === 'change').length, 0, 'no change frame back to the pusher');

    // A take of what the node already holds changes nothing.
    assert.equal((await beta.ask({ v: 1, t: 'take', from: PEER, name: 'app.conf', md5: md5(pushed), data: pushed, size: pushed.length })).result, 'unchanged');
    // One that creates a listed, absent file.
    const created = Buffer.from('created by a push\n');
    assert.equal((await beta.ask({ v: 1, t: 'take', from: PEER, name: 'absent.conf', md5: md5(created), data: created, size: created.length })).result, 'updated');
    assert.equal(readFileSync(h.file('absent.conf'), 'utf8'), created.toString());
    // Content that does not match its md5 is refused, and nothing is written.
    const lie = await beta.ask(pack({ v: 1, t: 'take', from: PEER, name: 'app.conf', md5: md5('something else'), data: Buffer.from('evil\n'), size: 5 }));
    assert.equal(lie.t, 'error');
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), pushed.toString());
  });
});

describe('force pull through node.force()', () => {
  const isCode = (code: string) => (err: unknown) => {
    assert.ok(err instanceof EntangledError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  };

  it('writes the content the peer\'s REP answers the pull with', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, node } = h;
    await h.connect();
    const theirs = 'beta\'s version, forced\n';
    beta.hold('app.conf', theirs);
    const pulls = beta.requests.length;
    const report = await node.force({ peer: PEER, direction: 'pull' });
    assert.deepEqual(report, { peer: PEER, direction: 'pull', results: [{ name: 'app.conf', path: h.file('app.conf'), result: 'updated', md5: md5(theirs) }] });
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), theirs);
    const pull = await beta.waitRequest('the pull', (r) => r.t === 'pull', 100, pulls);
    assert.deepEqual(pull, { v: 1, t: 'pull', from: NODE, name: 'app.conf' });
    await h.waitFile('aligned', (f) => f.status === 'aligned' && f.md5 === md5(theirs));
    // A second force finds both sides equal.
    assert.equal((await node.force({ peer: PEER, direction: 'pull' })).results[0]!.result, 'unchanged');
  });

  it('a malformed reply is PEER_FAULT, no reply is PEER_UNREACHABLE; nothing is written, and the link recovers', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, node } = h;
    await h.connect();
    const force = () => node.force({ peer: PEER, direction: 'pull', files: ['app.conf'] });

    beta.answerNext('pull', { raw: Buffer.from('definitely not msgpack') });
    await assert.rejects(force(), isCode('PEER_FAULT'));
    const lie = Buffer.from('bytes that are not the md5\n');
    beta.answerNext('pull', { raw: pack({ v: 1, t: 'content', name: 'app.conf', md5: md5('other'), data: lie, size: lie.length }) });
    await assert.rejects(force(), isCode('PEER_FAULT'));
    beta.answerNext('pull', { reply: { v: 1, t: 'digests', from: PEER, epoch: beta.epoch, files: {}, pending: [] } });
    await assert.rejects(force(), isCode('PEER_FAULT'));
    beta.answerNext('pull', { reply: { v: 1, t: 'error', message: 'no such thing' } });
    await assert.rejects(force(), (err) => isCode('PEER_FAULT')(err) && (err as Error).message === 'peer "beta" refused: no such thing');
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);

    beta.answerNext('pull', 'ignore');
    const asked = performance.now();
    // The error names the peer that did not answer, where it was asked, and what to check.
    await assert.rejects(force(), (err) => isCode('PEER_UNREACHABLE')(err) && /^peer "beta": no reply in time \(\d+ ms\); is it running, and is tcp:\/\/127\.0\.0\.1:\d+ reachable from here\?$/.test((err as Error).message));
    assert.ok(performance.now() - asked < 5000);
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), V0);

    // The REQ socket was reset after the timeout: the next pull goes through.
    const theirs = 'after the silence\n';
    beta.hold('app.conf', theirs);
    assert.equal((await force()).results[0]!.result, 'updated');
    assert.equal(readFileSync(h.file('app.conf'), 'utf8'), theirs);
  });

  it('a peer not in reach is PEER_UNREACHABLE at once, without a request; an unknown peer or file is BAD_REQUEST', async (t) => {
    const h = await startNodeWithFakePeer(t);
    const { beta, node } = h;
    await assert.rejects(node.force({ peer: PEER, direction: 'pull' }), isCode('PEER_UNREACHABLE'));
    assert.equal(beta.requests.length, 0);
    await assert.rejects(node.force({ peer: 'gamma' }), isCode('BAD_REQUEST'));
    await assert.rejects(node.force({ peer: PEER, files: ['/etc/passwd'] }), isCode('BAD_REQUEST'));
  });
});
