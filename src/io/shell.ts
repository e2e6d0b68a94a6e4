import { spawn } from 'node:child_process';

/** What a shell command did: exit code (null when killed), output tails and duration. */
export interface ShellResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Set when the shell itself could not be started. */
  readonly spawnError: string | null;
}

/** The most output kept per stream (its end: that is where errors are). */
const OUTPUT_BYTES = 4096;

/** Quotes `s` for a POSIX shell: one word, nothing expanded. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs `command` through /bin/sh with `env` added to this process's environment. After
 * `timeoutMs` the whole process group gets SIGTERM, then SIGKILL a second later. Never throws.
 */
export function runShell(command: string, env: Record<string, string>, timeoutMs: number): Promise<ShellResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const out = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
    const keep = (which: 'stdout' | 'stderr', chunk: Buffer) => {
      const joined = Buffer.concat([out[which], chunk]);
      out[which] = joined.length > OUTPUT_BYTES ? joined.subarray(joined.length - OUTPUT_BYTES) : joined;
    };
    let timedOut = false;
    let killTimer: NodeJS.Timeout | null = null;
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that a timeout kills what the command started too.
      detached: true,
    });
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), 1000);
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => keep('stdout', c));
    child.stderr.on('data', (c: Buffer) => keep('stderr', c));
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError: string | null) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve({
        code,
        signal,
        timedOut,
        stdout: out.stdout.toString('utf8').trimEnd(),
        stderr: out.stderr.toString('utf8').trimEnd(),
        ms: Math.round(performance.now() - started),
        spawnError,
      });
    };
    child.on('error', (err) => finish(null, null, err.message));
    child.on('close', (code, signal) => finish(code, signal, null));
  });
}

/** One line saying how a command failed, or null when it exited 0. */
export function shellFailure(r: ShellResult): string | null {
  if (r.spawnError !== null) return `could not run: ${r.spawnError}`;
  if (r.timedOut) return `timed out after ${r.ms} ms`;
  if (r.code === 0) return null;
  const said = (r.stderr || r.stdout).split('\n').filter((l) => l.trim()).pop();
  const how = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit ${r.code}`;
  return said ? `${how}: ${said.slice(0, 300)}` : how;
}
