import type { Md5 } from './types.js';

/** Each side's copy of one file and the agreements on record between the two nodes. */
export interface AgreementFacts {
  /** This node's copy; null when absent. */
  readonly local: Md5 | null;
  /** The peer's copy; null when absent, undefined when not known. */
  readonly remote: Md5 | null | undefined;
  /** The last version this node's journal says the two agreed on; null when none. */
  readonly agreed: Md5 | null;
  /** The same as the peer's journal has it (from its digest reply); null when none or not said. */
  readonly peerAgreed?: Md5 | null;
}

/** Which side's copy moved on from every agreement on record; `theirs` is null when the peer's copy is not known. */
export interface SidesChanged {
  readonly ours: boolean;
  readonly theirs: boolean | null;
}

/**
 * Which sides changed since the last agreement: a copy that still equals a version either
 * journal records as agreed did not change (the two records differ when one side's save was
 * lost). Null when neither journal has an agreement: the copies differed from the start.
 */
export function sidesChanged(f: AgreementFacts): SidesChanged | null {
  const agreed = f.agreed;
  const peerAgreed = f.peerAgreed ?? null;
  // No agreement on record on either side: nothing to have changed since.
  if (agreed === null && peerAgreed === null) return null;
  const held = (m: Md5 | null) => m !== null && (m === agreed || m === peerAgreed);
  return { ours: !held(f.local), theirs: f.remote === undefined ? null : !held(f.remote) };
}

/**
 * The contract's `changed`: the names of the nodes whose copy changed since the last agreement
 * (sorted), or null when there is none on record. A peer whose copy is not known is left out.
 */
export function changedNodes(self: string, peer: string, f: AgreementFacts): string[] | null {
  const s = sidesChanged(f);
  if (s === null) return null;
  const out: string[] = [];
  if (s.ours) out.push(self);
  if (s.theirs === true) out.push(peer);
  return out.sort();
}

/** A split-brain in words, for log lines and reasons: which side changed since the last agreement. */
export function describeChanged(changed: readonly string[] | null): string {
  if (changed === null) return 'no agreement on record: the copies differed from the start';
  if (changed.length === 0) return 'neither side changed since an agreement (each holds a version agreed at some time)';
  if (changed.length === 1) return `only ${changed[0]} changed since the last agreement`;
  return `both ${changed.join(' and ')} changed since the last agreement`;
}

/** What `force` with direction `changed` does with one file. */
export type ChangedChoice =
  | { readonly kind: 'pull' }
  | { readonly kind: 'push' }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'skip'; readonly reason: string };

export interface ChangedChoiceFacts {
  readonly self: string;
  readonly peer: string;
  /** The file is in split-brain with the peer. */
  readonly splitBrain: boolean;
  /** This node's copy (null: absent) and the peer's (undefined: not known). */
  readonly local: Md5 | null;
  readonly remote: Md5 | null | undefined;
  /** The peer does not list the file. */
  readonly unlisted: boolean;
  /** changedNodes for the file and the peer. */
  readonly changed: readonly string[] | null;
}

/**
 * Decides `force --changed` for one file: in a split-brain the side that alone changed since the
 * last agreement wins (the peer: a pull; this node: a push); anything else is left alone, with
 * the reason.
 */
export function chooseChanged(f: ChangedChoiceFacts): ChangedChoice {
  // Nothing to settle: the copies are the same.
  if (!f.splitBrain && f.local !== null && f.local === f.remote) return { kind: 'unchanged' };
  // The peer cannot take or give a file it does not list.
  if (f.unlisted) return { kind: 'skip', reason: `${f.peer} does not list this file` };
  // Which side changed cannot be told without the peer's digest (its exchange is still to come).
  if (f.remote === undefined) return { kind: 'skip', reason: `${f.peer}'s copy is not known yet` };
  // Only a split-brain is settled by who changed; a pending or missing copy is on its way or absent.
  if (!f.splitBrain) return { kind: 'skip', reason: `not in split-brain with ${f.peer}` };
  const c = f.changed;
  // Exactly one side moved on: its copy wins.
  if (c !== null && c.length === 1 && c[0] === f.peer) return { kind: 'pull' };
  if (c !== null && c.length === 1 && c[0] === f.self) return { kind: 'push' };
  // Both changed, neither did, or there never was an agreement: the operator must choose.
  return { kind: 'skip', reason: describeChanged(c) };
}
