/**
 * Change-propagation latency between two real nodes on loopback: the time from the origin's
 * write returning to the peer's file holding the new bytes (md5), seen through inotify on the
 * peer's folder with a 5 ms polling fallback. Run: npx tsx bench/latency.ts [--samples N] [--size BYTES]
 */
import { watch, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defineCluster, md5, md5File, startCluster, stopAll } from '../test/helpers/cluster.js';

const { values } = parseArgs({
  options: { samples: { type: 'string', default: '100' }, size: { type: 'string', default: '1024' }, gap: { type: 'string', default: '50' } },
});
const samples = Number(values.samples);
const size = Number(values.size);
const gapMs = Number(values.gap);

function content(i: number): Buffer {
  const head = Buffer.from(`sample ${i} ${Date.now()}\n`);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length), 0x61)]).subarray(0, size);
}

const { root, nodes } = await defineCluster({ files: { 'bench.conf': 'start\n' } });
const [a, b] = await startCluster(nodes);
const src = a!.file('bench.conf');
const dst = b!.file('bench.conf');
const times: number[] = [];
try {
  for (let i = 0; i < samples; i++) {
    const data = content(i);
    const want = md5(data);
    const arrived = new Promise<number>((resolve) => {
      const check = () => {
        if (md5File(dst) === want) {
          const t = performance.now();
          w.close();
          clearInterval(poll);
          resolve(t);
        }
      };
      const w = watch(b!.def.dir, check);
      const poll = setInterval(check, 5);
    });
    writeFileSync(src, data);
    const t0 = performance.now();
    times.push((await arrived) - t0);
    await new Promise((r) => setTimeout(r, gapMs));
  }
} finally {
  await stopAll([a!, b!], root);
}
times.sort((x, y) => x - y);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
const internal = b!.logs.filter((l) => l.msg === 'applied change from peer').map((l) => Number(l.latencyMs)).sort((x, y) => x - y);
const qi = (p: number) => internal[Math.min(internal.length - 1, Math.floor(p * internal.length))];
console.log(JSON.stringify({ size, samples: times.length, p50: +q(0.5).toFixed(2), p95: +q(0.95).toFixed(2), p99: +q(0.99).toFixed(2), max: +times[times.length - 1]!.toFixed(2), daemonP50: qi(0.5), daemonP95: qi(0.95) }));
