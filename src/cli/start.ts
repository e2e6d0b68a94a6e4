import { createApp } from '../api/app.js';
import { serveApi } from '../api/serve.js';
import { checkConfig } from '../config/preflight.js';
import type { Settings } from '../config/settings.js';
import { errorText, isEntangledError } from '../core/errors.js';
import { createLogger, type Logger } from '../log.js';
import { EntangledNode } from '../node/node.js';
import { traceAs } from '../trace.js';

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function checkLevel(level: string): boolean {
  return LEVELS.has(level);
}

/** The start-up warning of an API reachable beyond loopback with no token. */
export const OPEN_API_WARNING =
  'the API is bound beyond loopback without a token: anyone who reaches it can read the state and force, restore or overwrite files; set api.token (or bind api.host to 127.0.0.1)';

/** Whether `host` (api.host) is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * `entangled start`: checks the config (the same checks as `entangled check`), runs one node
 * until SIGINT/SIGTERM, then stops it within 2 s. SIGHUP reloads the config file.
 */
export async function runStart(configFile: string, level: string): Promise<void> {
  // Until the node is up, a reload has nothing to act on: the signal is noted and taken up after start.
  let hupBeforeStart = false;
  const early = () => {
    hupBeforeStart = true;
  };
  process.on('SIGHUP', early);
  traceAs('entangled');
  const settings = checkConfig(configFile);
  const log = createLogger(level, settings.node);
  // A bug in a side path must not take the node down silently: log it and keep serving.
  process.on('unhandledRejection', (err) => log.error({ err: String((err as Error)?.stack ?? err) }, 'unhandled rejection'));
  const node = new EntangledNode(settings, log);
  await node.start();
  const app = createApp(node, { token: () => node.settings.api.token, site: { bind: settings.api.host, hosts: () => node.settings.api.hosts }, log });
  const api = await serveApi(app, settings.api.host, settings.api.port).catch(async (err) => {
    await node.stop();
    throw err;
  });
  log.info({ url: api.url }, 'api listening');
  warnIfOpen(settings, log);

  process.off('SIGHUP', early);
  const onHup = () => void reload(node, configFile, log);
  process.on('SIGHUP', onHup);
  if (hupBeforeStart) onHup();

  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  process.off('SIGHUP', onHup);
  // SIGHUP during the stop must not end the process before it is done.
  process.on('SIGHUP', () => log.info('reload ignored: the node is stopping'));
  // Hard deadline: the contract promises an exit within 2 s.
  setTimeout(() => process.exit(0), 1800).unref();
  await api.close();
  await node.stop();
}

function warnIfOpen(settings: Settings, log: Logger): void {
  if (settings.api.token === null && !isLoopback(settings.api.host)) log.warn({ host: settings.api.host, port: settings.api.port }, OPEN_API_WARNING);
}

/** SIGHUP: re-reads and checks the config file and hands it to the node; a refusal is one error line, and nothing changes. */
async function reload(node: EntangledNode, configFile: string, log: Logger): Promise<void> {
  log.info({ config: configFile }, 'reloading the configuration (SIGHUP)');
  let next: Settings;
  try {
    next = checkConfig(configFile);
  } catch (err) {
    log.error({ config: configFile, err: errorText(err) }, `reload refused: ${reason(err)}; the node goes on with the configuration it had`);
    return;
  }
  try {
    const summary = await node.reload(next);
    log.info({ config: configFile, ...summary }, 'configuration reloaded');
    warnIfOpen(next, log);
  } catch (err) {
    log.error({ config: configFile, err: errorText(err) }, `reload refused: ${reason(err)}; the node goes on with the configuration it had`);
  }
}

const reason = (err: unknown) => (isEntangledError(err) ? err.message : errorText(err));
