import { readFile } from 'node:fs/promises';
import { chooseChanged } from '../core/changed-sides.js';
import { EntangledError, errorText, isEntangledError } from '../core/errors.js';
import { LIMITS, type ContentReply, type Reply, type TakeRequest } from '../core/frame.js';
import { pickVersion } from '../core/pick-version.js';
import type { Md5 } from '../core/types.js';
import { PathNotTrusted } from '../io/ownership.js';
import { readSnapshot } from '../io/snapshot.js';
import type { NodeContext } from './context.js';
import type { FileActor } from './file-actor.js';
import type { FileTable } from './file-table.js';
import type { Outbox } from './outbox.js';
import type { PeerSession } from './peer-session.js';
import type { PeerTable } from './peer-table.js';
import { unifiedDiffWithin } from './text-diff.js';
import type { Content, Transfer } from './transfer.js';
import type { BackupList, DiffReport, ForceDirection, ForceReport, ForceRequest, ForceResult, NodeActions, RestoreReport } from './view.js';

/** The largest copies `diff` compares: what one pull carries inline (LIMITS.inline). */
const DIFF_MAX_BYTES = LIMITS.inline;
/** A diff is answered this long after it is asked for at the latest (the contract's 2 s, with room for the HTTP hop). */
const DIFF_DEADLINE_MS = 1500;
/** A peer writes a pushed large file at least this fast (bytes per ms): the push waits that long. */
const PUSH_BYTES_PER_MS = 20_000;
/** A peer's answer to a push whose `expected` copy is no longer what it holds. */
const TAKE_CHANGED = 'copy changed meanwhile';

/** Both copies of a file as force --changed decided on them (null: absent). */
interface Copies {
  readonly local: Md5 | null;
  readonly remote: Md5 | null;
}

/**
 * The operator's actions: force (pull or push), diff, backups and restore, and the peer's side
 * of a push. Each runs through the file's queue and writes only through the transfer.
 */
export class Operations implements NodeActions {
  readonly #ctx: NodeContext;
  readonly #files: FileTable;
  readonly #peers: PeerTable;
  readonly #transfer: Transfer;
  readonly #outbox: Outbox;

  constructor(ctx: NodeContext, files: FileTable, peers: PeerTable, transfer: Transfer, outbox: Outbox) {
    this.#ctx = ctx;
    this.#files = files;
    this.#peers = peers;
    this.#transfer = transfer;
    this.#outbox = outbox;
  }

