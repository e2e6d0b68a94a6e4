import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventHub, MAX_EVENT_CLIENTS, MAX_QUEUED_BYTES } from '../../src/api/events.js';
import type { NodeState } from '../../src/node/view.js';
import { waitFor } from '../helpers/cluster.js';

/**
 * The events fan-out of GET /api/1/events, driven through its own port (a view with state() and
 * subscribe()): one change is looked up and encoded once for every client, and a client that
 * does not read is dropped while the others go on.
 */

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const OTHER = '0cc175b9c0f1b6a831c399e269772661';

class FakeView {
  #state: NodeState;
  #listeners = new Set<() => void>();
  /** How many times the state was built. */
  built = 0;

  constructor(md5: string) {
    this.#state = doc(md5);
  }

  state(): NodeState {
    this.built++;
    return this.#state;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  set(md5: string): void {
    this.#state = doc(md5);
    for (const l of this.#listeners) l();
  }
}

function doc(md5: string): NodeState {
  return {
    node: 'alpha',
    reconcile: 'manual',
    peers: [{ name: 'beta', connected: true, lastSeen: null }],
    files: [{ name: 'app.conf', path: '/etc/app/app.conf', status: 'aligned', md5, size: 1, mtime: null, error: null, peers: { beta: { md5, status: 'aligned' } } }],
  };
}

/** Reads a stream's chunks as they come, keeping the very objects it was handed. */
function follow(res: Response) {
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  let ended: unknown = null;
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        chunks.push(value);
      }
    } catch (err) {
      ended = err;
    }
  })();
  return { chunks, reader, ended: () => ended, text: () => chunks.map((c) => Buffer.from(c).toString()).join('') };
}

describe('events fan-out', () => {
  it('one change is built and encoded once: every client is handed the same bytes', async () => {
    const view = new FakeView(MD5);
    const hub = new EventHub(view);
    const clients = Array.from({ length: 10 }, () => follow(hub.open(0)!));
    await waitFor('every client has its state', () => clients.every((c) => c.chunks.length === 1));
    assert.match(clients[0]!.text(), /^event: state\n/);
    assert.equal(view.listeners, 1, 'one subscription for all clients');

    const before = view.built;
    view.set(OTHER);
    await waitFor('every client has the file event', () => clients.every((c) => c.chunks.length === 2));
    assert.equal(view.built - before, 1, 'the state is built once for the change, not once per client');
    const first = clients[0]!.chunks[1]!;
    assert.match(Buffer.from(first).toString(), /^event: file\ndata: \{"name":"app.conf".*"md5":"0cc175b9c0f1b6a831c399e269772661"/);
    for (const c of clients) assert.equal(c.chunks[1], first, 'the very same encoded event, not a copy per client');

    for (const c of clients) await c.reader.cancel();
    assert.equal(hub.clients, 0);
    assert.equal(view.listeners, 0, 'no subscription once the last client left');
  });

  it('a newcomer is told the state the next events start from (a change it saw is never undone unseen)', async () => {
    const view = new FakeView(MD5);
    const hub = new EventHub(view);
    const old = follow(hub.open(1000)!);
    await waitFor('state', () => old.chunks.length === 1);
    view.set(OTHER); // pending for 1 s in this channel
    const late = follow(hub.open(1000)!);
    await waitFor('the newcomer\'s state and the old client\'s event', () => late.chunks.length === 1 && old.chunks.length === 2);
    assert.match(late.text(), /0cc175b9c0f1b6a831c399e269772661/);
    view.set(MD5); // back again: both must hear it
    await waitFor('both hear the change back', () => late.chunks.length === 2 && old.chunks.length === 3, 3000);
    assert.match(Buffer.from(late.chunks[1]!).toString(), /"md5":"d41d8cd98f00b204e9800998ecf8427e"/);
    await old.reader.cancel();
    await late.reader.cancel();
  });

  it(`at most ${MAX_EVENT_CLIENTS} clients; one more is refused until one leaves`, async () => {
    const hub = new EventHub(new FakeView(MD5));
    const all = Array.from({ length: MAX_EVENT_CLIENTS }, () => hub.open(0));
    assert.ok(all.every((r) => r !== null));
    assert.equal(hub.open(0), null);
    await all[0]!.body!.cancel();
    const again = hub.open(0);
    assert.ok(again, 'a place is free again');
    for (const r of [...all.slice(1), again]) await r!.body!.cancel();
    assert.equal(hub.clients, 0);
  });

  it('a client that does not read is dropped once its unread bytes pass the limit; a reading one goes on', async () => {
    const view = new FakeView(MD5);
    const hub = new EventHub(view);
    const reading = follow(hub.open(0)!);
    const stuck = hub.open(0)!; // never read
    await waitFor('state', () => reading.chunks.length === 1);
    // Each change is one event of about 1 KiB.
    const big = (i: number) => i.toString(16).padStart(32, '0');
    let i = 0;
    const perEvent = 600;
    while (hub.clients === 2 && i < (4 * MAX_QUEUED_BYTES) / perEvent) {
      view.set(big(++i));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(hub.clients, 1, `the stuck client was dropped (after ${i} changes)`);
    await assert.rejects(stuck.body!.getReader().read(), /does not read/);
    view.set(MD5);
    await waitFor('the reading client still gets events', () => reading.text().includes(`"md5":"${MD5}","size":1,"mtime":null,"error":null,"peers":{"beta":{"md5":"${MD5}"`));
    await reading.reader.cancel();
  });
});
