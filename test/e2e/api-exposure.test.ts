import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isLoopback, OPEN_API_WARNING } from '../../src/cli/start.js';
import { defineCluster, patchConfig, startNode, stopAll, type RunningNode } from '../helpers/cluster.js';

// An API bound beyond loopback without api.token gets one warn line at start (as m2m links
// without CURVE do), and again after a reload that leaves it so.

describe('the API bound beyond loopback', () => {
  const running: RunningNode[] = [];
  const roots: string[] = [];
  after(async () => {
    await stopAll(running);
    for (const r of roots) await stopAll([], r);
  });

  const cases: { what: string; host: string; token?: string; warned: boolean }[] = [
    { what: 'on every address, no token: warned', host: '0.0.0.0', warned: true },
    { what: 'on every address with a token: not warned', host: '0.0.0.0', token: 't0ken', warned: false },
    { what: 'on loopback, no token: not warned', host: '127.0.0.1', warned: false },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const { root, nodes } = await defineCluster();
      roots.push(root);
      const def = nodes[0]!;
      patchConfig(def, (cfg) => (cfg.api = { ...(cfg.api as object), host: c.host, ...(c.token ? { token: c.token } : {}) }));
      const node = await startNode(def, { token: c.token });
      running.push(node);
      await node.waitLog((l) => l.msg === 'node started', 'started');
      await node.waitLog((l) => l.msg === 'api listening', 'api listening');
      const warned = node.logs.filter((l) => l.msg === OPEN_API_WARNING);
      assert.equal(warned.length, c.warned ? 1 : 0, JSON.stringify(warned));
      if (c.warned) assert.equal(warned[0]!.level, 40);
    });
  }

  it('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '192.0.2.1', '10.0.0.1', 'example.org', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
  });
});
