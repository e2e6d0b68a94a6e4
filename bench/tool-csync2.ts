/**
 * csync2 as its users run it for low latency: it has no watcher of its own, so an inotify
 * trigger (`inotifywait -m` on the folder, piped into a loop) runs `csync2 -x` after each change.
 * Two instances on one host the way csync2's own tests run them (tests/include.sh): each node
 * is named by its own loopback alias (127.2.1.1 for A, 127.2.1.2 for B; `-N` binds both its
 * daemon and its outgoing connections there, and the peer checks that the address matches the
 * name), one config with a host list, a prefix mapping each node to its folder and a pre-shared
 * key from `csync2 -k`, and a sqlite database per instance (`-D`). Each node's daemon is
 * `csync2 -ii -N <alias>` on a free port (`-p`). Two variants: `nossl * *` as in those tests,
 * and SSL (csync2's default) with the self-signed certificate its README has a node make.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { freePorts, md5File } from '../test/helpers/cluster.js';
import { until } from './context.js';
import { runOnce, spawnTool, tail } from './tool-process.js';
import type { ToolRun, ToolVariant } from './tools.js';

const HOST_A = '127.2.1.1';
const HOST_B = '127.2.1.2';
const READY_MS = 20_000;

/** The trigger: one `csync2 -x` per event on the folder, in order (users' inotify scripts). */
const TRIGGER = `inotifywait -m -e close_write,create,delete,move --format '%e %f' "$1" | while read -r event file; do
  "$2" -x -N "$3" -p "$4" -D "$5" || echo "csync2 -x failed (exit $?) after $event $file" >&2
done`;

function config(key: string, a: string, b: string, ssl: boolean): string {
  return `${ssl ? '' : 'nossl * *;\n\n'}group bench
{
	host ${HOST_A} ${HOST_B};
	key ${key};
	include %bench%;
}

prefix bench
{
	on ${HOST_A}: ${a};
	on ${HOST_B}: ${b};
}
`;
}

/** Resolves when something listens on host:port (the probe's connection is closed at once). */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Null when both aliases can be bound here (Linux routes all of 127/8 to lo), else why not. */
async function preflight(): Promise<string | null> {
  for (const host of [HOST_A, HOST_B]) {
    const err = await new Promise<Error | null>((resolve) => {
      const s = createServer();
      s.once('error', resolve);
      s.listen(0, host, () => s.close(() => resolve(null)));
    });
    if (err) return `cannot run here: the loopback alias ${host} cannot be bound (${err.message}); csync2 names each node by its address`;
  }
  return null;
}

async function start({ ctx, root, a, b, bin }: ToolRun, ssl: boolean): Promise<number[]> {
  const csync2 = bin('csync2');
  const [port] = await freePorts(1);
  const etc = path.join(root, 'csync2-etc');
  mkdirSync(etc);
  const key = path.join(etc, 'csync2.key_bench');
  await runOnce(csync2, ['-k', key]);
  writeFileSync(path.join(etc, 'csync2.cfg'), config(key, a, b, ssl));
  if (ssl) {
    // The self-signed certificate its README has each node make (csync2_ssl_{key,cert}.pem in
    // CSYNC2_SYSTEM_DIR), shared by the two instances as they share that folder.
    const pem = (what: string) => path.join(etc, `csync2_ssl_${what}.pem`);
    await runOnce(bin('openssl'), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pem('key'), '-out', pem('cert'), '-days', '30', '-subj', '/CN=csync2-bench']);
  }
  const env = { CSYNC2_SYSTEM_DIR: etc };
  const db = (host: string) => path.join(root, `csync2-db-${host}`);
  const node = (host: string) => ['-N', host, '-p', String(port), '-D', db(host)];
  const pids: number[] = [];
  for (const host of [HOST_A, HOST_B]) {
    mkdirSync(db(host));
    pids.push(spawnTool(ctx, `csync2-daemon-${host}`, csync2, ['-ii', ...node(host)], { dir: root, env }).pid);
  }
  for (const host of [HOST_A, HOST_B]) {
    await until(`csync2's daemon listening on ${host}:${port}`, () => listening(host, port!), { timeoutMs: READY_MS, everyMs: 50, signal: ctx.signal });
  }
  // The first sync from each side, as an administrator brings a new cluster in step (it fills
  // both databases; the file is the same on both).
  for (const host of [HOST_A, HOST_B]) await runOnce(csync2, ['-x', ...node(host)], { env });
  if (md5File(path.join(b, 'bench.dat')) !== md5File(path.join(a, 'bench.dat'))) throw new Error("after the first csync2 -x, B's copy differs from A's");
  const trigger = spawnTool(ctx, 'csync2-trigger', bin('bash'), ['-c', TRIGGER, 'csync2-trigger', a, csync2, ...[HOST_A, String(port), db(HOST_A)]], { dir: root, env });
  pids.push(trigger.pid);
  await until('inotifywait to establish its watch', () => tail(trigger.log).includes('Watches established'), { timeoutMs: READY_MS, everyMs: 20, signal: ctx.signal });
  // csync2 sees a change by mtime in whole seconds and size: the first change must not share
  // the second of the file's last write (see the note on spacing).
  const mtimeS = Math.floor(statSync(path.join(a, 'bench.dat')).mtimeMs / 1000);
  await until('the clock to pass the second of the file\'s last write', () => Date.now() / 1000 >= mtimeS + 1.05, { timeoutMs: 3000, everyMs: 20, signal: ctx.signal });
  return pids;
}

const SPACING =
  "changes spaced >= 1.1 s: csync2 sees a change by its check text (mtime in whole seconds, size, mode, owner), so a same-size change made in the same second as the one before is not seen by csync2 -x and never delivered. CPU: the trigger loop with its csync2 -x runs and both daemons; the process B's daemon forks per connection is not counted (the daemon ignores SIGCHLD, so that child's time is never added to it)";

function variant(ssl: boolean): ToolVariant {
  return {
    tool: 'csync2',
    variant: `inotifywait trigger, csync2 -x, ${ssl ? 'SSL' : 'nossl'}`,
    binary: 'csync2',
    needs: ['inotifywait', 'bash', ...(ssl ? ['openssl'] : [])],
    shown: `csync2 -ii -N ${HOST_A} and -N ${HOST_B} (one config, PSK, ${ssl ? 'SSL with a self-signed certificate' : 'nossl'}, sqlite db each), inotifywait -m -e close_write,create,delete,move A | while read; do csync2 -x -N ${HOST_A}; done`,
    minGapMs: 1100,
    jitterMs: 0,
    note: ssl ? `${SPACING}. SSL: csync2's default (a TLS handshake per csync2 -x run)` : `${SPACING}. nossl: as csync2's own tests run it`,
    preflight,
    start: (run) => start(run, ssl),
  };
}

/** Without SSL as csync2's tests run it, and with it as its README sets a node up. */
export const CSYNC2_VARIANTS: ToolVariant[] = [variant(false), variant(true)];
