import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { NodeState, NodeView } from '../node/view.js';

/** Coalescing delay between a state change and the events it produces (a client may ask for another). */
export const SETTLE_MS = 20;
const PING_MS = 15_000;

type FileDoc = NodeState['files'][number];
type PeerDoc = NodeState['peers'][number];

const fileKey = (f: FileDoc) => JSON.stringify([f.status, f.md5, f.error, f.peers]);
const peerKey = (p: PeerDoc) => String(p.connected);

/**
 * Server-sent events: `state` (the whole document) on connect, then `file` and `peer` events
 * for each file whose status, md5, error or per-peer view changed and each peer that went up
 * or down. Changes within `settleMs` of the first go out together; 0 sends them on the next
 * turn of the event loop (what `entangled bench` asks for: a 20 ms wait would be its figure).
 */
export function stateEvents(c: Context, view: NodeView, settleMs = SETTLE_MS): Response {
  return streamSSE(c, async (stream) => {
    let state = view.state();
    const files = new Map(state.files.map((f) => [f.name, fileKey(f)]));
    const peers = new Map(state.peers.map((p) => [p.name, peerKey(p)]));
    let id = 0;
    await stream.writeSSE({ event: 'state', data: JSON.stringify(state), id: String(id++) });

    let cancel: (() => void) | null = null;
    let sending = Promise.resolve();
    const flush = () => {
      cancel = null;
      state = view.state();
      sending = sending.then(async () => {
        for (const f of state.files) {
          const k = fileKey(f);
          if (files.get(f.name) === k) continue;
          files.set(f.name, k);
          await stream.writeSSE({ event: 'file', data: JSON.stringify(f), id: String(id++) });
        }
        for (const p of state.peers) {
          const k = peerKey(p);
          if (peers.get(p.name) === k) continue;
          peers.set(p.name, k);
          await stream.writeSSE({ event: 'peer', data: JSON.stringify(p), id: String(id++) });
        }
      });
    };
    const schedule = (): (() => void) => {
      if (settleMs === 0) {
        const immediate = setImmediate(flush);
        return () => clearImmediate(immediate);
      }
      const timer = setTimeout(flush, settleMs);
      return () => clearTimeout(timer);
    };
    const unschedule = () => cancel?.();
    const unsubscribe = view.subscribe(() => {
      cancel ??= schedule();
    });
    const ping = setInterval(() => void stream.write(': ping\n\n'), PING_MS);
    await new Promise<void>((resolve) => stream.onAbort(resolve));
    unsubscribe();
    clearInterval(ping);
    unschedule();
  });
}
