/**
 * One process of the bare pipeline (bench/floor-pipeline.ts starts two): the stack entangled is
 * built on, configured as entangled configures it, without entangled's own logic.
 *
 * `--role origin`: chokidar 5 watches each file of `--dir` itself (one inotify watch per file,
 * every other path ignored, the options of src/io/watcher.ts); on chokidar's `raw` event the
 * file is read whole and md5-hashed on the next turn of the loop (setImmediate, as entangled's
 * file actor does), packed with a msgpackr Packr of src/net/codec.ts's options and sent on a
 * zeromq PUB socket with src/net/publisher.ts's options, one send at a time.
 *
 * `--role peer`: a SUB socket with src/net/subscriber.ts's options, one `for await` loop; each
 * message is unpacked and written durably: temp file (exclusive create, mode 0644), write,
 * fsync, close, rename, fsync of the folder, on the main thread (entangled's small-file write);
 * while more messages wait, through the thread pool, the folder's fsync shared (entangled's
 * burst). chokidar watches the peer's files as well, like a daemon's watcher, and its events
 * are ignored: what chokidar itself does after the rename (a stat, a new watch on the new
 * inode) is the stack's cost; what entangled then decides is its own.
 *
 * Not here, being entangled's logic: frame checks, the decision, the precondition and backups,
 * the journal, the acknowledgement, logs, metrics, the verify look, heartbeat frames, the
 * REQ/REP sockets. Talks to its parent on stdin/stdout only (no IPC channel, like the daemons):
 * stdout `ready` once watching (origin: bound; peer: connected), peer `heard` at the first ping;
 * the origin pings every 20 ms until stdin says `quiet` (PUB drops what it sends before the
 * subscription is in); stdin `drain K` to the peer is answered `drained K` once no write is in
 * flight (a burst's last folder fsync done). Exits when stdin closes, so it never outlives the bench.
 */
import { FSWatcher } from 'chokidar';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Packr } from 'msgpackr';
import { Publisher, Subscriber } from 'zeromq';
import { WATCH_OPTIONS } from '../src/io/watcher.js';
import { PACK_OPTIONS } from '../src/net/codec.js';
import { PUBLISHER_OPTIONS } from '../src/net/publisher.js';
import { SUBSCRIBER_OPTIONS } from '../src/net/subscriber.js';
import { mark, traceAs } from '../src/trace.js';

const packr = new Packr(PACK_OPTIONS);
const PING_MS = 20;

interface Message {
  ping?: true;
  name?: string;
  md5?: string;
  data?: Uint8Array;
}

/** Watches each regular, non-hidden file of `dir` itself; resolves once chokidar is ready. */
async function watchFiles(dir: string, onEvent: (file: string) => void): Promise<FSWatcher> {
  const files = new Set(
    readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => path.join(dir, e.name)),
  );
  const w = new FSWatcher({ ...WATCH_OPTIONS, ignored: (p: string, st?: { isFile(): boolean }) => !files.has(p) || (st !== undefined && !st.isFile()) });
  w.on('raw', (_event, _name, details) => {
    const file = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (file === undefined || !files.has(file)) return;
    mark('watched');
    onEvent(file);
  });
  w.on('error', (err) => process.stderr.write(`floor: watcher error: ${String(err)}\n`));
  const ready = new Promise<void>((resolve) => w.once('ready', () => resolve()));
  w.add([...files]);
  await ready;
  return w;
}

function say(word: string): void {
  process.stdout.write(`${word}\n`);
}

/** Lines from the parent on stdin; the process exits when stdin closes (the parent is gone). */
function onParent(onLine: (line: string) => void): void {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  process.stdin.on('close', () => process.exit(0));
}

