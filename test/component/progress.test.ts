import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describe, it, type TestContext } from 'node:test';
import { PROGRESS_NOTIFY_MS } from '../../src/node/progress.js';
import { md5 } from '../helpers/cluster.js';
import { PEER, startNodeWithFakePeer, type InProcess } from '../helpers/in-process-node.js';
import { MiB, saveLargeFile } from '../helpers/large-file.js';

/** The sending side of a chunked transfer: the fake peer asks the node for chunks of a large file. */

const CHUNK = 4 * MiB;

/** A node listing big.bin, which then holds `mib` MiB; returns the harness and that version's md5. */
async function withLargeFile(t: TestContext, mib: number): Promise<{ h: InProcess; version: string }> {
  const h = await startNodeWithFakePeer(t, { files: { 'big.bin': 'small\n' } });
  await h.connect();
  const version = saveLargeFile(h.file('big.bin'), mib);
  await h.waitFile('the large version hashed', (f) => f.md5 === version, 10_000);
  return { h, version };
}

const chunk = (h: InProcess, version: string, offset: number) => h.beta.ask({ v: 1, t: 'pull', from: PEER, name: 'big.bin', md5: version, offset });
const shown = (h: InProcess) => h.fileState('big.bin').peers[PEER]!.transfer;

describe('an outgoing transfer in the state', () => {
  it('shows the bytes served from the first chunk until the last one is served', async (t) => {
    const { h, version } = await withLargeFile(t, 10);
    const total = 10 * MiB;
    assert.equal(shown(h), undefined);
    assert.equal((await chunk(h, version, 0)).t, 'chunk');
    assert.deepEqual(shown(h), { direction: 'out', bytes: CHUNK, total });
    assert.equal((await chunk(h, version, CHUNK)).t, 'chunk');
    assert.deepEqual(shown(h), { direction: 'out', bytes: 2 * CHUNK, total });
    // A receiver that starts over starts a new transfer.
    assert.equal((await chunk(h, version, 0)).t, 'chunk');
    assert.deepEqual(shown(h), { direction: 'out', bytes: CHUNK, total });
    await chunk(h, version, CHUNK);
    assert.equal((await chunk(h, version, 2 * CHUNK)).t, 'chunk');
    assert.equal(shown(h), undefined, 'the last chunk ends it');
  });

  it('goes when nothing was asked for twice the request timeout (the receiver gave up), with a log line naming path and peer', async (t) => {
    const { h, version } = await withLargeFile(t, 10);
    // Taken before the request: the chunk is served (and the transfer last moves) after it.
    const since = performance.now();
    await chunk(h, version, 0);
    assert.equal(shown(h)?.bytes, CHUNK);
    // The fake keeps heartbeating: the peer stays in reach, only the transfer stops.
    await h.waitFile('the transfer no longer shown', (f) => f.peers[PEER]!.transfer === undefined, 6000, 'big.bin');
    const after = performance.now() - since;
    const staleMs = 2 * Math.min(Math.max(h.settings.peerTimeoutMs, 500), 5000);
    assert.ok(after >= staleMs, `gone after ${Math.round(after)} ms, before ${staleMs} ms without a request`);
    assert.ok(h.node.state().peers[0]!.connected, 'beta is still in reach');
    const line = await h.waitLog('the abandoned transfer', (l) => l.msg === 'outgoing transfer abandoned by the peer');
    assert.equal(line.path, h.file('big.bin'));
    assert.equal(line.peer, PEER);
  });

  it('goes at once when this node no longer holds the version being served', async (t) => {
    const { h, version } = await withLargeFile(t, 10);
    await chunk(h, version, 0);
    assert.equal(shown(h)?.bytes, CHUNK);
    writeFileSync(h.file('big.bin'), 'moved on\n');
    await h.waitFile('the new version hashed', (f) => f.md5 === md5('moved on\n'));
    assert.deepEqual(await chunk(h, version, CHUNK), { v: 1, t: 'error', message: 'version changed' });
    assert.equal(shown(h), undefined);
  });

  it('goes when the peer is lost (before the transfer would have expired)', async (t) => {
    const { h, version } = await withLargeFile(t, 10);
    await chunk(h, version, 0);
    h.beta.stopHeartbeats();
    await h.waitFile('the transfer no longer shown', (f) => f.peers[PEER]!.transfer === undefined, 6000, 'big.bin');
    assert.equal(h.node.state().peers[0]!.connected, false);
    assert.equal(h.logs.find((l) => l.msg === 'outgoing transfer abandoned by the peer'), undefined, 'the peer-lost path cleared it, not the expiry');
  });

  it(`tells the view's subscribers at the start and the end, and at most every ${PROGRESS_NOTIFY_MS} ms in between`, async (t) => {
    const chunks = 24;
    const { h, version } = await withLargeFile(t, (chunks * CHUNK) / MiB);
    let told = 0;
    const unsubscribe = h.node.subscribe(() => told++);
    t.after(unsubscribe);
    const start = performance.now();
    for (let i = 0; i < chunks; i++) assert.equal((await chunk(h, version, i * CHUNK)).t, 'chunk', `chunk ${i}`);
    const elapsed = performance.now() - start;
    assert.equal(shown(h), undefined);
    // The start, the end, and one per throttle period (plus one at a period's edge).
    const bound = 2 + Math.ceil(elapsed / PROGRESS_NOTIFY_MS) + 1;
    assert.ok(told >= 2, `told ${told} times`);
    assert.ok(told <= bound, `told ${told} times in ${Math.round(elapsed)} ms for ${chunks} chunks (at most ${bound})`);
  });
});
