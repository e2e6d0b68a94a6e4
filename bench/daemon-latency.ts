/**
 * The daemons' own latency figures over a stretch of a scenario: the Prometheus latency
 * histogram of every node when GET /metrics answers (difference of two scrapes), and the
 * `latencyMs` of their 'applied change from peer' log lines (origin's read to peer's apply).
 */
import type { RunningNode } from '../test/helpers/cluster.js';
import { histogramQuantile, round, summarize, type Bucket } from '../src/bench/stats.js';
import type { DaemonLatency } from './types.js';

const APPLIED = 'applied change from peer';
/** Which histogram is the propagation latency, best match first. */
const PREFERRED = [/propagation/i, /latency/i];

interface Histogram {
  name: string;
  help: string;
  buckets: Map<number, number>;
}

/** The latency histogram of a Prometheus text exposition, summed over its label sets; null if none. */
export function parseLatencyHistogram(text: string): Histogram | null {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  for (const m of text.matchAll(/^# (TYPE|HELP) (\S+) (.*)$/gm)) (m[1] === 'TYPE' ? types : helps).set(m[2]!, m[3]!);
  const histograms = [...types].filter(([, t]) => t.trim() === 'histogram').map(([n]) => n);
  const name = PREFERRED.map((re) => histograms.find((n) => re.test(n))).find((n) => n !== undefined);
  if (!name) return null;
  const buckets = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{(.*)\\}\\s+(\\S+)`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = /(?:^|,)le="([^"]+)"/.exec(m[1]!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(m[2]));
  }
  return { name, help: helps.get(name) ?? '', buckets };
}

async function scrape(node: RunningNode): Promise<Histogram | null> {
  try {
    const res = await fetch(`${node.api}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return null;
    return parseLatencyHistogram(await res.text());
  } catch {
    return null;
  }
}

/** Seconds unless the name says otherwise (Prometheus's convention). */
function toMs(name: string): number {
  return /_ms$|_milliseconds$/.test(name) ? 1 : 1000;
}

export class DaemonLatencyProbe {
  private constructor(
    readonly nodes: RunningNode[],
    readonly logStart: number[],
    readonly before: (Histogram | null)[],
  ) {}

  /** Marks the start of the stretch to measure. */
  static async start(nodes: RunningNode[]): Promise<DaemonLatencyProbe> {
    return new DaemonLatencyProbe(nodes, nodes.map((n) => n.logs.length), await Promise.all(nodes.map(scrape)));
  }

  /** The figures since start(): metrics first when every node exposes the histogram, then logs. */
  async finish(): Promise<DaemonLatency[]> {
    const out: DaemonLatency[] = [];
    const after = await Promise.all(this.nodes.map(scrape));
    const fromMetrics = this.#fromMetrics(after);
    if (fromMetrics) out.push(fromMetrics);
    const fromLogs = this.#fromLogs();
    if (fromLogs) out.push(fromLogs);
    return out;
  }

  #fromMetrics(after: (Histogram | null)[]): DaemonLatency | null {
    const first = after.find((h) => h !== null);
    if (!first) return null;
    const sum = new Map<number, number>();
    after.forEach((h, i) => {
      if (!h || h.name !== first.name) return;
      for (const [le, count] of h.buckets) sum.set(le, (sum.get(le) ?? 0) + count - (this.before[i]?.buckets.get(le) ?? 0));
    });
    const buckets: Bucket[] = [...sum].map(([le, count]) => ({ le, count }));
    const count = buckets.find((b) => b.le === Infinity)?.count ?? 0;
    const k = toMs(first.name);
    const q = (p: number) => {
      const v = histogramQuantile(buckets, p);
      return v === null ? null : round(v * k);
    };
    // The histogram has no max; the highest finite bound holding observations stands in for it.
    const top = [...buckets].sort((a, b) => a.le - b.le).find((b) => b.count >= count && count > 0);
    return {
      source: 'metrics',
      what: `${first.name}${first.help ? ` (${first.help})` : ''}, bucketed`,
      count,
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      max: top && Number.isFinite(top.le) ? round(top.le * k) : null,
    };
  }

  #fromLogs(): DaemonLatency | null {
    const values = this.nodes.flatMap((n, i) =>
      n.logs
        .slice(this.logStart[i])
        .filter((l) => l.msg === APPLIED && typeof l.latencyMs === 'number')
        .map((l) => l.latencyMs as number),
    );
    const s = summarize(values);
    if (!s) return null;
    return { source: 'logs', what: `latencyMs of '${APPLIED}' (origin's read to peer's apply, whole ms)`, count: s.count, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max };
  }
}
