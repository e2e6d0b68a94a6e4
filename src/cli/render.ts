/** ANSI colours, used only when writing to a terminal (and NO_COLOR is not set). */
export function painter(stream: NodeJS.WriteStream) {
  const on = Boolean(stream.isTTY) && !process.env.NO_COLOR;
  const wrap = (code: number) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { green: wrap(32), red: wrap(31), yellow: wrap(33), blue: wrap(34), dim: wrap(2), bold: wrap(1) };
}

export type Painter = ReturnType<typeof painter>;

/** Colours a status word (or `text` standing for it) the way the status page does. */
export function paintStatus(p: Painter, status: string, text = status): string {
  switch (status) {
    case 'aligned':
    case 'up':
      return p.green(text);
    case 'split-brain':
    case 'down':
      return p.red(text);
    case 'missing':
    case 'unlisted':
      return p.yellow(text);
    case 'pending':
      return p.blue(text);
    default:
      return p.dim(text);
  }
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** How many columns `s` takes on a terminal (colour codes take none). */
export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Left-aligned columns; widths ignore colour codes. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(c))));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - visibleLength(c)))).join('  '))
    .join('\n');
}

/** The widest line of `text`, in terminal columns. */
export function textWidth(text: string): number {
  return Math.max(0, ...text.split('\n').map(visibleLength));
}

/**
 * The width human output should fit in: the terminal's, else $COLUMNS, else 120 (a pipe or a
 * file: wide enough for a two-node table, narrow enough to read in a log or an e-mail).
 */
export function outputWidth(stream: NodeJS.WriteStream): number {
  if (stream.isTTY && stream.columns > 0) return stream.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : 120;
}
