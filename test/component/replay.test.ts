import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { curveKeyPair } from 'zeromq';
import type { PeerSpec } from '../../src/config/settings.js';
import type { Reply } from '../../src/core/frame.js';
import { LinkSecurity } from '../../src/net/curve.js';
import { RequestReplier } from '../../src/net/replier.js';
import { createPeerSockets } from '../../src/node/peer-link.js';
import { freePorts } from '../helpers/cluster.js';

/** Replay protection on real CURVE sockets on loopback: beta serving, alpha's runs reaching it. */

const quiet = () => pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));

const spec = (name: string, rep: number, publicKey: string): PeerSpec => ({ name, pub: 'tcp://127.0.0.1:1', rep: `tcp://127.0.0.1:${rep}`, publicKeys: [publicKey] });

const digests: Reply = { v: 1, t: 'digests', from: 'beta', epoch: 'e', files: {}, pending: [] };

describe('a requester whose clock went back across a restart', () => {
  test('its first request is refused as from an earlier run and sent again counting above beta\'s highest: taken, and so are the next', async (t: TestContext) => {
    const [rep] = await freePorts(1);
    const alpha = curveKeyPair();
    const beta = curveKeyPair();
    const security = new LinkSecurity(beta, [spec('alpha', 2, alpha.publicKey)], quiet());
    await security.start();
    const replier = new RequestReplier(security.server);
    await replier.bind(`tcp://127.0.0.1:${rep}`);
    const refusals: string[] = [];
    replier.start(new Set(['alpha']), () => Promise.resolve(digests), (reason, kind, peer) => refusals.push(`${kind} ${peer}: ${reason}`));
    t.after(async () => {
      await replier.close();
      await security.close();
    });

    /** One run of alpha, started at wall time `startMs`: its REQ to beta. */
    const run = (epoch: string, startMs: number) => {
      const own = new LinkSecurity(alpha, [spec('beta', rep!, beta.publicKey)], quiet(), epoch, startMs);
      const sockets = createPeerSockets(spec('beta', rep!, beta.publicKey), quiet(), 2000, own);
      t.after(async () => {
        sockets.requester.close();
        await sockets.subscriber.close();
        await own.close();
      });
      return () => sockets.requester.request({ v: 1, t: 'digests', from: 'alpha', epoch });
    };

    const now = Date.now();
    const first = run('run-1', now);
    assert.equal((await first()).t, 'digests');
    assert.deepEqual(refusals, []);
    // The next run's clock reads an hour earlier: its counters start below the first run's.
    const second = run('run-2', now - 3_600_000);
    assert.equal((await second()).t, 'digests', 'the second run never got through');
    assert.equal(refusals.length, 1, refusals.join('\n'));
    assert.match(refusals[0]!, /^replayed alpha: a replayed request \(earlier run\)/);
    for (let i = 0; i < 3; i++) assert.equal((await second()).t, 'digests');
    assert.equal(refusals.length, 1, 'the second run was refused again');
  });
});
