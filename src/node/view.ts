import type { FileStatus, Md5, PeerStatus, ReconcileMode } from '../core/types.js';

/** The contract's `GET /api/1/state` document. */
export interface NodeState {
  readonly node: string;
  readonly reconcile: ReconcileMode;
  readonly peers: readonly { name: string; connected: boolean; lastSeen: string | null }[];
  readonly files: readonly {
    name: string;
    path: string;
    status: FileStatus;
    md5: Md5 | null;
    size: number | null;
    mtime: string | null;
    error: string | null;
    peers: Record<string, { md5: Md5 | null; status: PeerStatus }>;
  }[];
}

/** What the API may read from a node. */
export interface NodeView {
  state(): NodeState;
}
