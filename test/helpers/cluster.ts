import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { curveKeyPair } from 'zeromq';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 5000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Ports that were free a moment ago, and reserved for this test process. They come from below
 * the kernel's ephemeral range (32768+), so no outgoing connection of a running test can take
 * one in the meantime; each test process walks its own random stretch of 20000-32000, claims a
 * port with a file in PORT_CLAIMS (so a test process running beside it never hands out the port
 * of a node this one has stopped and will start again), and probes it by binding.
 */
let nextPort = 20000 + Math.floor(Math.random() * 11000);
const PORT_CLAIMS = path.join(tmpdir(), 'entangled-test-ports');
const claimed: string[] = [];

/** Claims `port` for this process unless a live test process holds it. */
function claim(port: number): boolean {
  mkdirSync(PORT_CLAIMS, { recursive: true });
  const file = path.join(PORT_CLAIMS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (claimed.length === 0) process.once('exit', () => claimed.forEach((f) => rmSync(f, { force: true })));
      claimed.push(file);
      return true;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(file, 'utf8')) || 0;
      } catch {
        continue; // Removed meanwhile: try to claim it again.
      }
      if (owner === process.pid) return false;
      try {
        if (owner > 0) process.kill(owner, 0);
        return false;
      } catch {
        rmSync(file, { force: true });
      }
    }
  }
  return false;
}

export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = nextPort++;
    if (nextPort >= 32000) nextPort = 20000;
    if (!claim(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}

export function md5(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

export function md5File(p: string): string | null {
  try {
    return md5(readFileSync(p));
  } catch {
    return null;
  }
}

export function tempDir(prefix = 'entangled-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface NodePorts {
  api: number;
  pub: number;
  rep: number;
}

export interface NodeDef {
  name: string;
  dir: string;
  ports: NodePorts;
  configPath: string;
  /** The address the test reaches this node's API on (default 127.0.0.1), e.g. in a network namespace. */
  apiHost?: string;
  /** The node's CURVE key pair when the cluster was defined with `curve`. */
  keys?: { publicKey: string; secretKey: string };
}

/** Node names in order, as the demo has them: a cluster of `nodes: N` takes the first N. */
export const NODE_NAMES = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'] as const;

export interface ClusterOptions {
  /** The nodes' names; each lists every other as a peer (a full mesh). Default: `nodes` of NODE_NAMES. */
  names?: string[];
  /** How many nodes when `names` is not given: the first N of NODE_NAMES (2 to 10; default 2). */
  nodes?: number;
  files?: Record<string, string | null>;
  /** Per node overrides of file contents: node name → file name → content (null = absent). */
  contents?: Record<string, Record<string, string | null>>;
  reconcile?: 'manual' | 'auto';
  peerTimeoutMs?: number;
  /** api.token for every node. */
  token?: string;
  extra?: Record<string, unknown>;
  /**
   * CURVE on every link: a new key pair per node, written to security.curve and to every peer's
   * publicKey. Nodes in `keyFile` (default: the first) keep the secret in a 0600 `<node>.key`
   * file, the others inline. `peerKeys` overrides what a node lists: node → peer → publicKey.
   */
  curve?: { keyFile?: readonly string[]; peerKeys?: Record<string, Record<string, string>> };
}

/** Rewrites one node's YAML config (before it starts, or before a restart). */
export function patchConfig(def: NodeDef, patch: (cfg: Record<string, unknown>) => void): void {
  const cfg = parse(readFileSync(def.configPath, 'utf8')) as Record<string, unknown>;
  patch(cfg);
  writeFileSync(def.configPath, stringify(cfg));
}

/** Writes a config and sample files per node into one temp folder. Nothing runs yet. */
export async function defineCluster(opts: ClusterOptions = {}): Promise<{ root: string; nodes: NodeDef[] }> {
  const count = opts.nodes ?? 2;
  if (!opts.names && !(Number.isInteger(count) && count >= 2 && count <= NODE_NAMES.length)) throw new Error(`defineCluster: nodes must be 2 to ${NODE_NAMES.length}, not ${count}`);
  const names = opts.names ?? NODE_NAMES.slice(0, count);
  const files = opts.files ?? { 'app.conf': 'listen 80\n' };
  const root = tempDir();
  const ports = await freePorts(names.length * 3);
  const nodes: NodeDef[] = names.map((name, i) => {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'state'), { recursive: true, mode: 0o700 });
    return {
      name,
      dir,
      ports: { api: ports[i * 3]!, pub: ports[i * 3 + 1]!, rep: ports[i * 3 + 2]! },
      configPath: path.join(dir, 'entangled.yaml'),
      ...(opts.curve ? { keys: curveKeyPair() } : {}),
    };
  });
  for (const n of nodes) {
    const config = {
      node: n.name,
      api: { host: '127.0.0.1', port: n.ports.api, ...(opts.token ? { token: opts.token } : {}) },
      m2m: { pub: `tcp://127.0.0.1:${n.ports.pub}`, rep: `tcp://127.0.0.1:${n.ports.rep}` },
      peers: nodes
        .filter((p) => p !== n)
        .map((p) => ({
          name: p.name,
          pub: `tcp://127.0.0.1:${p.ports.pub}`,
          rep: `tcp://127.0.0.1:${p.ports.rep}`,
          ...(p.keys ? { publicKey: opts.curve?.peerKeys?.[n.name]?.[p.name] ?? p.keys.publicKey } : {}),
        })),
      files: Object.keys(files),
      stateDir: 'state',
      reconcile: opts.reconcile ?? 'manual',
      peerTimeoutMs: opts.peerTimeoutMs ?? 1000,
      ...(n.keys ? { security: { curve: curveConfig(n, opts.curve?.keyFile ?? [names[0]!]) } } : {}),
      ...opts.extra,
    };
    // A config holding its secret key inline must not be readable by others (start refuses it).
    const inlineSecret = (config.security?.curve as Record<string, string> | undefined)?.secretKey !== undefined;
    writeFileSync(n.configPath, stringify(config), { mode: inlineSecret ? 0o600 : 0o644 });
    for (const [file, content] of Object.entries(files)) {
      const own = opts.contents?.[n.name]?.[file];
      const c = own !== undefined ? own : content;
      if (c !== null) writeFileSync(path.join(n.dir, file), c);
    }
  }
  return { root, nodes };
}

