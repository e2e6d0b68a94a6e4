import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineCluster, startCluster, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';
import { MiB, saveLargeFile, transferOf, type TransferDoc } from '../helpers/large-file.js';

const SIZE_MIB = 300;

/** Bytes never go back, the total is the file's size, and the direction is the node's side. */
function assertProgress(samples: TransferDoc[], direction: 'in' | 'out', what: string): void {
  assert.ok(samples.length >= 3, `${what}: only ${samples.length} samples showed a transfer`);
  for (const [i, s] of samples.entries()) {
    assert.equal(s.direction, direction, what);
    assert.equal(s.total, SIZE_MIB * MiB, what);
    assert.ok(s.bytes >= 0 && s.bytes <= s.total, `${what}: ${s.bytes} of ${s.total}`);
    if (i > 0) assert.ok(s.bytes >= samples[i - 1]!.bytes, `${what}: bytes went back from ${samples[i - 1]!.bytes} to ${s.bytes}`);
  }
  assert.ok(samples.at(-1)!.bytes > samples[0]!.bytes, `${what}: bytes never grew (${samples[0]!.bytes})`);
}

describe('transfer progress in the state', () => {
  it(`a ${SIZE_MIB} MiB transfer shows growing bytes on both nodes (in on the receiver, out on the sender), then nothing`, async () => {
    const { root, nodes } = await defineCluster({ files: { 'big.bin': 'small at first\n' } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      const want = saveLargeFile(a.file('big.bin'), SIZE_MIB);
      const ins: TransferDoc[] = [];
      const outs: TransferDoc[] = [];
      await waitFor('beta holds the large version', async () => {
        const [sent, got] = await Promise.all([transferOf(a, 'big.bin', 'beta'), transferOf(b, 'big.bin', 'alpha')]);
        if (sent.transfer) outs.push(sent.transfer);
        if (got.transfer) ins.push(got.transfer);
        if (got.file.md5 !== want) return false;
        // The same document that shows the new version shows no transfer any more.
        assert.equal(got.transfer, undefined, 'beta still shows a transfer of the version it holds');
        return true;
      }, 30_000, 15);
      assertProgress(ins, 'in', 'beta (receiver)');
      assertProgress(outs, 'out', 'alpha (sender)');
      assert.ok(ins.some((s) => s.bytes > 0 && s.bytes < s.total), 'beta showed a transfer under way');

      await a.waitStatus('big.bin', 'aligned');
      await b.waitStatus('big.bin', 'aligned');
      assert.equal((await transferOf(a, 'big.bin', 'beta')).transfer, undefined, 'alpha still shows its transfer after beta confirmed');
      assert.equal((await transferOf(b, 'big.bin', 'alpha')).transfer, undefined);

      // The OpenAPI document describes it: optional in a peer's entry, its three fields required.
      const doc = (await (await fetch(`${a.api}/api/1/openapi.json`)).json()) as { components: { schemas: Record<string, any> } };
      const peerEntry = doc.components.schemas.File.properties.peers.additionalProperties;
      assert.deepEqual(peerEntry.properties.transfer, { $ref: '#/components/schemas/Transfer' });
      assert.ok(!peerEntry.required.includes('transfer'));
      assert.deepEqual(doc.components.schemas.Transfer.required, ['direction', 'bytes', 'total']);
      assert.deepEqual(doc.components.schemas.Transfer.properties.direction.enum, ['in', 'out']);
    } finally {
      await stopAll([a, b], root);
    }
  });

  it('the sender\'s bar goes when the receiver is killed mid-transfer', async () => {
    const { root, nodes } = await defineCluster({ files: { 'big.bin': 'small at first\n' } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      saveLargeFile(a.file('big.bin'), SIZE_MIB);
      await waitFor('alpha serves beta', async () => ((await transferOf(a, 'big.bin', 'beta')).transfer?.bytes ?? 0) > 0, 20_000, 10);
      await b.stop('SIGKILL');
      const stuck = (await transferOf(a, 'big.bin', 'beta')).transfer;
      assert.ok(stuck && stuck.bytes < stuck.total, 'the transfer was cut short');
      // Lost after peerTimeoutMs (1 s here), and abandoned after twice the request timeout anyway.
      await waitFor('alpha no longer shows a transfer to beta', async () => (await transferOf(a, 'big.bin', 'beta')).transfer === undefined, 5000, 20);
    } finally {
      await stopAll([a, b], root);
    }
  });
});
