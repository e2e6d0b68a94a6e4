import type { DiffReport, ForceReport, NodeState } from '../node/view.js';
import { callApi, type ApiTarget } from './http.js';
import { paintStatus, painter, table } from './render.js';

const short = (m: string | null | undefined) => (m ? m.slice(0, 10) : '-');

/** `entangled status`: the node's state as a table, or the raw JSON. Returns the exit code. */
export async function runStatus(target: ApiTarget, asJson: boolean): Promise<number> {
  const state = await callApi<NodeState>(target, '/api/1/state', { timeoutMs: 5000 });
  if (asJson) {
    process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    return 0;
  }
  const p = painter(process.stdout);
  const peerNames = state.peers.map((x) => x.name);
  const lines = [
    `${p.bold(`node ${state.node}`)}  reconcile: ${state.reconcile}`,
    '',
    table([
      ['PEER', 'STATE', 'LAST SEEN'].map(p.dim),
      ...state.peers.map((x) => [x.name, paintStatus(p, x.connected ? 'up' : 'down'), x.lastSeen ?? 'never']),
    ]),
    '',
    table([
      ['FILE', 'STATUS', 'MD5', ...peerNames].map(p.dim),
      ...state.files.map((f) => [
        f.name,
        paintStatus(p, f.status),
        short(f.md5),
        ...peerNames.map((n) => {
          const v = f.peers[n];
          return v ? `${paintStatus(p, v.status)} ${short(v.md5)}` : '-';
        }),
      ]),
    ]),
  ];
  const errors = state.files.filter((f) => f.error);
  if (errors.length) lines.push('', ...errors.map((f) => p.red(`${f.name}: ${f.error}`)));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `entangled force`: prints each file's result; exit 1 when any failed. */
export async function runForce(target: ApiTarget, body: { files?: string[]; peer?: string; direction: 'pull' | 'push' }): Promise<number> {
  const report = await callApi<ForceReport>(target, '/api/1/force', { method: 'POST', body, timeoutMs: 60_000 });
  const p = painter(process.stdout);
  const colour = (r: string) => (r === 'failed' ? p.red(r) : r === 'updated' ? p.green(r) : p.dim(r));
  process.stdout.write(`${report.direction} ${report.direction === 'pull' ? 'from' : 'to'} ${report.peer}\n`);
  process.stdout.write(`${table(report.results.map((r) => [r.name, colour(r.result), r.error ?? short(r.md5)]))}\n`);
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

/** `entangled restore`: puts back a kept version (the newest unless `md5` is given). */
export async function runRestore(target: ApiTarget, file: string, md5: string | undefined): Promise<number> {
  const body = md5 ? { file, md5 } : { file };
  const r = await callApi<{ name: string; md5: string }>(target, '/api/1/restore', { method: 'POST', body, timeoutMs: 30_000 });
  process.stdout.write(`${r.name}: restored ${r.md5}\n`);
  return 0;
}