/** A node's security.curve: the secret inline, or in a 0600 `<node>.key` file beside its config. */
function curveConfig(n: NodeDef, keyFile: readonly string[]): Record<string, string> {
  const { publicKey, secretKey } = n.keys!;
  if (!keyFile.includes(n.name)) return { publicKey, secretKey };
  writeFileSync(path.join(n.dir, `${n.name}.key`), `${secretKey}\n`, { mode: 0o600 });
  return { publicKey, secretKeyFile: `${n.name}.key` };
}

export interface LogLine {
  level: number;
  msg: string;
  path?: string;
  peer?: string;
  [k: string]: unknown;
}

/** A running `entangled start` child process. */
export class RunningNode {
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #buf = '';

  constructor(
    readonly def: NodeDef,
    readonly proc: ChildProcess,
  ) {
    proc.stdout!.setEncoding('utf8');
    const keep = process.env.ENTANGLED_TEST_LOGS;
    if (keep) mkdirSync(keep, { recursive: true });
    const logFile = keep ? path.join(keep, `${path.basename(path.dirname(def.dir))}-${def.name}-${Date.now()}.log`) : null;
    proc.stdout!.on('data', (chunk: string) => {
      if (logFile) appendFileSync(logFile, chunk);
      this.#buf += chunk;
      let i: number;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 0, msg: `NOT JSON: ${line}` });
        }
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get api(): string {
    return `http://${this.def.apiHost ?? '127.0.0.1'}:${this.def.ports.api}`;
  }

  file(name: string): string {
    return path.join(this.def.dir, name);
  }

  /** Bearer token the helpers send (set it when the cluster has api.token). */
  token: string | undefined;

  headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  async state(): Promise<StateDoc> {
    const res = await fetch(`${this.api}/api/1/state`, { headers: this.headers() });
    if (!res.ok) throw new Error(`state: HTTP ${res.status}`);
    return (await res.json()) as StateDoc;
  }

  /** Waits until the given file's status (and optionally per-peer status) matches. */
  async waitStatus(name: string, status: string, timeoutMs = 8000): Promise<StateDoc['files'][number]> {
    return waitFor(`${this.def.name}: ${name} is ${status}`, async () => {
      const f = (await this.state()).files.find((x) => x.name === name);
      return f && f.status === status ? f : null;
    }, timeoutMs, 20);
  }

  /** Waits until `peer`'s entry for file `name` shows an error matching `pattern` (what the peer reported); returns the entry. */
  async waitPeerError(name: string, peer: string, pattern: RegExp, timeoutMs = 1000): Promise<StateDoc['files'][number]['peers'][string]> {
    return waitFor(`${this.def.name}: ${peer}'s error for ${name} matches ${pattern}`, async () => {
      const p = (await this.state()).files.find((x) => x.name === name)?.peers[peer];
      return p?.error !== undefined && pattern.test(p.error) ? p : null;
    }, timeoutMs, 10);
  }

  /** Waits until the node has read (hashed) its copy of `name` holding `content`. */
  async waitHashed(name: string, content: string | Buffer, timeoutMs = 5000): Promise<void> {
    const want = md5(content);
    await waitFor(`${this.def.name} hashed ${name}`, async () => (await this.state()).files.find((f) => f.name === name)?.md5 === want, timeoutMs, 10);
  }

  async waitLog(pred: (l: LogLine) => boolean, what: string, timeoutMs = 8000): Promise<LogLine> {
    return waitFor(`${this.def.name} logs ${what}`, () => this.logs.find(pred), timeoutMs);
  }

