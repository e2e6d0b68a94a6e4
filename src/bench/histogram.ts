/** A text histogram of latency samples: log-spaced buckets, one bar of `#` per bucket. */

/** Steps within a decade of the buckets' upper bounds: …, 1, 1.5, 2, 3, 5, 7, 10, 15, … */
const STEPS = [1, 1.5, 2, 3, 5, 7] as const;

/** The upper bound of the bucket holding `ms` (a sample equal to a bound is in that bucket). */
export function bucketOf(ms: number): number {
  const e = Math.floor(Math.log10(Math.max(ms, 1e-3)));
  for (let d = e - 1; d <= e + 1; d++) {
    for (const s of STEPS) {
      const bound = s * 10 ** d;
      if (ms <= bound * (1 + 1e-9)) return +bound.toPrecision(3);
    }
  }
  return +(10 ** (e + 1)).toPrecision(3);
}

/** Every bound from the one holding `lo` to the one holding `hi`, ascending. */
function bounds(lo: number, hi: number): number[] {
  const out: number[] = [];
  const last = bucketOf(hi);
  for (let e = Math.floor(Math.log10(Math.max(lo, 1e-3))) - 1; ; e++) {
    for (const s of STEPS) {
      const b = +(s * 10 ** e).toPrecision(3);
      if (b < bucketOf(lo)) continue;
      out.push(b);
      if (b >= last) return out;
    }
  }
}

/**
 * Lines of a histogram of `samples` (ms): `<= 2 ms |#####   12` per bucket from the smallest
 * sample's to the largest's (empty buckets between them shown), bars scaled to `width`.
 * No lines for no samples.
 */
export function renderHistogram(samples: readonly number[], width = 40): string[] {
  if (samples.length === 0) return [];
  const counts = new Map<number, number>();
  for (const v of samples) {
    const b = bucketOf(v);
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  const all = bounds(Math.min(...samples), Math.max(...samples));
  const most = Math.max(...counts.values());
  const labels = all.map((b) => `<= ${b} ms`);
  const pad = Math.max(...labels.map((l) => l.length));
  return all.map((b, k) => {
    const n = counts.get(b) ?? 0;
    const bar = '#'.repeat(n === 0 ? 0 : Math.max(1, Math.round((n / most) * width)));
    return `${labels[k]!.padStart(pad)} |${bar.padEnd(width)} ${n}`;
  });
}
