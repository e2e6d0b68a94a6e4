/**
 * --compare: the 1 KiB single-change measurement (the same code as entangled's) through other
 * tools, each variant in its own temp folders (A → B), started by the bench and stopped by PID,
 * within the same time budget rules as a scenario. A tool that is not installed is reported missing.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep, within, type ScenarioContext } from './context.js';
import { measureChanges } from './measure.js';
import { CpuWindow } from './proc.js';
import { runScenario } from './runner.js';
import type { Outcome, Scenario } from './scenario.js';
import { round, summarize } from '../src/bench/stats.js';
import { VARIANTS, version, which, type ToolVariant } from './tools.js';
import type { CompareResult, Options, ScenarioResult } from './types.js';

const FILE = 'bench.dat';
const SIZE = 1024;
const WARMUP = 3;
const PER_SAMPLE_MS = 15_000;

function tail(file: string, chars = 300): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars).replace(/\s+/g, ' ').trim();
  } catch {
    return '';
  }
}

/** Starts the tool with its output in a log file; registers stopping it by its PID (TERM, then KILL). */
function startTool(ctx: ScenarioContext, v: ToolVariant, binPath: string, root: string, a: string, b: string): number {
  const { args, env, files } = v.command(root, a, b);
  for (const [file, text] of Object.entries(files)) writeFileSync(file, text);
  const log = path.join(root, 'tool-output.log');
  const fd = openSync(log, 'w');
  const proc = spawn(binPath, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  closeSync(fd);
  let exited = false;
  let stopping = false;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('exit', (code, signal) => {
    exited = true;
    if (!stopping) ctx.fail(new Error(`${v.tool} exited (${signal ?? `code ${code}`}) during the run; its output ends: ${tail(log)}`));
  });
  proc.once('error', (err) => ctx.fail(new Error(`${v.tool} could not start: ${err.message}`)));
  ctx.defer(async () => {
    stopping = true;
    if (exited || proc.pid === undefined) return;
    process.kill(proc.pid, 'SIGTERM');
    await within(`${v.tool} to stop`, gone, 3000).catch(() => {
      if (!exited) process.kill(proc.pid!, 'SIGKILL');
      return gone;
    });
  });
  ctx.diagnose(() => `${v.tool}'s output ends: ${tail(log)}`);
  return proc.pid ?? -1;
}

function toolScenario(v: ToolVariant, binPath: string): Scenario {
  return {
    id: `compare ${v.tool} (${v.variant})`,
    title: `1 KiB single change through ${v.tool}`,
    budgetMs: (o) => 60_000 + (o.compareSamples + WARMUP) * (Math.max(o.gapMs, v.minGapMs) + v.jitterMs + 3000),
    async run(ctx: ScenarioContext, out: Outcome) {
      const root = mkdtempSync(path.join(tmpdir(), `entangled-bench-${v.tool}-`));
      ctx.defer(() => rmSync(root, { recursive: true, force: true }));
      const [a, b] = [path.join(root, 'A'), path.join(root, 'B')];
      for (const d of [a, b]) {
        mkdirSync(d);
        writeFileSync(path.join(d, FILE), 'x'.repeat(SIZE));
      }
      const pid = startTool(ctx, v, binPath, root, a, b);
      await sleep(v.settleMs, ctx.signal);
      const samples: number[] = [];
      out.samplesMs = samples;
      const gapMs = Math.max(ctx.opts.gapMs, v.minGapMs);
      out.params = { size: SIZE, samples: ctx.opts.compareSamples, warmup: WARMUP, gapMs, jitterMs: v.jitterMs };
      if (v.note) ctx.notes.push(v.note);
      const counted: { cpu?: CpuWindow } = {};
      try {
        await measureChanges({
          originFile: path.join(a, FILE),
          peerDirs: [b],
          size: SIZE,
          samples: ctx.opts.compareSamples,
          warmup: WARMUP,
          gapMs,
          jitterMs: v.jitterMs,
          perSampleMs: PER_SAMPLE_MS,
          signal: ctx.signal,
          afterWarmup: async () => {
            counted.cpu = new CpuWindow([pid], true);
          },
          onSample: (ms) => {
            samples.push(round(ms));
            out.latency = summarize(samples);
          },
        });
      } finally {
        if (counted.cpu) out.figures.cpuPct = counted.cpu.processesPct();
      }
    },
    describe: () => '',
  };
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b > 0 ? round(a / b, 2) : null;
}

export async function compareTools(opts: Options, entangled: ScenarioResult | undefined): Promise<CompareResult[]> {
  const results: CompareResult[] = [];
  for (const tool of opts.compare) {
    const binPath = which(tool);
    const ver = binPath ? version(tool, binPath) : null;
    for (const v of VARIANTS[tool] ?? []) {
      const base = { tool, variant: v.variant, command: v.shown, version: ver, notes: [], cpuPct: null, otherCpuPct: null, ratioP50: null, ratioP95: null };
      const absent = [v.binary, ...v.needs].filter((b) => which(b) === null);
      if (!binPath || absent.length > 0) {
        const reason = `not installed: ${absent.join(', ')} (not on PATH; Debian package${absent.length > 1 ? 's' : ''} ${absent.join(', ')})`;
        results.push({ ...base, status: 'missing', reason });
        process.stderr.write(`[bench] compare: ${tool} (${v.variant}) ${reason}; reported as missing\n`);
        continue;
      }
      const r = await runScenario(toolScenario(v, binPath), opts);
      const c: CompareResult = { ...base, status: r.status === 'ok' ? 'ok' : 'failed', reason: r.reason, notes: r.notes, cpuPct: r.figures.cpuPct ?? null, otherCpuPct: r.figures.otherCpuPct ?? null };
      if (r.samplesMs) c.samplesMs = r.samplesMs;
      if (r.latency) c.latency = r.latency;
      c.ratioP50 = ratio(r.latency?.p50, entangled?.latency?.p50);
      c.ratioP95 = ratio(r.latency?.p95, entangled?.latency?.p95);
      results.push(c);
    }
  }
  return results;
}
