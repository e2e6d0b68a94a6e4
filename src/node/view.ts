import type { FileStatus, Md5, PeerStatus, ReconcileMode } from '../core/types.js';

/** A large version moving in chunks to (`out`) or from (`in`) a peer: `bytes` of `total` so far. */
export interface TransferView {
  readonly direction: 'in' | 'out';
  readonly bytes: number;
  readonly total: number;
}

/**
 * One peer's copy of a file in the state document; `transfer` only while one runs; `error`
 * only while the peer reports that it could not write or take the version this node holds;
 * `changed` only on a split-brain: the nodes whose copy changed since the last agreement (null: none on record).
 */
export interface PeerFileView {
  readonly md5: Md5 | null;
  readonly status: PeerStatus;
  readonly changed?: readonly string[] | null;
  readonly transfer?: TransferView;
  readonly error?: string;
}

/** The contract's `GET /api/1/state` document. */
export interface NodeState {
  readonly node: string;
  readonly reconcile: ReconcileMode;
  readonly peers: readonly { name: string; connected: boolean; lastSeen: string | null }[];
  readonly files: readonly {
    name: string;
    path: string;
    /** When `path` is a symbolic link: the absolute path it resolves to. */
    target?: string;
    status: FileStatus;
    md5: Md5 | null;
    size: number | null;
    mtime: string | null;
    error: string | null;
    peers: Record<string, PeerFileView>;
  }[];
}

/** What the API may read from a node. */
export interface NodeView {
  state(): NodeState;
  /** Calls `listener` whenever the state may have changed; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  readonly metrics: { text(): Promise<{ contentType: string; body: string }> };
}

/** pull: this node takes the peer's copy; push: the peer takes ours; changed: in a split-brain, the side that alone changed wins. */
export type ForceDirection = 'pull' | 'push' | 'changed';

export interface ForceRequest {
  readonly files?: readonly string[];
  readonly peer?: string;
  readonly direction?: ForceDirection;
}

/**
 * One file's outcome: `error` when it failed, `reason` when it was skipped (left alone), and with
 * direction `changed` the way it went when it was settled (`direction`: pull or push).
 */
export interface ForceResult {
  readonly name: string;
  readonly path: string;
  readonly result: 'updated' | 'unchanged' | 'skipped' | 'failed';
  readonly md5: Md5 | null;
  readonly error?: string;
  readonly reason?: string;
  readonly direction?: 'pull' | 'push';
}

export interface ForceReport {
  readonly peer: string;
  readonly direction: ForceDirection;
  readonly results: readonly ForceResult[];
}

export interface DiffReport {
  readonly name: string;
  readonly peer: string;
  readonly local: Md5 | null;
  readonly remote: Md5 | null;
  readonly binary: boolean;
  readonly diff: string | null;
  /** Set (true) when the copies were too large or the diff too slow to compute: `diff` is then null. */
  readonly tooLarge?: true;
}

export interface BackupList {
  readonly name: string;
  readonly versions: readonly { md5: Md5; size: number; savedAt: string }[];
}

export interface RestoreReport {
  readonly name: string;
  readonly md5: Md5;
}

/** What the API may ask a node to do. Errors are EntangledError (BAD_REQUEST, PEER_UNREACHABLE). */
export interface NodeActions {
  force(req: ForceRequest): Promise<ForceReport>;
  diff(file: string, peer?: string): Promise<DiffReport>;
  backups(file: string): Promise<BackupList>;
  /** `md5` may be a prefix. Throws NOT_FOUND when no such version is kept, BAD_REQUEST when several kept versions have the prefix. */
  restore(file: string, md5?: string): Promise<RestoreReport>;
}
