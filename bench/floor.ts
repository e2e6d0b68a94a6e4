/**
 * `npx tsx bench/floor.ts [--samples N] [--size BYTES] [--gap MS] [--burst N]`: the bare pipeline
 * alone (bench/floor-node.ts, two processes started by bench/floor-pipeline.ts), measured exactly
 * like the bench's single-change scenario (bench/measure.ts). `npm run bench` runs the same
 * pipeline itself, in rounds alternated with entangled's (the latency scenarios' floor row);
 * this command is for a look at it alone. Also times an fsynced write + rename alone, back to
 * back, in this process. With `--burst N`, N files are changed at once instead, as in the
 * burst1000 scenario; the peer then writes through the thread pool (fsyncs overlapping, the
 * folder's fsync shared) as entangled does in a burst; the measurement is burst1000's
 * (measureBurst), which runs such bursts itself alternated with entangled's.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FloorPipeline } from './floor-pipeline.js';
import { burstFigures } from './floor-rounds.js';
import { measureBurst, measureChanges } from './measure.js';
import { summarize } from '../src/bench/stats.js';
import { traceAs } from '../src/trace.js';

traceAs('bench');

const NAME = 'floor.conf';

function durableWrite(dir: string, data: Uint8Array, seq: number): void {
  const tmp = path.join(dir, `.${NAME}.${seq}.tmp`);
  const fd = openSync(tmp, 'wx', 0o644);
  writeSync(fd, data);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path.join(dir, NAME));
  const d = openSync(dir, 'r');
  fsyncSync(d);
  closeSync(d);
}

function positive(name: string, raw: string | undefined, fallback: number, min: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { samples: { type: 'string' }, size: { type: 'string' }, gap: { type: 'string' }, burst: { type: 'string' } } });
  const samples = positive('samples', values.samples, 200, 1);
  const size = positive('size', values.size, 1024, 64);
  const gapMs = positive('gap', values.gap, 50, 0);
  const burst = positive('burst', values.burst, 0, 0);
  const names = Array.from({ length: burst }, (_, i) => `f${String(i).padStart(5, '0')}.conf`);
  const files = Object.fromEntries([NAME, ...names].map((n) => [n, `initial ${n}\n`]));
  // A reader that went away (`| head -1`) must not cut the clean-up short.
  process.stdout.on('error', () => undefined);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted (SIGINT)')));
  const floor = await FloorPipeline.start({ files, timeoutMs: 30_000, signal: controller.signal, onExit: (reason) => controller.abort(new Error(reason)) });
  try {
    if (burst > 0) {
      const m = await measureBurst({
        originFile: (n) => floor.originFile(n),
        peers: [{ name: 'the peer', dir: floor.peerDir }],
        files: names.map((n) => ({ name: n, data: Buffer.from(`${n} burst\n`.padEnd(size, 'x')) })),
        timeoutMs: 30_000 + burst * 30,
        signal: controller.signal,
      });
      const f = burstFigures(burst, m.t0, m.written, m.arrivals, null, 0);
      console.log(`bare pipeline, ${burst} files of ${size} bytes at once: all at the peer ${f.ms.toFixed(0)} ms after the first write (${f.filesPerS} files/s; writing them took ${f.writeMs.toFixed(0)} ms)`);
      return;
    }
    const taken: number[] = [];
    await measureChanges({
      originFile: floor.originFile(NAME),
      peerDirs: [floor.peerDir],
      size,
      samples,
      warmup: 3,
      gapMs,
      perSampleMs: 5000,
      signal: controller.signal,
      onSample: (ms) => taken.push(ms),
    });
    const s = summarize(taken)!;
    console.log(`bare pipeline, ${samples} changes of ${size} bytes, ${gapMs} ms apart: p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)}, p99 ${s.p99.toFixed(2)}, max ${s.max.toFixed(2)}`);

    const alone: number[] = [];
    const data = Buffer.alloc(size, 1);
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      durableWrite(floor.peerDir, data, 1_000_000 + i);
      alone.push(performance.now() - t);
    }
    const w = summarize(alone)!;
    console.log(`fsynced write + rename + folder fsync alone, back to back: p50 ${w.p50.toFixed(2)} ms, p95 ${w.p95.toFixed(2)}`);
  } finally {
    await floor.stop();
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`floor: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
