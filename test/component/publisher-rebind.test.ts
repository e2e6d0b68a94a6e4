import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Subscriber } from 'zeromq';
import { FRAME_KINDS } from '../../src/core/frame.js';
import { unpack } from 'msgpackr';
import { FramePublisher } from '../../src/net/publisher.js';
import { freePorts, waitFor } from '../helpers/cluster.js';

it('a PUB rebind (a reload that drops a key) binds again every time, and subscribers come back', async () => {
  // libzmq closes the old listening socket on its I/O thread after unbind resolves: a bind at
  // once met EADDRINUSE about one time in six (a reload refused in the key-rotation test).
  const [port] = await freePorts(1);
  const endpoint = `tcp://127.0.0.1:${port}`;
  const pub = new FramePublisher();
  const sub = new Subscriber({ linger: 0, reconnectInterval: 20 });
  try {
    await pub.bind(endpoint);
    for (let i = 0; i < 100; i++) await pub.rebind(endpoint);
    sub.connect(endpoint);
    sub.subscribe();
    const got = (async () => {
      const [msg] = await sub.receive();
      return unpack(msg!) as { t: string; from: string };
    })();
    // PUB drops frames for a subscriber not connected yet: publish until one arrives.
    let arrived = false;
    void got.then(() => (arrived = true));
    await waitFor('a frame through the rebound socket', () => {
      if (!arrived) pub.publish({ v: 1, t: FRAME_KINDS.heartbeat, from: 'alpha', epoch: 'e1', sum: 's' });
      return arrived;
    }, 5000, 20);
    const frame = await got;
    assert.deepEqual([frame.t, frame.from], ['hb', 'alpha']);
  } finally {
    sub.close();
    pub.close();
  }
});
