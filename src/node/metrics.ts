import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FRAME_KINDS } from '../core/frame.js';
import { FILE_STATUSES } from '../core/types.js';
import { VERSION } from '../version.js';
import type { NodeState } from './view.js';

/** The `reason` label of entangled_frames_dropped_total: a fixed set, so a forged frame cannot mint new series. */
export const DROP_REASONS = ['malformed', 'wrong_sender', 'not_listed', 'md5_mismatch', 'other'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** The metric label for why a frame was dropped (the reason as decodeFrame words it, which may name a peer). */
export function dropReason(reason: string): DropReason {
  if (/not listed/.test(reason)) return 'not_listed';
  if (/^sender |unknown peer/.test(reason)) return 'wrong_sender';
  if (/does not match md5/.test(reason)) return 'md5_mismatch';
  if (/^(not msgpack|not a map|unsupported version|unknown kind|bad |too many)/.test(reason)) return 'malformed';
  return 'other';
}

/**
 * Prometheus metrics of one node, in a registry of its own (several nodes may share a process):
 * the node's own, the process's (prom-client's defaults) and entangled_build_info. Every counter
 * has its known label sets from the start, at 0. A scrape reads the node's state once.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #state: () => NodeState;
  /** The state read for the scrape in progress, shared by every gauge it collects. */
  #scrape: NodeState | null = null;
  readonly propagation = new Histogram({
    name: 'entangled_change_propagation_seconds',
    help: 'Time from publishing a local change to the peer confirming it applied it (ack)',
    labelNames: ['peer'],
    buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly framesSent = new Counter({
    name: 'entangled_frames_sent_total',
    help: 'Frames published, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly framesReceived = new Counter({
    name: 'entangled_frames_received_total',
    help: 'Valid frames received, by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #framesDropped = new Counter({
    name: 'entangled_frames_dropped_total',
    help: `Frames dropped, by reason (${DROP_REASONS.join(', ')})`,
    labelNames: ['reason'],
    registers: [this.registry],
  });
  /** Counts a dropped frame under its reason's label (see dropReason). */
  readonly framesDropped = { inc: (labels: { reason: string }) => this.#framesDropped.inc({ reason: dropReason(labels.reason) }) };
  readonly bytesReplicated = new Counter({
    name: 'entangled_bytes_replicated_total',
    help: 'File content bytes sent in changes and written from peers',
    labelNames: ['direction'],
    registers: [this.registry],
  });

  constructor(state: () => NodeState) {
    this.#state = state;
    const read = () => this.#scrape ?? state();
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'entangled_build_info', help: 'Always 1; the version label is this build\'s', labelNames: ['version'], registers: [this.registry] }).set({ version: VERSION }, 1);
    for (const kind of Object.values(FRAME_KINDS)) {
      this.framesSent.inc({ kind }, 0);
      this.framesReceived.inc({ kind }, 0);
    }
    for (const reason of DROP_REASONS) this.#framesDropped.inc({ reason }, 0);
    for (const direction of ['sent', 'received']) this.bytesReplicated.inc({ direction }, 0);
    new Gauge({
      name: 'entangled_peer_up',
      help: '1 when the peer is in reach',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        // A peer a reload removed has no series any more.
        this.reset();
        for (const p of read().peers) this.set({ peer: p.name }, p.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'entangled_files',
      help: 'Listed files by status',
      labelNames: ['status'],
      registers: [this.registry],
      collect() {
        const counts = new Map<string, number>(FILE_STATUSES.map((s) => [s, 0]));
        for (const f of read().files) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'entangled_file_not_aligned',
      help: '1 when the peer\'s copy of the file is not aligned with this node\'s (status says how), 0 when it is',
      labelNames: ['file', 'peer', 'status'],
      registers: [this.registry],
      collect() {
        // One series per file and peer: a status change replaces its series, a reload drops removed ones.
        this.reset();
        for (const f of read().files) for (const [peer, v] of Object.entries(f.peers)) this.set({ file: f.name, peer, status: v.status }, v.status === 'aligned' ? 0 : 1);
      },
    });
    new Gauge({
      name: 'entangled_file_error',
      help: '1 when the file has a problem on this node (its state\'s error: unreadable, unsafe path, too large)',
      labelNames: ['file'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const f of read().files) this.set({ file: f.name }, f.error ? 1 : 0);
      },
    });
  }

  /** The Prometheus text exposition. Reads the node's state once for all the gauges. */
  async text(): Promise<{ contentType: string; body: string }> {
    this.#scrape = this.#state();
    try {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    } finally {
      this.#scrape = null;
    }
  }
}