  /** Sends SIGHUP and resolves with the reload's outcome line: 'configuration reloaded' or 'reload refused: …'. */
  async hup(timeoutMs = 10000): Promise<LogLine> {
    const seen = this.logs.length;
    this.proc.kill('SIGHUP');
    return waitFor(`${this.def.name} reloads`, () => this.logs.slice(seen).find((l) => l.msg === 'configuration reloaded' || l.msg.startsWith('reload refused')), timeoutMs);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

export interface StateDoc {
  node: string;
  reconcile: string;
  peers: { name: string; connected: boolean; lastSeen: string | null }[];
  files: {
    name: string;
    path: string;
    status: string;
    md5: string | null;
    size: number | null;
    mtime: string | null;
    error: string | null;
    peers: Record<string, { md5: string | null; status: string; changed?: string[] | null; transfer?: { direction: 'in' | 'out'; bytes: number; total: number }; error?: string }>;
  }[];
}

/**
 * Spawns `entangled start` for a node; resolves once its API answers. `env` adds variables to
 * the node's environment (e.g. LD_PRELOAD); without it the node inherits the test's.
 */
export async function startNode(def: NodeDef, opts: { umask?: string; waitApi?: boolean; token?: string; netns?: string; uid?: number; env?: Record<string, string> } = {}): Promise<RunningNode> {
  const args = [CLI, 'start', '--config', def.configPath, '--log-level', 'debug'];
  const env = opts.env ? { ...process.env, ...opts.env } : undefined;
  // `ip netns exec` execs the command in place: the child's pid is the node's (signals reach it).
  const proc = opts.netns
    ? spawn('ip', ['netns', 'exec', opts.netns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : opts.umask
    ? spawn('sh', ['-c', `umask ${opts.umask} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : opts.uid !== undefined
    ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.uid, env })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const node = new RunningNode(def, proc);
  node.token = opts.token;
  if (opts.waitApi !== false) {
    try {
      await waitFor(`${def.name} API`, async () => {
        if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${node.stderr}`);
        const res = await fetch(`${node.api}/api/1/health`).catch(() => null);
        return res?.ok;
      }, 10000, 20);
    } catch (err) {
      // Nobody holds the node to stop it: a child left running would keep the test process alive.
      await node.stop('SIGKILL');
      throw err;
    }
  }
  return node;
}

/**
 * Starts every node and waits until each sees all its peers connected. When one fails, the
 * others are killed before the error is thrown (the caller never got them to stop).
 */
export async function startCluster(nodes: NodeDef[], opts: { token?: string } = {}): Promise<RunningNode[]> {
  const started = await Promise.allSettled(nodes.map((n) => startNode(n, opts)));
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await Promise.all(running.map((r) => waitConnected(r)));
  } catch (err) {
    await stopAll(running);
    throw err;
  }
  return running;
}

export async function waitConnected(r: RunningNode, timeoutMs = 8000): Promise<void> {
  await waitFor(`${r.def.name} connected to its peers`, async () => {
    const s = await r.state();
    return s.peers.every((p) => p.connected) && s.files.every((f) => Object.values(f.peers).every((p) => p.status !== 'unknown'));
  }, timeoutMs, 20);
}

export async function stopAll(nodes: RunningNode[], root?: string): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  if (root) rmSync(root, { recursive: true, force: true });
}

/**
 * Makes both copies of `name` differ while `b` is stopped (SIGSTOP) long enough for `a` to lose
 * it, waits until `a` has hashed its side, then resumes `b`: a split-brain the nodes will find.
 */
export async function diverge(a: RunningNode, b: RunningNode, name: string, mine: string, theirs: string): Promise<void> {
  b.proc.kill('SIGSTOP');
  await waitFor(`${a.def.name} loses ${b.def.name}`, async () => !(await a.state()).peers.find((p) => p.name === b.def.name)!.connected, 5000);
  writeFileSync(a.file(name), mine);
  writeFileSync(b.file(name), theirs);
  await a.waitHashed(name, mine);
  b.proc.kill('SIGCONT');
}

/** The uid (and gid) of `nobody`, for tests that run a node or the CLI as an unprivileged user. */
export const NOBODY = 65534;

/** Why a small tmpfs cannot be mounted here (not root, no mount), or null when it can. */
export function cannotMount(): string | null {
  const probe = mkdtempSync(path.join(tmpdir(), 'entangled-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n')[0]}): needs root`;
  } finally {
    rmdirSync(probe);
  }
}
/** Why a test cannot run the CLI as `nobody` here, or null when it can. */
export function cannotRunAsNobody(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to run a node as another user';
  // A checkout inside a private folder (mktemp -d is 0700) is out of nobody's reach.
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(CLI)}, require('fs').constants.R_OK)`], { uid: NOBODY, gid: NOBODY });
  return probe.status === 0 ? null : `user nobody cannot read ${CLI} (a folder above the checkout is private)`;
}

/** Runs the CLI to completion (as user `uid` when given) and returns its exit code and output. */
export function runCli(args: string[], timeoutMs = 10000, env: Record<string, string> = {}, uid?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const as = uid === undefined ? {} : { uid, gid: uid };
    const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, ...as });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`entangled ${args.join(' ')} did not exit in ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
