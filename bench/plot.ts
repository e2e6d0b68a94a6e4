/**
 * The latency CDF as a hand-written SVG: one step curve per file size (and per compared tool,
 * and the bare pipeline per size, dashed), log-scaled milliseconds across, the share of changes that had arrived up.
 */
import { fmtBytes } from './scenario.js';
import { quantile } from '../src/bench/stats.js';
import type { RunReport } from './types.js';

interface Series {
  label: string;
  samples: number[];
  dashed: boolean;
}

const W = 920;
const H = 540;
const M = { left: 70, right: 260, top: 62, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function n(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/** 1, 2, 5, 10, 20, 50 … between lo and hi. */
function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${v / 1000} s`;
  return `${+v.toPrecision(3)}`;
}

/** "delay = 0, checksum" for "default.rsync, delay = 0, rsync checksum = true"; "-repeat 1" for "-batch -repeat 1". */
function shortVariant(v: string): string {
  return v.replace('default.rsync, ', '').replace('rsync checksum = true', 'checksum').replace('-batch ', '');
}

export function seriesOf(r: RunReport): Series[] {
  const own = r.scenarios
    .filter((s) => s.id.startsWith('latency-'))
    .map((s) => ({ label: `entangled ${fmtBytes(Number(s.params.size ?? 0))}${s.status === 'ok' ? '' : ' (failed)'}`, samples: s.samplesMs ?? [], dashed: false }));
  const floors = r.scenarios
    .flatMap((s) => (s.id.startsWith('latency-') && s.floor && s.floor.kind !== 'burst' && s.floor.samplesMs.length > 0 ? [{ s, f: s.floor }] : []))
    .map(({ s, f }) => ({ label: `bare pipeline ${fmtBytes(Number(s.params.size ?? 0))}`, samples: f.samplesMs, dashed: true }));
  const tools = r.compare
    .filter((c) => (c.samplesMs?.length ?? 0) > 0)
    .map((c) => ({ label: `${c.tool} ${shortVariant(c.variant)}${c.status === 'ok' ? '' : ' (failed)'}`, samples: c.samplesMs ?? [], dashed: true }));
  return [...own, ...floors, ...tools];
}

export function renderCdf(r: RunReport): string {
  const series = seriesOf(r);
  const all = series.flatMap((s) => s.samples).filter((v) => v > 0);
  const minRaw = all.length ? Math.min(...all) : 1;
  const lo = ticks(minRaw / 10, minRaw).filter((t) => t <= minRaw).pop() ?? minRaw;
  const hiRaw = all.length ? Math.max(...all) : 100;
  const hi = ticks(lo, hiRaw * 10).find((t) => t >= hiRaw) ?? hiRaw;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number) => M.left + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw;
  const y = (f: number) => M.top + (1 - f) * ph;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${M.left}" y="24" font-size="16" font-weight="bold">Change propagation latency (CDF), ${r.options.nodes} nodes on loopback</text>`);
  const commit = r.git.commit ? r.git.commit.slice(0, 10) : 'unknown commit';
  parts.push(`<text x="${M.left}" y="44" fill="#555">${esc(`${r.date.slice(0, 19)}Z, ${r.mode} run, ${commit}, ${r.machine.cpus} × ${r.machine.cpuModel}`)}</text>`);

  // Grid, axes, labels.
  for (const t of ticks(lo, hi)) {
    parts.push(`<line x1="${n(x(t))}" y1="${M.top}" x2="${n(x(t))}" y2="${M.top + ph}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${n(x(t))}" y="${M.top + ph + 18}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${M.left}" y1="${n(y(f))}" x2="${M.left + pw}" y2="${n(y(f))}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${M.left - 8}" y="${n(y(f) + 4)}" text-anchor="end">${f * 100}%</text>`);
  }
  for (const [f, name] of [[0.95, 'p95'], [0.99, 'p99']] as const) {
    parts.push(`<line x1="${M.left}" y1="${n(y(f))}" x2="${M.left + pw}" y2="${n(y(f))}" stroke="#bbbbbb" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${M.left + pw - 4}" y="${n(y(f) - 3)}" text-anchor="end" fill="#888" font-size="10">${name}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">milliseconds from the write returning to the peer holding the bytes (log scale)</text>`);
  parts.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">share of changes arrived</text>`);

  // One step curve per series, and its legend entry with p50 / p99.
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const sorted = [...s.samples].sort((a, b) => a - b);
    if (sorted.length) {
      const pts: string[] = [`${n(x(sorted[0]!))},${n(y(0))}`];
      sorted.forEach((v, k) => {
        pts.push(`${n(x(v))},${n(y(k / sorted.length))}`, `${n(x(v))},${n(y((k + 1) / sorted.length))}`);
      });
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(' ')}"/>`);
    }
    const ly = M.top + 10 + i * 34;
    const lx = M.left + pw + 16;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${esc(s.label)}</text>`);
    const stats = sorted.length ? `n=${sorted.length}, p50 ${+quantile(sorted, 0.5).toFixed(2)}, p99 ${+quantile(sorted, 0.99).toFixed(2)} ms` : 'no samples';
    parts.push(`<text x="${lx + 30}" y="${ly + 18}" fill="#555" font-size="10">${esc(stats)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