  #reachable(peer: PeerSession): void {
    if (!peer.connected) throw new EntangledError('PEER_UNREACHABLE', `peer "${peer.name}" is not in reach`);
  }

  /**
   * Makes this node take the peer's content (pull), the peer take ours (push), or, for each file
   * in split-brain with the peer, the side that alone changed since the last agreement win
   * (changed), for the given files (names or absolute paths; default all). A file the peer does
   * not list is skipped (failed when it was named). Throws BAD_REQUEST, PEER_UNREACHABLE or PEER_FAULT.
   */
  async force(req: ForceRequest): Promise<ForceReport> {
    const peer = this.#peers.resolve(req.peer);
    const actors = req.files === undefined ? [...this.#files] : [...new Set(req.files.map((f) => this.#files.resolve(f)))];
    this.#reachable(peer);
    const direction = req.direction ?? 'pull';
    const named = req.files !== undefined;
    const results: ForceResult[] = [];
    for (const actor of actors) {
      try {
        results.push(await actor.queue.run(() => this.#forceOne(peer, actor, direction, named)));
      } catch (err) {
        // The peer failed before anything was done: the whole call fails (503 or 502).
        const code = isEntangledError(err) ? err.code : null;
        if (results.length === 0 && (code === 'PEER_UNREACHABLE' || code === 'PEER_FAULT')) throw err;
        results.push({ name: actor.spec.name, path: actor.spec.path, result: 'failed', md5: actor.local.md5, error: errorText(err) });
      }
    }
    const count = (r: ForceResult['result']) => results.filter((x) => x.result === r).length;
    this.#ctx.log.info({ peer: peer.name, direction, files: results.length, failed: count('failed'), skipped: count('skipped') }, 'force done');
    return { peer: peer.name, direction, results };
  }

  /** One file of a force, in its queue. */
  async #forceOne(peer: PeerSession, actor: FileActor, direction: ForceDirection, named: boolean): Promise<ForceResult> {
    // The peer cannot take or give a name it does not list (its digests said so).
    if (actor.peer(peer.name).unlisted) {
      const why = `${peer.name} does not list ${actor.spec.name}`;
      const base = { name: actor.spec.name, path: actor.spec.path, md5: actor.local.md5 };
      return named ? { ...base, result: 'failed', error: why } : { ...base, result: 'skipped', reason: why };
    }
    if (direction === 'pull') return this.#pull(peer, actor);
    if (direction === 'push') return this.#push(peer, actor);
    return this.#changed(peer, actor);
  }

  /**
   * force --changed for one file: decided on the copies as they are now (chooseChanged), then a
   * pull or a push that goes ahead only while both copies are still the ones decided on.
   */
  async #changed(peer: PeerSession, actor: FileActor): Promise<ForceResult> {
    const base = { name: actor.spec.name, path: actor.spec.path };
    const snap = await actor.readAndAnnounce();
    if (snap === undefined) return { ...base, result: 'failed', md5: null, error: actor.error ?? 'cannot read the file' };
    const facts = actor.peer(peer.name);
    const local = snap?.md5 ?? null;
    const remote = facts.md5;
    const changed = peer.agreement.changed(actor);
    const choice = chooseChanged({ self: this.#ctx.node, peer: peer.name, splitBrain: facts.splitBrain, local, remote, unlisted: facts.unlisted, changed });
    switch (choice.kind) {
      case 'unchanged':
        return { ...base, result: 'unchanged', md5: local };
      case 'skip':
        actor.log.info({ peer: peer.name, reason: choice.reason, changed }, 'force --changed left the file alone');
        return { ...base, result: 'skipped', md5: local, reason: choice.reason };
      case 'pull':
        return { ...(await this.#pull(peer, actor, { local, remote: remote ?? null })), direction: 'pull' };
      case 'push':
        return { ...(await this.#push(peer, actor, { local, remote: remote ?? null })), direction: 'push' };
    }
  }

  /** The peer's whole content reply for a file (data null when it is large: pull chunks). */
  async #content(peer: PeerSession, actor: FileActor): Promise<ContentReply> {
    const reply = await peer.requester.request({ v: 1, t: 'pull', from: this.#ctx.node, name: actor.spec.name });
    if (reply.t === 'error') throw new EntangledError('PEER_FAULT', `peer "${peer.name}" could not send ${actor.spec.name}: ${reply.message}`);
    if (reply.t !== 'content') throw new EntangledError('PEER_FAULT', `peer "${peer.name}" sent a ${reply.t} reply to a pull`);
    return reply;
  }

  /**
   * Takes the peer's copy. With `expect` (force --changed) only while the peer's copy is still
   * `expect.remote` and ours `expect.local` (re-checked just before the rename); else it is skipped.
   */
  async #pull(peer: PeerSession, actor: FileActor, expect?: Copies): Promise<ForceResult> {
    const base = { name: actor.spec.name, path: actor.spec.path };
    const reply = await this.#content(peer, actor);
    if (reply.md5 === null) return { ...base, result: 'failed', md5: actor.local.md5, error: `peer "${peer.name}" has no such file` };
    if (expect && reply.md5 !== expect.remote) return { ...base, result: 'skipped', md5: actor.local.md5, reason: `${peer.name}'s copy changed meanwhile` };
    const outcome = await this.#forceWrite(peer, actor, reply.data ?? { source: peer, size: reply.size }, reply.md5, expect?.local);
    if (outcome === 'changed') return { ...base, result: 'skipped', md5: actor.local.md5, reason: 'this node\'s copy changed meanwhile' };
    if (outcome === 'failed') return { ...base, result: 'failed', md5: actor.local.md5, error: actor.error ?? 'write failed' };
    actor.log.info({ peer: peer.name, md5: reply.md5, result: outcome }, 'forced pull');
    return { ...base, result: outcome, md5: reply.md5 };
  }

  /**
   * Makes the peer take our copy. With `expect` (force --changed) only while ours is still
   * `expect.local` and the peer's `expect.remote` (the peer re-checks it before its rename); else skipped.
   */
  async #push(peer: PeerSession, actor: FileActor, expect?: Copies): Promise<ForceResult> {
    const base = { name: actor.spec.name, path: actor.spec.path };
    // A rewrite in place under way here is waited for: the peer takes what the writer leaves.
    const snap = await actor.readSettled();
    if (!snap) return { ...base, result: 'failed', md5: null, error: actor.error ?? 'no local copy to push' };
    if (expect && snap.md5 !== expect.local) return { ...base, result: 'skipped', md5: snap.md5, reason: 'this node\'s copy changed meanwhile' };
    // The peer pulls a large file in chunks, then runs its validate command, while this waits.
    const timeout = peer.requester.timeoutMs + Math.ceil(snap.size / PUSH_BYTES_PER_MS) + this.#ctx.settings.hooks.timeoutMs;
    const take = { v: 1, t: 'take', from: this.#ctx.node, name: actor.spec.name, md5: snap.md5, data: snap.data, size: snap.size } as const;
    const reply = await peer.requester.request(expect ? { ...take, expected: expect.remote } : take, timeout);
    if (expect && reply.t === 'error' && reply.message === TAKE_CHANGED) return { ...base, result: 'skipped', md5: snap.md5, reason: `${peer.name}'s copy changed meanwhile` };
    if (reply.t !== 'took') throw new EntangledError('PEER_FAULT', `peer "${peer.name}" sent a ${reply.t} reply to a push`);
    peer.agreement.learn(actor, reply.md5);
    if (reply.md5 === actor.local.md5) peer.agreement.agree(actor, reply.md5);
    actor.log.info({ peer: peer.name, md5: reply.md5, result: reply.result }, 'forced push');
    return { ...base, result: reply.result, md5: reply.md5 };
  }

  /** A peer's forced push: replace our copy with its content. Runs in the file's queue. */
  async take(peer: PeerSession, actor: FileActor, req: TakeRequest): Promise<Reply> {
    const outcome = await this.#forceWrite(peer, actor, req.data ?? { source: peer, size: req.size }, req.md5, req.expected);
    if (outcome === 'changed') return { v: 1, t: 'error', message: TAKE_CHANGED };
    if (outcome === 'failed') return { v: 1, t: 'error', message: actor.error ?? 'write failed' };
    actor.log.info({ peer: peer.name, md5: req.md5, result: outcome }, 'took a forced push');
    return { v: 1, t: 'took', name: actor.spec.name, md5: req.md5, result: outcome };
  }

  /**
   * Writes a forced version (no precondition unless `expected` is given: the operator chose it),
   * journals the agreement with `peer`, tells every peer with a have, and publishes it to the
   * others as a change, so they follow. `changed`: our copy is no longer `expected` (nothing written).
   */
  async #forceWrite(peer: PeerSession, actor: FileActor, content: Content, md5: Md5, expected?: Md5 | null): Promise<'updated' | 'unchanged' | 'changed' | 'failed'> {
    const snap = await actor.readAndAnnounce();
    peer.agreement.learn(actor, md5);
    if (snap && snap.md5 === md5) {
      peer.agreement.agree(actor, md5);
      this.#outbox.have(actor.spec.name, md5, null, null);
      return 'unchanged';
    }
    if (expected !== undefined) {
      if (snap === undefined) return 'failed';
      if ((snap?.md5 ?? null) !== expected) return 'changed';
    }
    const prev = actor.known;
    const outcome = await this.#transfer.write(actor, { md5, content, from: peer.name, ...(expected === undefined ? {} : { expected }) });
    if (outcome === 'changed') return 'changed';
    if (outcome !== 'written') return 'failed';
    peer.agreement.agree(actor, md5);
    // `peer` holds these bytes already: a have tells it (and every peer) that we hold them too.
    this.#outbox.have(actor.spec.name, md5, null, null);
    actor.publish(prev, { md5, size: actor.local.size, data: content instanceof Uint8Array ? content : null }, peer.name);
    return 'updated';
  }

  /**
   * This node's copy and the peer's side by side, as a unified diff (local ---, peer +++),
   * within DIFF_DEADLINE_MS of the request: copies over DIFF_MAX_BYTES, or a diff not done on its
   * worker by then, are `tooLarge` with no diff. Only the copies travel (one pull, no chunks).
   */
  async diff(file: string, peerName?: string): Promise<DiffReport> {
    const deadline = performance.now() + DIFF_DEADLINE_MS;
    const peer = this.#peers.resolve(peerName);
    const actor = this.#files.resolve(file);
    this.#reachable(peer);
    const reply = await this.#content(peer, actor);
    let at: string;
    try {
      at = actor.readablePath();
    } catch (err) {
      if (err instanceof PathNotTrusted) throw new EntangledError('CONFLICT', err.message);
      throw err;
    }
    const local = await readSnapshot(at, actor.hash, actor.maxBytes);
    const base = { name: actor.spec.name, peer: peer.name, local: local?.md5 ?? null, remote: reply.md5 };
    const sizes = Math.max(local?.size ?? 0, reply.size);
    // A copy larger than one pull's inline content would take chunked pulls beside replication's own.
    if (sizes > DIFF_MAX_BYTES || (reply.data === null && reply.md5 !== null)) return { ...base, binary: false, diff: null, tooLarge: true };
    const mine = local && local.data === null ? await readFile(at).catch(() => null) : (local?.data ?? null);
    const d = await unifiedDiffWithin({ label: `${this.#ctx.node}:${actor.spec.name}`, data: mine }, { label: `${peer.name}:${actor.spec.name}`, data: reply.data }, deadline);
    if (d.tooLarge) actor.log.info({ peer: peer.name, bytes: sizes }, 'diff too large or too slow to compute: answered without one');
    return { ...base, ...d };
  }

  /** The versions of a file kept before peers or forces replaced them, newest first. */
  async backups(file: string): Promise<BackupList> {
    const actor = this.#files.resolve(file);
    const versions = await this.#ctx.backups.list(actor.spec.name);
    return { name: actor.spec.name, versions: versions.map(({ md5, size, savedAt }) => ({ md5, size, savedAt })) };
  }

  /**
   * Writes a kept version back (the newest unless `md5`, a whole md5 or a prefix of one, is
   * given) as a local change: it is published like an edit, and the version it replaces is kept
   * in turn. Throws NOT_FOUND when no such version is kept (or its copy no longer matches),
   * BAD_REQUEST when several kept versions have the prefix, CONFLICT when the file changed meanwhile.
   */
  async restore(file: string, md5?: string): Promise<RestoreReport> {
    const actor = this.#files.resolve(file);
    const name = actor.spec.name;
    return actor.queue.run(async () => {
      const kept = await this.#ctx.backups.list(name);
      const pick = pickVersion(kept, md5);
      if (pick.kind === 'ambiguous') {
        throw new EntangledError('BAD_REQUEST', `${pick.matches.length} kept versions of ${name} start with ${md5} (${pick.matches.map((k) => k.md5).join(', ')}): give more of the md5`);
      }
      if (pick.kind === 'none') {
        const which = md5 === undefined ? '' : md5.length === 32 ? ` ${md5}` : ` starting with ${md5}`;
        throw new EntangledError('NOT_FOUND', `no kept version${which} of ${name}`);
      }
      const version = pick.version;
      const snap = await actor.readAndAnnounce();
      if (snap === undefined) throw new EntangledError('IO', actor.error ?? `cannot read ${actor.spec.path}`);
      if (snap?.md5 === version.md5) return { name, md5: version.md5 };
      const current = snap?.md5 ?? null;
      await this.#transfer.restore(actor, version, current);
      actor.log.info({ md5: version.md5, savedAt: version.savedAt, replaced: current }, 'restored a kept version');
      // Published as a local change: the read sees new bytes.
      await actor.readAndAnnounce();
      return { name, md5: version.md5 };
    });
  }
}
