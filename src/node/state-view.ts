import { shownError } from '../core/peer-report.js';
import { fileStatus, peerStatus } from '../core/status.js';
import type { PeerStatus } from '../core/types.js';
import type { NodeContext } from './context.js';
import type { FileTable } from './file-table.js';
import type { PeerTable } from './peer-table.js';
import type { NodeState, PeerFileView } from './view.js';

/** The contract's state document, derived afresh from the owners' facts (no status is stored). */
export class StateView {
  readonly #ctx: NodeContext;
  readonly #files: FileTable;
  readonly #peers: PeerTable;

  constructor(ctx: NodeContext, files: FileTable, peers: PeerTable) {
    this.#ctx = ctx;
    this.#files = files;
    this.#peers = peers;
  }

  state(): NodeState {
    const peers = [...this.#peers].map((s) => ({
      name: s.name,
      connected: s.connected,
      lastSeen: s.lastSeenWall === null ? null : new Date(s.lastSeenWall).toISOString(),
    }));
    const files = [...this.#files].map((a) => {
      const perPeer: Record<string, PeerFileView> = {};
      const statuses: PeerStatus[] = [];
      for (const [name, facts] of a.peers) {
        const session = this.#peers.get(name);
        const connected = session?.connected ?? false;
        const status = peerStatus(a.local.md5, facts, connected, this.#ctx.journal.durable(name, a.spec.name, a.local.md5));
        statuses.push(status);
        const md5 = connected || facts.splitBrain ? (facts.md5 ?? null) : null;
        const t = facts.transfer;
        const error = shownError(a.local.md5, facts.md5, facts.error);
        perPeer[name] = {
          md5,
          status,
          ...(status === 'split-brain' ? { changed: session?.agreement.changed(a) ?? null } : {}),
          ...(t === null ? {} : { transfer: { direction: t.direction, bytes: t.bytes, total: t.total } }),
          ...(error === null ? {} : { error }),
        };
      }
      const target = a.target;
      return {
        name: a.spec.name,
        path: a.spec.path,
        ...(target === null ? {} : { target }),
        status: fileStatus(a.local, statuses),
        md5: a.local.md5,
        size: a.local.md5 === null ? null : a.local.size,
        mtime: a.local.md5 === null ? null : new Date(a.local.mtimeMs).toISOString(),
        error: a.error,
        peers: perPeer,
      };
    });
    return { node: this.#ctx.node, reconcile: this.#ctx.settings.reconcile, peers, files };
  }
}
