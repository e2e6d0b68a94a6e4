/** An md5 digest as 32 lowercase hex characters. */
export type Md5 = string;

export const RECONCILE_MODES = ['manual', 'auto'] as const;
export type ReconcileMode = (typeof RECONCILE_MODES)[number];

/** What this node knows of its own copy of a file. `md5` is null when the file is absent. */
export interface LocalFacts {
  readonly md5: Md5 | null;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * What this node knows of one peer's copy of one file.
 * `md5`: undefined = not known, null = the peer has no such file.
 * `inFlight`: the md5 of a change we sent that the peer has not confirmed yet.
 * `splitBrain`: a recorded disagreement with that peer; only agreement clears it.
 * `unlisted`: the peer's last digest map does not list this name (md5 is then null).
 * `splitTheirs`: the peer's side of that split-brain when it was last found (null: none, or
 * the peer had no file). Unlike `md5` it is not moved by a digest exchange, which may report
 * the peer's next version while the change that made it is still on its way to us.
 */
export interface PeerFileFacts {
  md5: Md5 | null | undefined;
  inFlight: Md5 | null;
  splitBrain: boolean;
  unlisted: boolean;
  splitTheirs: Md5 | null;
}

export const PEER_STATUSES = ['aligned', 'pending', 'split-brain', 'missing', 'unlisted', 'unknown'] as const;
export type PeerStatus = (typeof PEER_STATUSES)[number];

export const FILE_STATUSES = ['aligned', 'pending', 'split-brain', 'missing', 'unlisted', 'unknown'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/** Error codes shared by every layer; the API maps them to HTTP statuses in one place. */
export const ERROR_CODES = [
  'CONFIG',
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PEER_UNREACHABLE',
  'PEER_FAULT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'BUSY',
  'IO',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
