import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Settings } from '../config/settings.js';
import { BackupStore } from '../io/backups.js';
import { Journal } from '../io/journal.js';
import type { Logger } from '../log.js';
import { HookRunner } from './hooks.js';
import { Metrics } from './metrics.js';
import { TransferProgress } from './progress.js';
import type { NodeState } from './view.js';

/**
 * The node's two clocks, kept apart: `now()` is monotonic (every duration a decision depends
 * on), `wall()` is the wall clock (only what a person reads: lastSeen, mtime, logs).
 */
export interface Clock {
  now(): number;
  wall(): number;
}

export const SYSTEM_CLOCK: Clock = { now: () => performance.now(), wall: () => Date.now() };

/** Listeners told (synchronously, cheaply) whenever the node's state may have changed. */
export class Notifier {
  readonly #listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  changed(): void {
    for (const l of this.#listeners) l();
  }
}

/** What every owner of a node shares: its settings, services and lifecycle flag. */
export interface NodeContext {
  /** The settings in force: a reload replaces them (never node, m2m, stateDir, api address or own keys). */
  settings: Settings;
  readonly node: string;
  /** This incarnation: a restart gets a new one, so peers know to exchange digests again. */
  readonly epoch: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** The heartbeat period: at least four per peerTimeoutMs (follows a reload's peerTimeoutMs). */
  readonly hbMs: number;
  /** How long a request to a peer waits for its reply. */
  readonly requestTimeoutMs: number;
  readonly journal: Journal;
  readonly backups: BackupStore;
  readonly hooks: HookRunner;
  readonly metrics: Metrics;
  readonly notify: Notifier;
  /** Chunked transfers in progress, as facts of the peers' copies. */
  readonly progress: TransferProgress;
  /** Set once stop() began: no new work starts. */
  stopping: boolean;
}

export function createContext(settings: Settings, log: Logger, state: () => NodeState, clock: Clock = SYSTEM_CLOCK): NodeContext {
  const journal = new Journal(settings.stateDir, settings.node, log);
  const notify = new Notifier();
  const requestTimeoutMs = Math.min(Math.max(settings.peerTimeoutMs, 500), 5000);
  // A save makes agreements durable: peers shown pending a moment are now aligned.
  journal.onSaved(() => notify.changed());
  return {
    settings,
    node: settings.node,
    epoch: randomBytes(8).toString('hex'),
    log,
    clock,
    get hbMs() {
      return Math.max(20, Math.floor(this.settings.peerTimeoutMs / 5));
    },
    requestTimeoutMs,
    journal,
    backups: new BackupStore(settings.stateDir, settings.backups),
    hooks: new HookRunner(settings, log),
    metrics: new Metrics(state),
    notify,
    // A receiver asks for the next chunk once it has written the last: twice its request timeout without one, it gave up.
    progress: new TransferProgress(clock, notify, 2 * requestTimeoutMs),
    stopping: false,
  };
}
