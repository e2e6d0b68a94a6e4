/**
 * A full mesh of real `entangled start` processes on loopback, in a temp folder, for one
 * scenario. Built on the test helpers' config writer and process wrapper, but the daemons run at
 * the bench's log level (info by default, not the tests' debug), and a daemon that exits while
 * the scenario runs fails the scenario at once with its exit status and last words.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, defineCluster, RunningNode, type NodeDef, type StateDoc } from '../test/helpers/cluster.js';
import { until, type ScenarioContext } from './context.js';
import { CpuWindow } from './proc.js';

const NAMES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];

export function nodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => NAMES[i] ?? `node${i + 1}`);
}

export interface ClusterSpec {
  /** File name → initial content, the same on every node. */
  files: Record<string, string>;
  /** Default: the daemon's own default, 3000 ms. */
  peerTimeoutMs?: number;
}

export class BenchCluster {
  readonly running: RunningNode[] = [];
  #stopping = false;

  private constructor(
    readonly ctx: ScenarioContext,
    readonly root: string,
    readonly defs: NodeDef[],
  ) {}

  /** Writes the configs and files of `ctx.opts.nodes` nodes; nothing runs yet. Removed at clean-up. */
  static async define(ctx: ScenarioContext, spec: ClusterSpec): Promise<BenchCluster> {
    const { root, nodes } = await defineCluster({
      names: nodeNames(ctx.opts.nodes),
      files: spec.files,
      peerTimeoutMs: spec.peerTimeoutMs ?? 3000,
    });
    const cluster = new BenchCluster(ctx, root, nodes);
    ctx.diagnose(async () => {
      const health = await Promise.all(cluster.running.map((r) => responsiveness(r)));
      const words = cluster.running.map((r) => lastWords(r).replace(/^; last words/, `${r.def.name}'s last words`)).filter(Boolean);
      const dir = cluster.dumpLogs();
      return [...health.filter(Boolean), ...words, ...(dir ? [`full daemon logs in ${dir}`] : [])].join('; ');
    });
    ctx.defer(() => rmSync(root, { recursive: true, force: true }));
    ctx.defer(() => cluster.stop());
    return cluster;
  }

  /** Defines, starts and waits until every node sees every peer and every file is aligned. */
  static async start(ctx: ScenarioContext, spec: ClusterSpec, timeoutMs = 30_000): Promise<BenchCluster> {
    const cluster = await BenchCluster.define(ctx, spec);
    cluster.spawnAll();
    await cluster.waitReady(timeoutMs);
    await cluster.waitAligned(timeoutMs);
    return cluster;
  }

  get origin(): RunningNode {
    return this.running[0]!;
  }

  get peers(): RunningNode[] {
    return this.running.slice(1);
  }

  get pids(): number[] {
    return this.running.map((r) => r.proc.pid!);
  }

  /** Spawns every node at once without waiting. */
  spawnAll(): RunningNode[] {
    for (const def of this.defs) {
      const prof = this.ctx.opts.cpuProfDir;
      const nodeArgs = prof === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${def.name}.cpuprofile`];
      const proc = spawn(process.execPath, [...nodeArgs, CLI, 'start', '--config', def.configPath, '--log-level', this.ctx.opts.logLevel], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const node = new RunningNode(def, proc);
      void node.exited.then(({ code, signal }) => {
        if (!this.#stopping) this.ctx.fail(new Error(`daemon ${def.name} exited (${signal ?? `code ${code}`}) during the scenario${lastWords(node)}`));
      });
      this.running.push(node);
    }
    return this.running;
  }

  /** Every node's API answers. */
  async waitReady(timeoutMs: number): Promise<void> {
    await Promise.all(
      this.running.map((r) =>
        until(`${r.def.name}'s API to answer`, async () => (await fetch(`${r.api}/api/1/health`, { signal: AbortSignal.timeout(2000) })).ok, {
          timeoutMs,
          everyMs: 20,
          signal: this.ctx.signal,
        }),
      ),
    );
  }

  /** Every node reports every peer connected and every file aligned (GET /api/1/state). */
  async waitAligned(timeoutMs: number, everyMs = 50): Promise<void> {
    await Promise.all(
      this.running.map((r) =>
        until(`${r.def.name} to report every peer connected and every file aligned`, async () => isAligned(await state(r)), {
          timeoutMs,
          everyMs,
          signal: this.ctx.signal,
        }),
      ),
    );
  }

  /** Writes every node's log lines to a folder under the system temp dir (kept after the run); returns it. */
  dumpLogs(): string | null {
    if (this.running.length === 0) return null;
    const dir = mkdtempSync(path.join(tmpdir(), `entangled-bench-logs-${this.ctx.id}-`));
    for (const r of this.running) {
      writeFileSync(path.join(dir, `${r.def.name}.log`), r.logs.map((l) => JSON.stringify(l)).join('\n') + '\n');
      if (r.stderr) writeFileSync(path.join(dir, `${r.def.name}.stderr`), r.stderr);
    }
    return dir;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.running.map(async (r) => {
        if (this.ctx.opts.cpuProfDir !== null) {
          // A profile is written only on a clean exit: ask, then insist after the contract's 2 s.
          r.proc.kill('SIGTERM');
          const insist = setTimeout(() => r.proc.kill('SIGKILL'), 5000);
          await r.exited;
          clearTimeout(insist);
          return;
        }
        r.proc.kill('SIGKILL');
        await r.exited;
      }),
    );
  }
}

export async function state(r: RunningNode, timeoutMs = 10_000): Promise<StateDoc> {
  const res = await fetch(`${r.api}/api/1/state`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${r.def.name}: GET /api/1/state answered HTTP ${res.status}`);
  return (await res.json()) as StateDoc;
}

export function isAligned(s: StateDoc): boolean {
  return s.peers.every((p) => p.connected) && s.files.every((f) => f.status === 'aligned');
}

/**
 * Whether a live node's API still answers within 1 s, and its CPU meanwhile: a node that does not
 * answer while burning CPU has a blocked event loop; one that answers is waiting on something.
 * Empty for a node that answers or has exited.
 */
async function responsiveness(r: RunningNode): Promise<string> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return '';
  const cpu = new CpuWindow([r.proc.pid!]);
  const t0 = performance.now();
  const answered = await fetch(`${r.api}/api/1/health`, { signal: AbortSignal.timeout(1000) }).then(
    (res) => res.ok,
    () => false,
  );
  if (answered) return '';
  return `${r.def.name}'s API did not answer for ${Math.round(performance.now() - t0)} ms (its CPU meanwhile ${cpu.processesPct() ?? '?'}% of a core)`;
}

/** What a node said last: its warn/error log lines and stderr, for failure reasons. */
export function lastWords(node: RunningNode, max = 3): string {
  const lines = node.logs
    .filter((l) => l.level >= 40)
    .slice(-max)
    .map((l) => `${l.msg}${l.err ? `: ${String(l.err)}` : ''}${l.reason ? ` (${String(l.reason)})` : ''}`);
  const err = node.stderr.trim().split('\n').slice(-2).join(' | ');
  const parts = [...lines, ...(err ? [`stderr: ${err.slice(0, 300)}`] : [])];
  return parts.length ? `; last words: ${parts.join('; ')}` : '';
}
