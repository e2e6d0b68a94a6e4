/**
 * idle: the cost of watching N files while nothing changes. Once every node is aligned and has
 * settled, CPU time (utime + stime from /proc/<pid>/stat) is read at both ends of the window and
 * VmRSS every second; the bench itself only sleeps meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { BenchCluster } from '../cluster.js';
import { sleep, type ScenarioContext } from '../context.js';
import { cpuSeconds, memory, RssSampler } from '../proc.js';
import { fmt, meets, type Outcome, type Scenario } from '../scenario.js';
import { round } from '../../src/bench/stats.js';
import { fileNames } from './burst.js';

const SETTLE_MS = 3000;

export const idle: Scenario = {
  id: 'idle',
  title: 'idle cost',
  budgetMs: (o) => 90_000 + o.idleSeconds * 1000 + o.idleFiles * 20,
  async run(ctx: ScenarioContext, out: Outcome) {
    const { idleFiles: n, idleSeconds } = ctx.opts;
    out.params = { files: n, seconds: idleSeconds, settleMs: SETTLE_MS, nodes: ctx.opts.nodes };
    const files = Object.fromEntries(fileNames(n).map((f) => [f, `${f} ${randomBytes(8).toString('hex')}\n`.padEnd(1024, '#')]));
    const cluster = await BenchCluster.start(ctx, { files }, 60_000);
    await sleep(SETTLE_MS, ctx.signal);
    ctx.progress(`${ctx.opts.nodes} nodes aligned on ${n} files; measuring ${idleSeconds} s of idling`);

    const pids = cluster.pids;
    const cpu0 = pids.map((p) => cpuSeconds(p));
    const rss = new RssSampler(pids, 1000);
    ctx.defer(() => rss.stop());
    const t0 = performance.now();
    await sleep(idleSeconds * 1000, ctx.signal);
    const wallS = (performance.now() - t0) / 1000;
    rss.stop();
    let maxPct = 0;
    let maxRss = 0;
    cluster.running.forEach((r, i) => {
      const pid = pids[i]!;
      const used = (cpuSeconds(pid) ?? NaN) - (cpu0[i] ?? NaN);
      const pct = (100 * used) / wallS;
      out.figures[`cpuS_${r.def.name}`] = round(used, 2);
      out.figures[`cpuPct_${r.def.name}`] = round(pct, 2);
      out.figures[`rssMaxMiB_${r.def.name}`] = round(rss.max.get(pid) ?? NaN, 1);
      out.figures[`peakRssMiB_${r.def.name}`] = round(memory(pid)?.peakMiB ?? NaN, 1);
      maxPct = Math.max(maxPct, pct);
      maxRss = Math.max(maxRss, rss.max.get(pid) ?? 0);
    });
    out.figures.maxCpuPct = round(maxPct, 2);
    out.figures.maxRssMiB = round(maxRss, 1);
  },
  describe(r) {
    const names = Object.keys(r.figures)
      .filter((k) => k.startsWith('cpuS_'))
      .map((k) => k.slice('cpuS_'.length));
    const per = names.map((n) => `${n} ${fmt(r.figures[`cpuS_${n}`])} CPU s (${fmt(r.figures[`cpuPct_${n}`], '%')}), RSS ${fmt(r.figures[`rssMaxMiB_${n}`])} MiB`).join('; ');
    return `${r.params.files} files, ${r.params.seconds} s: ${per || '-'}`;
  },
  target(r) {
    const met = r.status === 'ok' ? meets([r.figures.maxCpuPct, (v) => v < 1], [r.figures.maxRssMiB, (v) => v <= 100]) : false;
    return { text: '< 1% of a core, RSS <= 100 MiB per node', met };
  },
};
