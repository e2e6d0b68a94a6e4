/** Figures as the bench's tables show them (bench/ and `entangled bench`). */

/** "1 KiB", "16 MiB", "286.1 MiB". */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[u]}`;
}

/** A figure for the table: '-' when unknown, else rounded sensibly. */
export function fmt(n: number | null | undefined, unit = ''): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  const s = Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
  return `${s}${unit}`;
}

/** JSON with two-space indents, but arrays of numbers (samples; null for a lost one) on one line each. */
export function compactJson(value: unknown): string {
  const num = String.raw`(?:-?[\d.e+-]+|null)`;
  const array = new RegExp(String.raw`\[\s*(${num}(?:,\s*${num})*)\s*\]`, 'g');
  return JSON.stringify(value, null, 2).replace(array, (_, body: string) => `[${body.replace(/\s+/g, '')}]`);
}
