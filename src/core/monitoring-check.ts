/** Exit codes of a Nagios-style check (the monitoring plugin convention). */
export const CHECK_EXIT = { ok: 0, warning: 1, critical: 2, unknown: 3 } as const;
export type CheckExit = (typeof CHECK_EXIT)[keyof typeof CHECK_EXIT];

const LABEL: Record<CheckExit, string> = { 0: 'OK', 1: 'WARNING', 2: 'CRITICAL', 3: 'UNKNOWN' };

/** The part of `GET /api/1/state` the check reads; statuses are plain strings (a newer node may know more). */
export interface CheckInput {
  readonly peers: readonly { readonly name: string; readonly connected: boolean }[];
  readonly files: readonly {
    readonly name: string;
    readonly status: string;
    readonly error: string | null;
    readonly peers: Readonly<Record<string, { readonly status: string; readonly md5?: string | null; readonly error?: string | undefined; readonly changed?: readonly string[] | null | undefined }>>;
  }[];
}

export interface CheckResult {
  readonly exit: CheckExit;
  /** One line for stdout: `OK: …`, `WARNING: …` or `CRITICAL: …`, naming what is wrong. */
  readonly line: string;
}

/** At most this many problems are named on the line; the rest are counted. */
export const CHECK_MAX_NAMED = 8;

/** Statuses about the peer's copy alone read "missing on beta"; the others "pending with beta". */
const ON = new Set(['missing', 'unlisted']);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A check prints exactly one line, whatever an error message holds. */
const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ');

/** Who changed since the last agreement, in a few words. */
function changedWords(changed: readonly string[] | null): string {
  if (changed === null) return 'no agreement on record';
  if (changed.length === 0) return 'neither changed';
  return `${changed.join(' and ')} changed`;
}

/**
 * `entangled status --check`: OK (0) when every file is aligned with every peer; CRITICAL (2)
 * on any split-brain; WARNING (1) for anything else not aligned (pending, missing, unlisted,
 * unknown, a status this version does not know), a peer down, or a file's error. The line names
 * each problem's file and peers, the split-brains first.
 */
export function checkState(state: CheckInput): CheckResult {
  const critical: string[] = [];
  const warning: string[] = [];
  const down = new Set(state.peers.filter((p) => !p.connected).map((p) => p.name));
  for (const p of state.peers) if (down.has(p.name)) warning.push(`peer ${p.name} down`);
  for (const f of state.files) {
    // Absent here: whatever the peers hold, this node has nothing to serve.
    if (f.status === 'missing') warning.push(`${f.name} missing here`);
    if (f.error) warning.push(`${f.name}: ${f.error}`);
    const groups = new Map<string, string[]>();
    for (const p of state.peers) {
      const v = f.peers[p.name];
      // Aligned is the goal; a down peer's copy is unknown and already named as down.
      if (!v || v.status === 'aligned' || (v.status === 'unknown' && down.has(p.name))) continue;
      // Missing here while the peer holds a copy: "missing here" said it; the peer is not missing it.
      if (f.status === 'missing' && v.status === 'missing' && typeof v.md5 === 'string') continue;
      groups.set(v.status, [...(groups.get(v.status) ?? []), p.name]);
    }
    for (const [status, peers] of groups) {
      // A split-brain says which side changed since the last agreement: the side force --changed takes.
      // With one peer in the group its name is already there; with several each says whose it is.
      const sides = status === 'split-brain' ? peers.flatMap((n) => (f.peers[n]?.changed !== undefined ? [`${peers.length > 1 ? `${n}: ` : ''}${changedWords(f.peers[n]!.changed!)}`] : [])) : [];
      const errors = peers.flatMap((n) => (f.peers[n]?.error ? [`${n}: ${f.peers[n]!.error}`] : []));
      const notes = [...sides, ...errors];
      const text = `${f.name} ${status} ${ON.has(status) ? 'on' : 'with'} ${peers.join(', ')}${notes.length ? ` (${notes.join('; ')})` : ''}`;
      (status === 'split-brain' ? critical : warning).push(text);
    }
  }
  // Nothing wrong: every file aligned with every peer, every peer in reach.
  if (critical.length + warning.length === 0) {
    return { exit: CHECK_EXIT.ok, line: `OK: ${plural(state.files.length, 'file')} aligned with ${plural(state.peers.length, 'peer')}` };
  }
  const exit = critical.length > 0 ? CHECK_EXIT.critical : CHECK_EXIT.warning;
  const all = [...critical, ...warning];
  const named = all.slice(0, CHECK_MAX_NAMED);
  const more = all.length - named.length;
  return { exit, line: oneLine(`${LABEL[exit]}: ${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}`) };
}

/** The UNKNOWN line (exit 3) for a node whose state could not be read. */
export function checkUnknown(why: string): CheckResult {
  return { exit: CHECK_EXIT.unknown, line: oneLine(`${LABEL[CHECK_EXIT.unknown]}: ${why}`) };
}