async function origin(dir: string, endpoint: string): Promise<void> {
  const pub = new Publisher(PUBLISHER_OPTIONS);
  await pub.bind(endpoint);
  let sending = Promise.resolve();
  const send = (msg: Buffer) => {
    mark('send');
    sending = sending.then(() => pub.send(msg)).catch(() => undefined);
  };
  const ping = setInterval(() => send(packr.pack({ ping: true })), PING_MS);
  onParent((line) => line === 'quiet' && clearInterval(ping));
  const queued = new Set<string>();
  await watchFiles(dir, (file) => {
    if (queued.has(file)) return;
    queued.add(file);
    setImmediate(() => {
      queued.delete(file);
      const data = readFileSync(file);
      const md5 = createHash('md5').update(data).digest('hex');
      mark('read');
      send(packr.pack({ name: path.basename(file), md5, data }));
    });
  });
  say('ready');
}

function durableWrite(dir: string, name: string, data: Uint8Array, seq: number): void {
  const tmp = path.join(dir, `.${name}.${seq}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    mark('durable');
  } finally {
    closeSync(fd);
  }
  mark('checked');
  renameSync(tmp, path.join(dir, name));
  mark('renamed');
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}

/** The same through the thread pool, so that the fsyncs of a burst overlap; the folder's fsync is shared. */
async function durableWriteAsync(dir: string, name: string, data: Uint8Array, seq: number, dirSync: () => Promise<void>): Promise<void> {
  const tmp = path.join(dir, `.${name}.${seq}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path.join(dir, name));
  await dirSync();
}

/** fsync of a folder shared by every caller that arrives while one is running (group commit). */
function sharedDirSync(dir: string): () => Promise<void> {
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const once = async () => {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };
  return () => {
    if (!running) {
      running = once().finally(() => (running = null));
      return running;
    }
    next ??= running.then(() => {
      next = null;
      running = once().finally(() => (running = null));
      return running;
    });
    return next;
  };
}

async function peer(dir: string, endpoint: string): Promise<void> {
  const sub = new Subscriber(SUBSCRIBER_OPTIONS);
  let inFlight = 0;
  const drains: string[] = [];
  const answerDrains = () => {
    if (inFlight === 0) for (const k of drains.splice(0)) say(`drained ${k}`);
  };
  onParent((line) => {
    const m = /^drain (\d+)$/.exec(line);
    if (!m) return;
    drains.push(m[1]!);
    answerDrains();
  });
  await watchFiles(dir, () => undefined);
  sub.connect(endpoint);
  sub.subscribe();
  say('ready');
  // One change alone is written on the main thread; while more are waiting, through the pool,
  // one after another per file (an older version must not be renamed in after a newer one).
  let heard = false;
  let seq = 0;
  const dirSync = sharedDirSync(dir);
  const chains = new Map<string, Promise<void>>();
  for await (const [msg] of sub) {
    mark('received');
    const m = packr.unpack(msg!) as Message;
    if (m.ping) {
      if (!heard) say('heard');
      heard = true;
      continue;
    }
    const { name, data } = m as Required<Message>;
    mark('decoded');
    if (inFlight === 0 && sub.readable === false) {
      durableWrite(dir, name, data, seq++);
      continue;
    }
    inFlight++;
    const n = seq++;
    const next = (chains.get(name) ?? Promise.resolve()).then(() => durableWriteAsync(dir, name, data, n, dirSync)).finally(() => {
      inFlight--;
      answerDrains();
    });
    chains.set(name, next);
    void next.finally(() => chains.get(name) === next && chains.delete(name));
  }
}

const { values } = parseArgs({ options: { role: { type: 'string' }, dir: { type: 'string' }, endpoint: { type: 'string' } } });
const run = values.role === 'origin' ? origin : values.role === 'peer' ? peer : null;
traceAs('floor');
if (run === null || values.dir === undefined || values.endpoint === undefined) {
  process.stderr.write('floor-node: --role origin|peer --dir DIR --endpoint tcp://HOST:PORT\n');
  process.exit(2);
}
run(values.dir, values.endpoint).catch((err: unknown) => {
  process.stderr.write(`floor-node (${values.role}): ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
