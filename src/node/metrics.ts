import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FILE_STATUSES } from '../core/types.js';
import type { NodeState } from './view.js';

/** Prometheus metrics of one node, in a registry of its own (several nodes may share a process). */
export class Metrics {
  readonly registry = new Registry();
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
  readonly framesDropped = new Counter({
    name: 'entangled_frames_dropped_total',
    help: 'Frames dropped, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly bytesReplicated = new Counter({
    name: 'entangled_bytes_replicated_total',
    help: 'File content bytes sent in changes and written from peers',
    labelNames: ['direction'],
    registers: [this.registry],
  });

  constructor(state: () => NodeState) {
    new Gauge({
      name: 'entangled_peer_up',
      help: '1 when the peer is in reach',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        // A peer a reload removed has no series any more.
        this.reset();
        for (const p of state().peers) this.set({ peer: p.name }, p.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'entangled_files',
      help: 'Listed files by status',
      labelNames: ['status'],
      registers: [this.registry],
      collect() {
        const counts = new Map<string, number>(FILE_STATUSES.map((s) => [s, 0]));
        for (const f of state().files) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
