/** ANSI colours, used only when writing to a terminal (and NO_COLOR is not set). */
export function painter(stream: NodeJS.WriteStream) {
  const on = Boolean(stream.isTTY) && !process.env.NO_COLOR;
  const wrap = (code: number) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { green: wrap(32), red: wrap(31), yellow: wrap(33), blue: wrap(34), dim: wrap(2), bold: wrap(1) };
}

export type Painter = ReturnType<typeof painter>;

/** Colours a status word the way the status page does. */
export function paintStatus(p: Painter, status: string): string {
  switch (status) {
    case 'aligned':
    case 'up':
      return p.green(status);
    case 'split-brain':
    case 'down':
      return p.red(status);
    case 'missing':
      return p.yellow(status);
    case 'pending':
      return p.blue(status);
    default:
      return p.dim(status);
  }
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** Left-aligned columns; widths ignore colour codes. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.replace(ANSI, '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - c.replace(ANSI, '').length))).join('  '))
    .join('\n');
}
