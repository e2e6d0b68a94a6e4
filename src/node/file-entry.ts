import type { FileSpec } from '../config/settings.js';
import type { ChangeFrame } from '../core/frame.js';
import type { LocalFacts, Md5, PeerFileFacts } from '../core/types.js';
import type { HashCache } from '../io/snapshot.js';
import type { Logger } from '../log.js';
import type { PeerLink } from './peer-link.js';
import { SerialQueue } from './serial.js';

/** What a write installs: inline bytes, or a large version pulled from a peer in chunks. */
export type Content = Uint8Array | { readonly link: PeerLink; readonly size: number };

/** What this node knows of one peer's copy of one file, plus its own bookkeeping for it. */
export interface PeerFacts extends PeerFileFacts {
  /** When our in-flight change was last sent (ms), and when first (for the latency histogram). */
  sentAt: number;
  publishedAt: number;
  /** Value of the node's learn counter when a frame last told us about this peer's copy. */
  learnedAt: number;
}

/** Everything the node holds about one listed file. */
export interface FileEntry {
  readonly spec: FileSpec;
  readonly log: Logger;
  readonly queue: SerialQueue;
  /** The last version this node had; survives a deletion so a recreation chains to it. */
  known: Md5 | null;
  local: LocalFacts;
  error: string | null;
  errorKind: 'read' | 'write' | null;
  /** The last version the validate command refused, and when (not retried for a while). */
  refused: { md5: Md5; at: number } | null;
  /** The last change we published, for retransmission. */
  lastSent: { prev: Md5 | null; md5: Md5 } | null;
  /** The versions this node has held, oldest first (bounded): what a change may supersede. */
  history: Md5[];
  /** The last hash of a large file with the signature it had: no re-read while unchanged. */
  hash: HashCache | null;
  /** Change frames from peers waiting in the queue, oldest first. */
  readonly incoming: ChangeFrame[];
  scanQueued: boolean;
  verifyTimer: NodeJS.Timeout | null;
  statSig: string;
  readonly peers: Map<string, PeerFacts>;
}

export const MISSING: LocalFacts = Object.freeze({ md5: null, size: 0, mtimeMs: 0 });

/** A fresh entry: nothing known yet of the file or of any peer's copy. */
export function createFileEntry(spec: FileSpec, peers: readonly string[], log: Logger, onTaskError: (log: Logger, err: unknown) => void): FileEntry {
  const entryLog = log.child({ path: spec.path, name: spec.name });
  return {
    spec,
    log: entryLog,
    queue: new SerialQueue((err) => onTaskError(entryLog, err)),
    known: null,
    local: MISSING,
    error: null,
    errorKind: null,
    refused: null,
    lastSent: null,
    history: [],
    incoming: [],
    hash: null,
    scanQueued: false,
    verifyTimer: null,
    statSig: '',
    peers: new Map(peers.map((p) => [p, { md5: undefined, inFlight: null, splitBrain: false, sentAt: 0, publishedAt: 0, learnedAt: 0 }])),
  };
}
