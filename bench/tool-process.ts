/**
 * The processes of a compared tool: each started in its own process group with its output in a
 * log file under the run's temp folder, and stopped by that group's id when the run ends
 * (SIGTERM, then SIGKILL after 3 s), so what it forked (syncthing's monitored child, csync2's
 * trigger loop and its runs) goes with it. One that exits during the run fails the run with
 * the end of its output.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { within, type ScenarioContext } from './context.js';

/** The last `chars` of a log file on one line ('' when there is none). */
export function tail(file: string, chars = 300): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars).replace(/\s+/g, ' ').trim();
  } catch {
    return '';
  }
}

export interface ToolProcess {
  name: string;
  pid: number;
  /** Its stdout and stderr. */
  log: string;
}

/**
 * Starts `binPath args` as `name` (its log: `<dir>/<name>.log`) and registers its stop by process
 * group on `ctx`. An exit before the run ends, or a failure to start, fails the run.
 */
export function spawnTool(ctx: ScenarioContext, name: string, binPath: string, args: string[], opts: { dir: string; env?: Record<string, string> }): ToolProcess {
  const log = path.join(opts.dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const proc = spawn(binPath, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env }, detached: true });
  closeSync(fd);
  let exited = false;
  let stopping = false;
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('exit', (code, signal) => {
    exited = true;
    if (!stopping) ctx.fail(new Error(`${name} exited (${signal ?? `code ${code}`}) during the run; its output ends: ${tail(log)}`));
  });
  proc.once('error', (err) => ctx.fail(new Error(`${name} could not start: ${err.message}`)));
  const pid = proc.pid ?? -1;
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  };
  ctx.defer(async () => {
    stopping = true;
    if (pid < 0) return;
    if (!exited) signalGroup('SIGTERM');
    await within(`${name} to stop`, gone, 3000).catch(() => undefined);
    signalGroup('SIGKILL'); // whatever of its group is still there
  });
  ctx.diagnose(() => `${name}'s output ends: ${tail(log)}`);
  return { name, pid, log };
}

/**
 * Runs a one-shot command of a tool's set-up (a key, a config) to its end within `timeoutMs`;
 * resolves with its stdout, rejects with a one-line reason naming the command and its stderr.
 */
export function runOnce(binPath: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binPath, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 20_000, cwd: opts.cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const said = `${stderr} ${stdout}`.replace(/\s+/g, ' ').trim().slice(-300);
      reject(new Error(`${path.basename(binPath)} ${args.join(' ')} failed (${err.killed ? 'timed out' : `exit ${String(err.code)}`})${said ? `: ${said}` : ''}`));
    });
  });
}
