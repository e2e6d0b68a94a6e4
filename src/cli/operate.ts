import { EntangledError, errorText, isEntangledError } from '../core/errors.js';
import { checkState, checkUnknown } from '../core/monitoring-check.js';
import { pickVersion } from '../core/pick-version.js';
import type { BackupList, DiffReport, ForceDirection, ForceReport, ForceResult, NodeState, PeerFileView, RestoreReport } from '../node/view.js';
import { callApi, type ApiTarget } from './http.js';
import { followProgress, percent } from './progress.js';
import { outputWidth, paintStatus, painter, table, textWidth, type Painter } from './render.js';

const short = (m: string | null | undefined) => (m ? m.slice(0, 10) : '-');

/**
 * `entangled status`: the node's state as a table, the raw JSON, or (`check`) one Nagios-style
 * line with its exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN when the state cannot be read
 * (the API out of reach, a 401, an answer that is no state). Returns the exit code.
 */
export async function runStatus(target: ApiTarget, output: 'table' | 'json' | 'check'): Promise<number> {
  if (output === 'check') {
    let result;
    try {
      const state = await callApi<NodeState>(target, '/api/1/state', { timeoutMs: 5000 });
      if (!Array.isArray(state?.files) || !Array.isArray(state?.peers)) throw new Error(`the API at ${target.url} answered with no node state`);
      result = checkState(state);
    } catch (err) {
      result = checkUnknown(isEntangledError(err) ? err.message : errorText(err));
    }
    process.stdout.write(`${result.line}\n`);
    return result.exit;
  }
  const state = await callApi<NodeState>(target, '/api/1/state', { timeoutMs: 5000 });
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${statusLines(state, painter(process.stdout), outputWidth(process.stdout)).join('\n')}\n`);
  return 0;
}

/** One character per peer status in the compact file table; LEGEND under it says which. */
const MARK: Record<string, string> = { aligned: '=', pending: '~', 'split-brain': 'X', missing: '!', unlisted: '/', unknown: '?' };
const LEGEND = ['aligned', 'pending', 'split-brain', 'missing', 'unlisted', 'unknown'];

/** A split-brain's `changed` in a few words ("beta changed", "alpha+beta changed", "never agreed"); empty otherwise. */
function changedNote(v: PeerFileView): string {
  if (v.status !== 'split-brain' || v.changed === undefined) return '';
  if (v.changed === null) return 'never agreed';
  return v.changed.length === 0 ? 'neither changed' : `${v.changed.join('+')} changed`;
}

/**
 * The status report, fitted to `width` columns. The wide file table (status and md5 of every
 * peer, side by side) when it fits: what a two-node cluster shows. Otherwise, as with a full
 * mesh of up to 10 nodes, a compact one: one column per peer holding a one-character mark, the
 * columns headed by the peers' names or, when even that is too wide, by their numbers in the
 * peer table; then the peers not aligned, grouped by file, status and md5. A peer whose copy
 * is moving in chunks shows the share done ("42%"): after its md5, or instead of its mark.
 */
export function statusLines(state: NodeState, p: Painter, width: number): string[] {
  const peerNames = state.peers.map((x) => x.name);
  const head = [`${p.bold(`node ${state.node}`)}  reconcile: ${state.reconcile}`, ''];
  const peerTable = (numbered: boolean) =>
    table([
      [...(numbered ? ['#'] : []), 'PEER', 'STATE', 'LAST SEEN'].map(p.dim),
      ...state.peers.map((x, i) => [...(numbered ? [String(i + 1)] : []), x.name, paintStatus(p, x.connected ? 'up' : 'down'), x.lastSeen ?? 'never']),
    ]);
  // The file's own error, then what each peer reported when it could not write or take it.
  const errors = state.files.flatMap((f) => [
    ...(f.error ? [`${f.name}: ${f.error}`] : []),
    ...peerNames.flatMap((n) => (f.peers[n]?.error ? [`${f.name} at ${n}: ${f.peers[n]!.error}`] : [])),
  ]);
  const tail = errors.length ? ['', ...errors.map((e) => p.red(e))] : [];

  /** The file table: a column per peer, headed by `header`, each cell `cell` of that peer's view. */
  const fileTable = (header: (name: string, i: number) => string, cell: (v: PeerFileView) => string) =>
    table([
      ['FILE', 'STATUS', 'MD5', ...peerNames.map(header)].map(p.dim),
      ...state.files.map((f) => [
        f.name,
        paintStatus(p, f.status),
        short(f.md5),
        ...peerNames.map((n) => {
          const v = f.peers[n];
          return v ? cell(v) : '-';
        }),
      ]),
    ]);
  const wide = fileTable((n) => n, (v) => `${paintStatus(p, v.status)} ${short(v.md5)}${v.transfer ? ` ${p.blue(percent(v.transfer))}` : ''}`);
  if (textWidth(wide) <= width || peerNames.length === 0) return [...head, peerTable(false), '', wide, ...splitBrains(state, p), ...tail];

  const matrix = (header: (name: string, i: number) => string) =>
    fileTable(header, (v) => (v.transfer ? p.blue(percent(v.transfer)) : paintStatus(p, v.status, MARK[v.status] ?? '?')));
  let numbered = false;
  let files = matrix((n) => n);
  if (textWidth(files) > width) {
    numbered = true;
    files = matrix((_, i) => String(i + 1));
  }
  const legend = LEGEND.map((s) => `${paintStatus(p, s, MARK[s]!)} ${s}`).join('  ');
  return [...head, peerTable(numbered), '', files, legend, ...notAligned(state, p, width), ...tail];
}

/** Under the wide table: each split-brain with the side that changed since the last agreement. */
function splitBrains(state: NodeState, p: Painter): string[] {
  const rows: string[][] = [];
  for (const f of state.files) {
    for (const x of state.peers) {
      const v = f.peers[x.name];
      if (v?.status === 'split-brain') rows.push([f.name, x.name, changedNote(v) || '-']);
    }
  }
  return rows.length === 0 ? [] : ['', table([['SPLIT-BRAIN', 'WITH', 'SINCE THE LAST AGREEMENT'].map(p.dim), ...rows])];
}

/**
 * The peers whose copy is not aligned with this node's, one row per file, status and md5 (so a
 * split-brain shows which version each side holds); a disconnected peer's `unknown` is left out
 * (the peer table says it is down). The list of peers wraps to stay within `width`.
 */
function notAligned(state: NodeState, p: Painter, width: number): string[] {
  const up = new Set(state.peers.filter((x) => x.connected).map((x) => x.name));
  const groups: { file: string; status: string; md5: string; peers: string[] }[] = [];
  for (const f of state.files) {
    for (const x of state.peers) {
      const v = f.peers[x.name];
      if (!v || v.status === 'aligned' || (v.status === 'unknown' && !up.has(x.name))) continue;
      const md5 = short(v.md5);
      const status = changedNote(v) ? `${v.status} (${changedNote(v)})` : v.status;
      const g = groups.find((g) => g.file === f.name && g.status === status && g.md5 === md5);
      if (g) g.peers.push(x.name);
      else groups.push({ file: f.name, status, md5, peers: [x.name] });
    }
  }
  if (groups.length === 0) return [];
  const header = ['NOT ALIGNED', 'STATUS', 'MD5', 'PEERS'];
  const lead = [header, ...groups.map((g) => [g.file, g.status, g.md5])];
  const room = Math.max(20, width - [0, 1, 2].reduce((sum, i) => sum + Math.max(...lead.map((r) => r[i]!.length)) + 2, 0));
  const rows: string[][] = [header.map(p.dim)];
  for (const g of groups) {
    const lines: string[] = [];
    for (const name of g.peers) {
      const lastLine = lines.length - 1;
      if (lastLine >= 0 && lines[lastLine]!.length + 1 + name.length <= room) lines[lastLine] += ` ${name}`;
      else lines.push(name);
    }
    lines.forEach((l, i) => rows.push(i === 0 ? [g.file, paintStatus(p, g.status.split(' ')[0]!, g.status), g.md5, l] : ['', '', '', l]));
  }
  return ['', table(rows)];
}

/**
 * `entangled force`: prints each file's result; exit 1 when any failed. On a terminal, a large
 * file's transfer shows as a progress bar on stderr meanwhile (cleared before the results).
 */
export async function runForce(target: ApiTarget, body: { files?: string[]; peer?: string; direction: ForceDirection }): Promise<number> {
  const bar = process.stderr.isTTY ? followProgress(target, { files: body.files, peer: body.peer }, process.stderr) : null;
  let report: ForceReport;
  try {
    report = await callApi<ForceReport>(target, '/api/1/force', { method: 'POST', body, timeoutMs: 60_000 });
  } finally {
    bar?.stop();
  }
  const p = painter(process.stdout);
  const colour = (r: string) => (r === 'failed' ? p.red(r) : r === 'updated' ? p.green(r) : r === 'skipped' ? p.yellow(r) : p.dim(r));
  const heading = report.direction === 'changed' ? `the changed side wins, with ${report.peer}` : `${report.direction} ${report.direction === 'pull' ? 'from' : 'to'} ${report.peer}`;
  process.stdout.write(`${heading}\n`);
  const row = (r: ForceResult) => [r.name, colour(r.result), ...(report.direction === 'changed' ? [r.direction ?? '-'] : []), r.error ?? r.reason ?? short(r.md5)];
  process.stdout.write(`${table(report.results.map(row))}\n`);
  return report.results.some((r) => r.result === 'failed') ? 1 : 0;
}

/** `entangled diff`: the unified diff between this node's copy and the peer's (coloured on a TTY). */
export async function runDiff(target: ApiTarget, file: string, peer: string | undefined): Promise<number> {
  const q = new URLSearchParams({ file });
  if (peer) q.set('peer', peer);
  const d = await callApi<DiffReport>(target, `/api/1/diff?${q}`, { timeoutMs: 15_000 });
  const p = painter(process.stdout);
  if (d.local === d.remote) {
    process.stdout.write(`${d.name}: identical on this node and ${d.peer} (${short(d.local)})\n`);
    return 0;
  }
  if (d.tooLarge) {
    process.stdout.write(`${d.name}: too large to diff (here ${short(d.local)}, ${d.peer} ${short(d.remote)}; over 1 MiB, or more than the node computes in time)\n`);
    return 0;
  }
  if (d.binary || d.diff === null) {
    process.stdout.write(`${d.name}: binary content differs (here ${short(d.local)}, ${d.peer} ${short(d.remote)})\n`);
    return 0;
  }
  const out = d.diff
    .split('\n')
    .map((l) => (l.startsWith('@@') ? p.blue(l) : l.startsWith('+') && !l.startsWith('+++') ? p.green(l) : l.startsWith('-') && !l.startsWith('---') ? p.red(l) : l))
    .join('\n');
  process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
  return 0;
}

/** `entangled backups`: the kept versions of a file, newest first (md5, size, when it was kept). */
export async function runBackups(target: ApiTarget, file: string): Promise<number> {
  const list = await callApi<BackupList>(target, `/api/1/backups?${new URLSearchParams({ file })}`, { timeoutMs: 10_000 });
  if (list.versions.length === 0) {
    process.stdout.write(`${list.name}: no kept versions\n`);
    return 0;
  }
  const p = painter(process.stdout);
  process.stdout.write(`${table([['MD5', 'SIZE', 'KEPT AT'].map(p.dim), ...list.versions.map((v) => [v.md5, String(v.size), v.savedAt])])}\n`);
  return 0;
}

/**
 * `entangled restore`: puts back a kept version, the newest unless `md5` (a whole md5 or a
 * unique prefix, as `status` prints it) names one. Names the version (md5, size, when it was
 * kept) before it writes it. Throws NOT_FOUND (exit 1) when none matches, BAD_REQUEST (exit 2)
 * when several do.
 */
export async function runRestore(target: ApiTarget, file: string, md5: string | undefined): Promise<number> {
  const list = await callApi<BackupList>(target, `/api/1/backups?${new URLSearchParams({ file })}`, { timeoutMs: 10_000 });
  const pick = pickVersion(list.versions, md5);
  if (pick.kind === 'ambiguous') {
    throw new EntangledError('BAD_REQUEST', `${pick.matches.length} kept versions of ${list.name} start with ${md5} (${pick.matches.map((v) => v.md5).join(', ')}): give more of the md5`);
  }
  if (pick.kind === 'none') {
    const which = md5 === undefined ? '' : ` starting with ${md5}`;
    throw new EntangledError('NOT_FOUND', `no kept version${which} of ${list.name} (see entangled backups --file ${list.name})`);
  }
  const v = pick.version;
  process.stdout.write(`${list.name}: restoring ${v.md5} (${v.size} bytes, kept ${v.savedAt})\n`);
  // The whole md5: exactly the version named above, even if a newer one was kept meanwhile.
  const r = await callApi<RestoreReport>(target, '/api/1/restore', { method: 'POST', body: { file: list.name, md5: v.md5 }, timeoutMs: 30_000 });
  process.stdout.write(`${r.name}: restored ${r.md5}\n`);
  return 0;
}
