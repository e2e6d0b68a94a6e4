import { createTwoFilesPatch } from 'diff';

export interface DiffSide {
  readonly label: string;
  /** The bytes, or null when that side has no such file (diffed as empty). */
  readonly data: Uint8Array | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `data`, or null when it is not UTF-8 text (binary: NUL bytes or invalid UTF-8). */
function asText(data: Uint8Array | null): string | null {
  if (data === null) return '';
  if (data.includes(0)) return null;
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

/** A unified diff from `a` (---) to `b` (+++); null with `binary` when either is not text. */
export function unifiedDiff(a: DiffSide, b: DiffSide): { binary: boolean; diff: string | null } {
  const ta = asText(a.data);
  const tb = asText(b.data);
  if (ta === null || tb === null) return { binary: true, diff: null };
  const patch = createTwoFilesPatch(a.label, b.label, ta, tb, undefined, undefined, { context: 3 });
  // The library starts with a line of '=' (an Index-style separator): not part of a unified diff.
  return { binary: false, diff: patch.replace(/^=+\n/, '') };
}
