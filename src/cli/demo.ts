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
  'app.conf': '# a sample configuration file kept identical on both nodes\nlisten 8080\nworkers 2\n',
  'site.conf': 'server_name example.org;\nroot /srv/www;\n',
};

const NODES = [
  { name: 'alpha', api: 9876, pub: 9877, rep: 9878 },
  { name: 'beta', api: 9886, pub: 9887, rep: 9888 },
] as const;

/** `entangled demo`: two nodes on loopback in a temp folder, already aligned; Ctrl-C stops both. */
export async function runDemo(level: string): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'entangled-demo-'));
  const running: { node: EntangledNode; api: ApiServer }[] = [];
  try {
    for (const n of NODES) {
      const dir = path.join(root, n.name);
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(SAMPLES)) writeFileSync(path.join(dir, file), text);
      const other = NODES.find((o) => o !== n)!;
      const config = {
        node: n.name,
        api: { host: '127.0.0.1', port: n.api },
        m2m: { pub: `tcp://127.0.0.1:${n.pub}`, rep: `tcp://127.0.0.1:${n.rep}` },
        peers: [{ name: other.name, pub: `tcp://127.0.0.1:${other.pub}`, rep: `tcp://127.0.0.1:${other.rep}` }],
        files: Object.keys(SAMPLES),
        stateDir: 'state',
      };
      writeFileSync(path.join(dir, 'entangled.yaml'), stringify(config));
    }
    for (const n of NODES) {
      const settings = loadSettings(path.join(root, n.name, 'entangled.yaml'));
      const node = new EntangledNode(settings, createLogger(level, n.name));
      await node.start();
      const api = await serveApi(createApp(node, { token: settings.api.token }), settings.api.host, settings.api.port);
      running.push({ node, api });
    }
  } catch (err) {
    await Promise.all(running.map(async (r) => (await r.api.close(), await r.node.stop())));
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const [a, b] = NODES.map((n) => path.join(root, n.name));
  process.stderr.write(
    [
      'entangled demo: two nodes on loopback, files already aligned',
      `  folder   ${root}`,
      `  alpha    ${a}   status page http://127.0.0.1:${NODES[0].api}/`,
      `  beta     ${b}   status page http://127.0.0.1:${NODES[1].api}/`,
      `  API docs http://127.0.0.1:${NODES[0].api}/api/1/docs`,
      '',
      'Try, in another terminal:',
      `  echo "workers 8" >> ${a}/app.conf && cat ${b}/app.conf`,
      `  npx entangled status --api http://127.0.0.1:${NODES[1].api}`,
      `  npx entangled force --push --file app.conf          # beta takes alpha's app.conf`,
      '',
      'Logs follow (pino JSON). Ctrl-C stops both nodes and removes the folder.',
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
