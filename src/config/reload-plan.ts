import type { FileSpec, PeerSpec, Settings } from './settings.js';

/** What a reload changes, file by file and peer by peer (by cluster-wide name). */
export interface ReloadChanges {
  readonly files: { readonly added: readonly FileSpec[]; readonly removed: readonly FileSpec[]; readonly updated: readonly FileSpec[] };
  /** `replaced`: the peer's endpoints changed (its sockets are made anew); `rekeyed`: only its keys. */
  readonly peers: { readonly added: readonly PeerSpec[]; readonly removed: readonly PeerSpec[]; readonly replaced: readonly PeerSpec[]; readonly rekeyed: readonly PeerSpec[] };
  /** Whether a peer's key that was admitted is no longer (a peer removed or made anew, a key taken from a list): links made with it must go. */
  readonly keysDropped: boolean;
  /** The other keys whose value changed: token, api.hosts, reconcile, peerTimeoutMs, settleMs, backups, maxBytes, hooks. */
  readonly settings: readonly string[];
}

export type ReloadPlan = { readonly kind: 'refused'; readonly key: string } | ({ readonly kind: 'apply' } & ReloadChanges);

/** The keys that cannot change while a node runs, each with how to read it from Settings. */
const FIXED: readonly [string, (s: Settings) => unknown][] = [
  ['node', (s) => s.node],
  ['m2m.pub', (s) => s.m2m.pub],
  ['m2m.rep', (s) => s.m2m.rep],
  ['stateDir', (s) => s.stateDir],
  ['api.host', (s) => s.api.host],
  ['api.port', (s) => s.api.port],
  ['security.curve', (s) => (s.security ? 'on' : 'off')],
  ['security.curve.publicKey', (s) => s.security?.curve.publicKey],
  ['security.curve.secretKey', (s) => s.security?.curve.secretKey],
];

const MUTABLE: readonly [string, (s: Settings) => unknown][] = [
  ['api.token', (s) => s.api.token],
  ['api.hosts', (s) => s.api.hosts.join(' ')],
  ['reconcile', (s) => s.reconcile],
  ['peerTimeoutMs', (s) => s.peerTimeoutMs],
  ['settleMs', (s) => s.settleMs],
  ['backups', (s) => s.backups],
  ['maxBytes', (s) => s.maxBytes],
  ['hooks', (s) => JSON.stringify(s.hooks)],
];

const sameKeys = (a: PeerSpec, b: PeerSpec) => a.publicKeys.length === b.publicKeys.length && a.publicKeys.every((k, i) => k === b.publicKeys[i]);

/**
 * Compares the running settings with a reloaded, already valid config: refused (naming the
 * first key that cannot change at runtime), or what to add, remove and update. A file is known
 * by its name and path together: a name listed under another path is removed and added.
 */
export function planReload(cur: Settings, next: Settings): ReloadPlan {
  // Known: both configs are valid on their own; the question is only whether one may follow the other.
  for (const [key, read] of FIXED) if (read(cur) !== read(next)) return { kind: 'refused', key };

  const curFiles = new Map(cur.files.map((f) => [f.name, f]));
  const nextFiles = new Map(next.files.map((f) => [f.name, f]));
  const added: FileSpec[] = [];
  const removed: FileSpec[] = [];
  const updated: FileSpec[] = [];
  for (const f of next.files) {
    const was = curFiles.get(f.name);
    if (!was || was.path !== f.path) added.push(f);
    else if (was.validate !== f.validate || was.onApply !== f.onApply || was.settleMs !== f.settleMs || was.createMode !== f.createMode || was.maxBytes !== f.maxBytes) updated.push(f);
  }
  for (const f of cur.files) {
    const now = nextFiles.get(f.name);
    if (!now || now.path !== f.path) removed.push(f);
  }

  const curPeers = new Map(cur.peers.map((p) => [p.name, p]));
  const nextPeers = new Map(next.peers.map((p) => [p.name, p]));
  const peers = { added: [] as PeerSpec[], removed: [] as PeerSpec[], replaced: [] as PeerSpec[], rekeyed: [] as PeerSpec[] };
  for (const p of next.peers) {
    const was = curPeers.get(p.name);
    if (!was) peers.added.push(p);
    else if (was.pub !== p.pub || was.rep !== p.rep) peers.replaced.push(p);
    else if (!sameKeys(was, p)) peers.rekeyed.push(p);
  }
  for (const p of cur.peers) if (!nextPeers.has(p.name)) peers.removed.push(p);
  const keyTaken = peers.rekeyed.some((p) => curPeers.get(p.name)!.publicKeys.some((k) => !p.publicKeys.includes(k)));
  const keysDropped = peers.removed.length + peers.replaced.length > 0 || keyTaken;

  const settings = MUTABLE.filter(([, read]) => read(cur) !== read(next)).map(([key]) => key);
  return { kind: 'apply', files: { added, removed, updated }, peers, keysDropped, settings };
}

/** True when the plan changes nothing at all. */
export function isEmptyPlan(p: ReloadChanges): boolean {
  const { files, peers } = p;
  return files.added.length + files.removed.length + files.updated.length + peers.added.length + peers.removed.length + peers.replaced.length + peers.rekeyed.length + p.settings.length === 0;
}
