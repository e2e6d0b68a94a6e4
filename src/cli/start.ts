import { createApp } from '../api/app.js';
import { serveApi } from '../api/serve.js';
import { loadSettings } from '../config/load.js';
import { createLogger } from '../log.js';
import { EntangledNode } from '../node/node.js';

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function checkLevel(level: string): boolean {
  return LEVELS.has(level);
}

/** `entangled start`: runs one node until SIGINT/SIGTERM, then stops it within 2 s. */
export async function runStart(configFile: string, level: string): Promise<void> {
  const settings = loadSettings(configFile);
  const log = createLogger(level, settings.node);
  // A bug in a side path must not take the node down silently: log it and keep serving.
  process.on('unhandledRejection', (err) => log.error({ err: String((err as Error)?.stack ?? err) }, 'unhandled rejection'));
  const node = new EntangledNode(settings, log);
  await node.start();
  const api = await serveApi(createApp(node, { token: settings.api.token }), settings.api.host, settings.api.port).catch(async (err) => {
    await node.stop();
    throw err;
  });
  log.info({ url: api.url }, 'api listening');

  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  // Hard deadline: the contract promises an exit within 2 s.
  setTimeout(() => process.exit(0), 1800).unref();
  await api.close();
  await node.stop();
}
