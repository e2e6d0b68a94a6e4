/**
 * gib: one large file (1 GiB by default). It is written and fsynced beside the cluster's folders
 * first, then renamed over node 1's copy (an atomic save), so the clock, from the rename to every
 * peer holding the bytes, measures the transfer and not the bench's own disk write. Peak RSS is
 * each process's VmHWM, read every 250 ms and at the end (kept when the scenario fails).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FolderWatch } from '../arrival.js';
import { BenchCluster } from '../cluster.js';
import { within, type ScenarioContext } from '../context.js';
import { memory } from '../proc.js';
import { fmt, peakRss, fmtBytes, meets, type Outcome, type Scenario } from '../scenario.js';
import { round } from '../../src/bench/stats.js';

const FILE = 'big.dat';
const BLOCK = 8 * 1024 * 1024;

/** Writes `size` bytes (random blocks, each stamped with its index) to `file`, fsynced; returns the md5. */
function writeBigFile(file: string, size: number): string {
  const block = randomBytes(BLOCK);
  const h = createHash('md5');
  const fd = openSync(file, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += BLOCK, i++) {
      block.writeUInt32BE(i, 0);
      const part = block.subarray(0, Math.min(BLOCK, size - off));
      h.update(part);
      writeSync(fd, part);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** How long the transfer may take: 60 s, or the time at 5 MB/s when longer. */
function deadlineMs(size: number): number {
  return Math.max(60_000, (size / 5e6) * 1000);
}

export const gib: Scenario = {
  id: 'gib',
  title: 'one large file',
  budgetMs: (o) => 90_000 + deadlineMs(o.bigBytes) + (o.bigBytes / 50e6) * 1000,
  async run(ctx: ScenarioContext, out: Outcome) {
    const size = ctx.opts.bigBytes;
    out.params = { bytes: size, nodes: ctx.opts.nodes };
    const cluster = await BenchCluster.start(ctx, { files: { [FILE]: 'start\n' } });
    const peaks = () => {
      for (const r of cluster.running) {
        const m = memory(r.proc.pid!);
        if (m) out.figures[`peakRssMiB_${r.def.name}`] = round(m.peakMiB, 1);
      }
      out.figures.maxPeakRssMiB = Math.max(...cluster.running.map((r) => out.figures[`peakRssMiB_${r.def.name}`] ?? 0));
    };
    const sampler = setInterval(peaks, 250);
    ctx.defer(() => clearInterval(sampler));

    const staging = path.join(cluster.root, 'staging');
    mkdirSync(staging);
    ctx.progress(`writing ${fmtBytes(size)} beside the cluster`);
    const md5 = writeBigFile(path.join(staging, FILE), size);
    ctx.signal.throwIfAborted();
    const watches = cluster.peers.map((p) => new FolderWatch(p.def.dir, 20));
    ctx.defer(() => watches.forEach((w) => w.close()));
    const arrivals = Promise.all(watches.map((w) => w.expect(FILE, md5, size)));

    ctx.progress(`renaming it over ${cluster.origin.def.name}'s copy; waiting for every peer`);
    const t0 = performance.now();
    renameSync(path.join(staging, FILE), cluster.origin.file(FILE));
    const times = await within(`every peer to hold the ${fmtBytes(size)} file`, arrivals, deadlineMs(size), ctx.signal);
    const seconds = (Math.max(...times) - t0) / 1000;
    out.figures.transferMs = round(seconds * 1000, 0);
    out.figures.MBps = round(size / 1e6 / seconds, 1);
    peaks();
  },
  describe(r) {
    const f = r.figures;
    const rss = peakRss(f);
    const speed = r.status === 'ok' ? `${fmt(f.MBps)} MB/s end to end (${fmt(f.transferMs)} ms)` : 'did not arrive';
    return `${fmtBytes(Number(r.params.bytes))}: ${speed}; peak RSS MiB: ${rss || '-'}`;
  },
  target(r) {
    const met = r.status === 'ok' ? meets([r.figures.MBps, (v) => v >= 200], [r.figures.maxPeakRssMiB, (v) => v <= 150]) : false;
    return { text: '>= 200 MB/s, peak RSS <= 150 MiB per node', met };
  },
};
