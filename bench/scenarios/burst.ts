/**
 * burst1000: node 1 rewrites N files (1 KiB each) back to back; the clock runs from the first
 * write until every peer holds every new file (md5), then until every node's API reports them
 * all aligned (the changes confirmed).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { FolderWatch } from '../arrival.js';
import { BenchCluster, isAligned, state } from '../cluster.js';
import { until, within, type ScenarioContext } from '../context.js';
import { DaemonLatencyProbe } from '../daemon-latency.js';
import { md5 } from '../../test/helpers/cluster.js';
import { fmt, meets, type Outcome, type Scenario } from '../scenario.js';
import { round } from '../../src/bench/stats.js';
import { CpuWindow } from '../proc.js';

const SIZE = 1024;

export function fileNames(n: number, ext = 'conf'): string[] {
  const width = String(n - 1).length;
  return Array.from({ length: n }, (_, i) => `f${String(i).padStart(width, '0')}.${ext}`);
}

function content(name: string, tag: string): Buffer {
  const head = `${name} ${tag}\n`;
  return Buffer.from(head + 'x'.repeat(SIZE - head.length));
}

export const burst: Scenario = {
  id: 'burst1000',
  title: 'files changed at once',
  budgetMs: (o) => 60_000 + o.burstFiles * 100,
  async run(ctx: ScenarioContext, out: Outcome) {
    const n = ctx.opts.burstFiles;
    out.params = { files: n, fileBytes: SIZE, nodes: ctx.opts.nodes };
    const names = fileNames(n);
    const cluster = await BenchCluster.start(ctx, { files: Object.fromEntries(names.map((f) => [f, content(f, 'initial').toString()])) }, 60_000);
    ctx.progress(`${ctx.opts.nodes} nodes aligned on ${n} files; changing all of them at once`);
    const watches = cluster.peers.map((p) => new FolderWatch(p.def.dir, 100));
    ctx.defer(() => watches.forEach((w) => w.close()));
    for (const w of watches) w.prime(names);
    const tag = randomBytes(6).toString('hex');
    const batch = names.map((f) => ({ f, data: content(f, tag) }));
    const arrivals = Promise.all(watches.flatMap((w) => batch.map(({ f, data }) => w.expect(f, md5(data), SIZE))));
    const probe = await DaemonLatencyProbe.start(cluster.running);

    const cpu = new CpuWindow(cluster.pids);
    const t0 = performance.now();
    for (const { f, data } of batch) writeFileSync(cluster.origin.file(f), data);
    const written = performance.now();
    out.figures.writeMs = round(written - t0, 1);
    const deadline = 30_000 + n * 30;
    let times: number[];
    try {
      times = await within(`all ${n} files to arrive at every peer`, arrivals, deadline, ctx.signal);
    } catch (err) {
      const left = cluster.peers.map((p, i) => `${p.def.name} still lacked ${watches[i]!.pending} of ${n}`).join(', ');
      throw new Error(`${(err as Error).message} (${left})`);
    }
    out.figures.daemonsCpuPct = cpu.processesPct();
    out.figures.benchCpuPct = cpu.benchPct();
    const last = Math.max(...times);
    out.figures.firstArrivalMs = round(Math.min(...times) - t0, 1);
    out.figures.convergedMs = round(last - t0, 1);
    out.figures.afterLastWriteMs = round(last - written, 1);
    out.figures.filesPerS = round(n / ((last - t0) / 1000), 0);
    out.figures.seenByWatch = watches.reduce((a, w) => a + w.seen.watch, 0);
    out.figures.seenByPoll = watches.reduce((a, w) => a + w.seen.poll, 0);

    await until('every node to report every file aligned', async () => (await Promise.all(cluster.running.map((r) => state(r)))).every(isAligned), {
      timeoutMs: 30_000,
      everyMs: 20,
      signal: ctx.signal,
    });
    out.figures.apiAlignedMs = round(performance.now() - t0, 0);
    out.daemon = await probe.finish();
  },
  describe(r) {
    const f = r.figures;
    return `${r.params.files} files of 1 KiB: all at every peer ${fmt(f.convergedMs)} ms after the first write (${fmt(f.filesPerS)} files/s; writing them took ${fmt(f.writeMs)} ms); API all aligned at ${fmt(f.apiAlignedMs)} ms; CPU meanwhile: daemons ${fmt(f.daemonsCpuPct, '%')}, bench ${fmt(f.benchCpuPct, '%')}`;
  },
  target(r) {
    return { text: '>= 3000 files/s', met: r.status === 'ok' ? meets([r.figures.filesPerS, (v) => v >= 3000]) : false };
  },
};
