/**
 * The bare pipeline of entangled's stack (bench/floor-node.ts) as two processes of their own, an
 * origin and a peer, each with its folder in a temp folder, on a port claimed like the daemons'
 * (test/helpers/cluster.ts's freePorts). Started with node and tsx's loader only (the daemons run
 * dist/ with plain node: the loader compiles the file at start-up and is idle afterwards).
 * Stopped by PID (SIGKILL, like the bench's daemons), and the processes also exit by themselves
 * when their stdin closes, so they never outlive the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../test/helpers/cluster.js';
import { within } from './context.js';

const NODE_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor-node.ts');
const TSX_LOADER = import.meta.resolve('tsx');

interface FloorProcess {
  role: 'origin' | 'peer';
  proc: ChildProcess;
  exited: Promise<void>;
  /** Resolves at the first stdout line equal to `word`. */
  said(word: string): Promise<void>;
  stderr(): string;
}

function spawnRole(role: 'origin' | 'peer', dir: string, endpoint: string): FloorProcess {
  const proc = spawn(process.execPath, ['--import', TSX_LOADER, NODE_SCRIPT, '--role', role, '--dir', dir, '--endpoint', endpoint], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const words = new Set<string>();
  const waiting = new Map<string, () => void>();
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const w = out.slice(0, i);
      out = out.slice(i + 1);
      words.add(w);
      waiting.get(w)?.();
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-2000)));
  proc.stdin!.on('error', () => undefined); // written to after it exited
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    role,
    proc,
    exited,
    said: (word) => (words.has(word) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(word, resolve))),
    stderr: () => err.trim().split('\n').slice(-3).join(' | '),
  };
}

export class FloorPipeline {
  #stopping = false;
  #drains = 0;

  private constructor(
    readonly root: string,
    readonly originDir: string,
    readonly peerDir: string,
    readonly procs: FloorProcess[],
  ) {}

  /**
   * Writes `files` (name → content) into both folders, starts the peer and the origin, and waits
   * (up to `timeoutMs`) until the peer has heard the origin. `onExit` is told when a process
   * exits before stop(). Throws with the reason (and stops what it started) when it cannot.
   */
  static async start(opts: { files: Record<string, string | Buffer>; timeoutMs: number; signal?: AbortSignal; onExit(reason: string): void }): Promise<FloorPipeline> {
    const root = mkdtempSync(path.join(tmpdir(), 'entangled-floor-'));
    const [a, b] = [path.join(root, 'origin'), path.join(root, 'peer')];
    let floor: FloorPipeline | null = null;
    try {
      for (const dir of [a, b]) {
        mkdirSync(dir);
        for (const [name, content] of Object.entries(opts.files)) writeFileSync(path.join(dir, name), content);
      }
      const [port] = await freePorts(1);
      const endpoint = `tcp://127.0.0.1:${port}`;
      const peer = spawnRole('peer', b, endpoint);
      const origin = spawnRole('origin', a, endpoint);
      floor = new FloorPipeline(root, a, b, [origin, peer]);
      const f = floor;
      for (const p of f.procs) {
        void p.exited.then(() => {
          if (!f.#stopping) opts.onExit(`bare pipeline's ${p.role} exited (${p.proc.signalCode ?? `code ${p.proc.exitCode}`})${p.stderr() ? `: ${p.stderr()}` : ''}`);
        });
      }
      const died = Promise.race(f.procs.map((p) => p.exited.then(() => Promise.reject(new Error(`bare pipeline's ${p.role} exited at start-up${p.stderr() ? `: ${p.stderr()}` : ''}`)))));
      void died.catch(() => undefined); // once started, an exit goes to onExit
      const up = Promise.all([origin.said('ready'), peer.said('ready'), peer.said('heard')]);
      await within("the bare pipeline's processes to start and the peer to hear the origin", Promise.race([up, died]), opts.timeoutMs, opts.signal);
      origin.proc.stdin!.write('quiet\n');
      return f;
    } catch (err) {
      if (floor) await floor.stop();
      else rmSync(root, { recursive: true, force: true });
      throw err;
    }
  }

  get pids(): number[] {
    return this.procs.map((p) => p.proc.pid!);
  }

  originFile(name: string): string {
    return path.join(this.originDir, name);
  }

  /** Waits (up to `timeoutMs`) until the peer has no write in flight: a burst's last folder fsync is done. */
  async drained(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const peer = this.procs.find((p) => p.role === 'peer')!;
    const k = ++this.#drains;
    const answer = peer.said(`drained ${k}`);
    peer.proc.stdin!.write(`drain ${k}\n`);
    await within("the bare pipeline's peer to finish its writes", answer, timeoutMs, signal);
  }

  /** Kills both processes, waits for them, removes the folders. Safe to call more than once. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const p of this.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
    rmSync(this.root, { recursive: true, force: true });
  }
}
