import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { createApp } from '../api/app.js';
import { serveApi, type ApiServer } from '../api/serve.js';
import { loadSettings } from '../config/load.js';
import { createLogger } from '../log.js';
import { EntangledNode } from '../node/node.js';

const SAMPLES: Record<string, string> = {
  'app.conf': '# a sample configuration file kept identical on every node\nlisten 8080\nworkers 2\n',
  'site.conf': 'server_name example.org;\nroot /srv/www;\n',
};

/** The demo's node names, in order; `--nodes N` takes the first N. */
export const DEMO_NAMES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'] as const;
export const DEMO_MIN_NODES = 2;
export const DEMO_MAX_NODES = DEMO_NAMES.length;

/** Node i listens on 9876 + 10·i (API), then + 1 (m2m.pub) and + 2 (m2m.rep): alpha 9876-9878, beta 9886-9888, … */
const demoNode = (name: string, i: number) => ({ name, api: 9876 + 10 * i, pub: 9877 + 10 * i, rep: 9878 + 10 * i });

/**
 * `entangled demo [--nodes N]`: N nodes (2 to 10, default 2) in a full mesh on loopback in a temp
 * folder, already aligned; Ctrl-C stops them all.
 */
export async function runDemo(level: string, count = DEMO_MIN_NODES): Promise<void> {
  if (!Number.isInteger(count) || count < DEMO_MIN_NODES || count > DEMO_MAX_NODES) throw new RangeError(`demo: ${count} nodes (${DEMO_MIN_NODES} to ${DEMO_MAX_NODES})`);
  const NODES = DEMO_NAMES.slice(0, count).map(demoNode);
  const root = mkdtempSync(path.join(tmpdir(), 'entangled-demo-'));
  const running: { node: EntangledNode; api: ApiServer }[] = [];
  try {
    for (const n of NODES) {
      const dir = path.join(root, n.name);
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(SAMPLES)) writeFileSync(path.join(dir, file), text);
      const config = {
        node: n.name,
        api: { host: '127.0.0.1', port: n.api },
        m2m: { pub: `tcp://127.0.0.1:${n.pub}`, rep: `tcp://127.0.0.1:${n.rep}` },
        peers: NODES.filter((o) => o !== n).map((o) => ({ name: o.name, pub: `tcp://127.0.0.1:${o.pub}`, rep: `tcp://127.0.0.1:${o.rep}` })),
        files: Object.keys(SAMPLES),
        stateDir: 'state',
      };
      writeFileSync(path.join(dir, 'entangled.yaml'), stringify(config));
    }
    for (const n of NODES) {
      const settings = loadSettings(path.join(root, n.name, 'entangled.yaml'));
      const node = new EntangledNode(settings, createLogger(level, n.name));
      await node.start();
      const api = await serveApi(createApp(node, { token: settings.api.token, site: { bind: settings.api.host, hosts: () => settings.api.hosts } }), settings.api.host, settings.api.port);
      running.push({ node, api });
    }
  } catch (err) {
    await Promise.all(running.map(async (r) => (await r.api.close(), await r.node.stop())));
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const [first, second] = NODES as [(typeof NODES)[number], (typeof NODES)[number]];
  const last = NODES[NODES.length - 1]!;
  const dir = (n: { name: string }) => path.join(root, n.name);
  const pad = (s: string) => s.padEnd(9);
  const dirWidth = Math.max(...NODES.map((n) => dir(n).length));
  const two = NODES.length === 2;
  process.stderr.write(
    [
      two ? 'entangled demo: two nodes on loopback, files already aligned' : `entangled demo: ${NODES.length} nodes on loopback, each a peer of every other (a full mesh), files already aligned`,
      `  ${pad('folder')}${root}`,
      ...NODES.map((n) => `  ${pad(n.name)}${dir(n).padEnd(dirWidth)}   status page http://127.0.0.1:${n.api}/`),
      `  ${pad('API docs')}http://127.0.0.1:${first.api}/api/1/docs`,
      '',
      'Try, in another terminal:',
      `  echo "workers 8" >> ${dir(first)}/app.conf && cat ${dir(last)}/app.conf`,
      `  npx entangled status --api http://127.0.0.1:${last.api}`,
      two
        ? `  npx entangled force --push --file app.conf          # ${second.name} takes ${first.name}'s app.conf`
        : `  npx entangled force --push --peer ${second.name} --file app.conf   # ${second.name} takes ${first.name}'s app.conf`,
      '',
      `Logs follow (pino JSON). Ctrl-C stops ${two ? 'both nodes' : 'every node'} and removes the folder.`,
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  setTimeout(() => process.exit(0), 1800).unref();
  await Promise.all(running.map(async (r) => {
    await r.api.close();
    await r.node.stop();
  }));
  rmSync(root, { recursive: true, force: true });
}
