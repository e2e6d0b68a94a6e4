/**
 * `npx tsx bench/floor.ts [--samples N] [--size BYTES] [--gap MS] [--burst N]`: the floor of this stack on
 * this machine. A bare pipeline, not entangled, measured exactly like the bench's single-change
 * scenario (bench/measure.ts): an origin process watches its folder with `fs.watch`, reads and
 * md5-hashes the file, packs it with msgpackr and sends it on a zeromq PUB socket; a peer
 * process receives it on SUB and writes it durably (temp file, write, fsync, close, rename,
 * fsync of the folder). No checks, no decisions, no backups, no acknowledgement. Also times an
 * fsynced write + rename alone, back to back, in this process. With `--burst N`, N files are
 * changed at once instead, as in the burst1000 scenario; the peer then writes through the thread
 * pool (fsyncs overlapping, the folder's fsync shared) as entangled does in a burst.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, watch, writeFileSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pack, unpack } from 'msgpackr';
import { Publisher, Subscriber } from 'zeromq';
import { FolderWatch } from './arrival.js';
import { measureChanges } from './measure.js';
import { summarize } from '../src/bench/stats.js';

const NAME = 'floor.conf';

function durableWrite(dir: string, name: string, data: Uint8Array, seq: number): void {
  const tmp = path.join(dir, `.${name}.${seq}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  writeSync(fd, data);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path.join(dir, name));
  const d = openSync(dir, 'r');
  fsyncSync(d);
  closeSync(d);
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

async function origin(dir: string, endpoint: string): Promise<void> {
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
  await pub.bind(endpoint);
  const queued = new Set<string>();
  let sending = Promise.resolve();
  watch(dir, (_event, name) => {
    if (name === null || name.startsWith('.') || queued.has(name)) return;
    queued.add(name);
    setImmediate(() => {
      queued.delete(name);
      const data = readFileSync(path.join(dir, name));
      const msg = pack({ name, md5: createHash('md5').update(data).digest('hex'), data });
      sending = sending.then(() => pub.send(msg)).catch(() => undefined);
    });
  });
  process.send!('ready');
}

async function peer(dir: string, endpoint: string): Promise<void> {
  const sub = new Subscriber({ linger: 0 });
  sub.connect(endpoint);
  sub.subscribe();
  process.send!('ready');
  // One change alone is written on the main thread; while more are waiting, through the pool,
  // one after another per file (an older version must not be renamed in after a newer one).
  let seq = 0;
  let inFlight = 0;
  const dirSync = sharedDirSync(dir);
  const chains = new Map<string, Promise<void>>();
  for await (const [msg] of sub) {
    const { name, data } = unpack(msg!) as { name: string; data: Uint8Array };
    if (inFlight === 0 && sub.readable === false) {
      durableWrite(dir, name, data, seq++);
      continue;
    }
    inFlight++;
    const n = seq++;
    const next = (chains.get(name) ?? Promise.resolve()).then(() => durableWriteAsync(dir, name, data, n, dirSync)).finally(() => inFlight--);
    chains.set(name, next);
    void next.finally(() => chains.get(name) === next && chains.delete(name));
  }
}

function child(role: string, dir: string, endpoint: string) {
  const proc = fork(process.argv[1]!, ['--role', role, '--dir', dir, '--endpoint', endpoint], { execArgv: process.execArgv, stdio: 'inherit' });
  const ready = new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (code) => reject(new Error(`${role} exited (${code})`)));
  });
  return { proc, ready };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      dir: { type: 'string' },
      endpoint: { type: 'string' },
      samples: { type: 'string' },
      size: { type: 'string' },
      gap: { type: 'string' },
      burst: { type: 'string' },
    },
  });
  if (values.role === 'origin') return origin(values.dir!, values.endpoint!);
  if (values.role === 'peer') return peer(values.dir!, values.endpoint!);

  const samples = Number(values.samples ?? 200);
  const size = Number(values.size ?? 1024);
  const gapMs = Number(values.gap ?? 50);
  const burst = values.burst === undefined ? 0 : Number(values.burst);
  const root = mkdtempSync(path.join(tmpdir(), 'entangled-floor-'));
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  const endpoint = `tcp://127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}`;
  const procs: ReturnType<typeof child>[] = [];
  mkdirSync(a);
  mkdirSync(b);
  const names = Array.from({ length: burst }, (_, i) => `f${String(i).padStart(5, '0')}.conf`);
  for (const n of [NAME, ...names]) {
    writeFileSync(path.join(a, n), `initial ${n}\n`);
    writeFileSync(path.join(b, n), `initial ${n}\n`);
  }
  try {
    procs.push(child('peer', b, endpoint), child('origin', a, endpoint));
    await Promise.all(procs.map((p) => p.ready));
    await new Promise((r) => setTimeout(r, 500)); // the SUB's connection (PUB drops frames until it is up)
    if (burst > 0) {
      const watch = new FolderWatch(b, 100);
      watch.prime(names);
      const contents = names.map((n) => Buffer.from(`${n} burst\n`.padEnd(size, 'x')));
      const arrivals = Promise.all(names.map((n, i) => watch.expect(n, createHash('md5').update(contents[i]!).digest('hex'), size)));
      const t0 = performance.now();
      names.forEach((n, i) => writeFileSync(path.join(a, n), contents[i]!));
      const written = performance.now() - t0;
      const last = Math.max(...(await arrivals)) - t0;
      watch.close();
      console.log(`bare pipeline, ${burst} files of ${size} bytes at once: all at the peer ${last.toFixed(0)} ms after the first write (${Math.round(burst / (last / 1000))} files/s; writing them took ${written.toFixed(0)} ms)`);
      return;
    }
    const taken: number[] = [];
    await measureChanges({
      originFile: path.join(a, NAME),
      peerDirs: [b],
      size,
      samples,
      warmup: 3,
      gapMs,
      perSampleMs: 5000,
      signal: new AbortController().signal,
      onSample: (ms) => taken.push(ms),
    });
    const s = summarize(taken)!;
    console.log(`bare pipeline, ${samples} changes of ${size} bytes, ${gapMs} ms apart: p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)}, p99 ${s.p99.toFixed(2)}, max ${s.max.toFixed(2)}`);

    const alone: number[] = [];
    const data = Buffer.alloc(size, 1);
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      durableWrite(b, NAME, data, 1_000_000 + i);
      alone.push(performance.now() - t);
    }
    const w = summarize(alone)!;
    console.log(`fsynced write + rename + folder fsync alone, back to back: p50 ${w.p50.toFixed(2)} ms, p95 ${w.p95.toFixed(2)}`);
  } finally {
    for (const p of procs) p.proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
}

void main().catch((err) => {
  console.error(`floor: ${(err as Error).message}`);
  process.exit(1);
});
