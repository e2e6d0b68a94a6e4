import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { defineCluster, md5, md5File, patchConfig, runCli, startCluster, stopAll, waitFor, type LogLine, type RunningNode } from '../helpers/cluster.js';

// Nodes that list different files say so (CONTRACT.md, "Replication behaviour"): real
// processes, real sockets. alpha lists a.conf, beta lists b.conf, both list shared.conf.

/** The value of one Prometheus series in the node's /metrics (0 when absent). */
async function metric(n: RunningNode, series: string): Promise<number> {
  const text = await (await fetch(`${n.api}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const mentions = (l: LogLine, name: string) => JSON.stringify(l).includes(name);

/** Saves like an editor (a temp file renamed over it): one new version per save, never a truncated one. */
function save(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

describe('nodes that list different names', () => {
  it('show unlisted on both sides, warn once per peer at connect, and count the frames they drop without a line each', async () => {
    const { root, nodes } = await defineCluster({ files: { 'shared.conf': 's0\n', 'a.conf': 'a0\n', 'b.conf': 'b0\n' } });
    patchConfig(nodes[0]!, (c) => (c.files = ['shared.conf', 'a.conf']));
    patchConfig(nodes[1]!, (c) => (c.files = ['shared.conf', 'b.conf']));
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      for (const [n, own, peer] of [[a, 'a.conf', 'beta'], [b, 'b.conf', 'alpha']] as const) {
        const f = await n.waitStatus(own, 'unlisted');
        assert.deepEqual(f.peers[peer], { md5: null, status: 'unlisted' });
        await n.waitStatus('shared.conf', 'aligned');
        await waitFor(`${n.def.name}: entangled_files{status="unlisted"} is 1`, async () => (await metric(n, 'entangled_files{status="unlisted"}')) === 1);
      }
      const warned = (n: RunningNode, peer: string, own: string) => n.logs.filter((l) => l.level === 40 && l.peer === peer && Array.isArray(l.files) && (l.files as string[]).includes(own));
      await waitFor('alpha warns that beta does not list a.conf', () => warned(a, 'beta', 'a.conf').length > 0);
      await waitFor('beta warns that alpha does not list b.conf', () => warned(b, 'alpha', 'b.conf').length > 0);
      const line = warned(a, 'beta', 'a.conf')[0]!;
      assert.match(line.msg, /a\.conf/);
      assert.equal(line.path, a.file('a.conf'));

      // Edits of a name the peer does not list: each change frame reaches beta and is dropped there, counted.
      const dropped = 'entangled_frames_dropped_total{reason="not_listed"}';
      const before = await metric(b, dropped);
      const seenA = a.logs.length;
      const seenB = b.logs.length;
      for (let i = 1; i <= 4; i++) {
        save(a.file('a.conf'), `a${i}\n`);
        await a.waitHashed('a.conf', `a${i}\n`);
        // Nothing is owed to a peer that does not list the name: not pending (no retransmission every heartbeat).
        assert.equal((await a.state()).files.find((f) => f.name === 'a.conf')!.peers.beta!.status, 'unlisted');
        await waitFor(`beta counts the frame of edit ${i}`, async () => (await metric(b, dropped)) >= before + i);
      }
      // Several heartbeats (250 ms each) later: still unlisted, no more frames than edits, no line per frame.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await a.state()).files.find((f) => f.name === 'a.conf')!.status, 'unlisted');
      assert.equal(await metric(b, dropped), before + 4, 'a frame per edit, nothing retransmitted');
      const aboutA = b.logs.slice(seenB).filter((l) => mentions(l, 'a.conf'));
      assert.ok(aboutA.length <= 1, `beta logs about a.conf: ${JSON.stringify(aboutA)}`);
      assert.ok(aboutA.every((l) => l.peer === 'alpha'));
      assert.equal(b.logs.filter((l) => l.msg === 'dropped a frame' && l.name === 'a.conf').length, 1, 'the first drop is said once, the rest only counted');
      // Exactly one warn line per peer naming the file, made at connect, none after.
      assert.equal(warned(a, 'beta', 'a.conf').length, 1);
      assert.equal(warned(b, 'alpha', 'b.conf').length, 1);
      assert.equal(a.logs.slice(seenA).filter((l) => l.level >= 40).length, 0, JSON.stringify(a.logs.slice(seenA).filter((l) => l.level >= 40)));

      // The listed-on-both file still replicates.
      writeFileSync(b.file('shared.conf'), 's1\n');
      await waitFor('alpha takes shared.conf', () => md5File(a.file('shared.conf')) === md5('s1\n'));

      // force: a file the peer does not list is skipped (failed when named), the others go on.
      const all = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ direction: 'push' }) });
      assert.equal(all.status, 200);
      const report = (await all.json()) as { results: { name: string; result: string; reason?: string; error?: string }[] };
      const byName = Object.fromEntries(report.results.map((r) => [r.name, r]));
      assert.equal(byName['a.conf']!.result, 'skipped');
      assert.match(byName['a.conf']!.reason!, /beta does not list a\.conf/);
      assert.equal(byName['shared.conf']!.result, 'unchanged');
      const named = await runCli(['force', '--api', a.api, '--file', 'a.conf', '--push']);
      assert.equal(named.code, 1, named.stdout + named.stderr);
      assert.match(named.stdout, /a\.conf\s+failed\s+beta does not list a\.conf/);

      // The status table marks it.
      const table = await runCli(['status', '--api', a.api]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /a\.conf\s+unlisted/);
    } finally {
      await stopAll([a, b], root);
    }
  });
});
