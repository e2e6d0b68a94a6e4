#!/usr/bin/env node
import './env.js';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkAccess, checkConfig, describeSettings } from '../config/preflight.js';
import { MIN_CONTENT_SIZE } from '../bench/measure.js';
import { isEntangledError } from '../core/errors.js';
import { runBench, type BenchOptions } from './bench.js';
import { DEMO_MAX_NODES, DEMO_MIN_NODES, runDemo } from './demo.js';
import { type ApiTarget } from './http.js';
import { runKeygen } from './keygen.js';
import { isMd5Prefix } from '../core/pick-version.js';
import { VERSION } from '../version.js';
import { runBackups, runDiff, runForce, runRestore, runStatus } from './operate.js';
import { checkLevel, runStart } from './start.js';

const API_OPTS = `  --api URL        the node's management API (default http://127.0.0.1:9876)
  --token T        bearer token (default $ENTANGLED_TOKEN)`;

const HELP: Record<string, string> = {
  main: `entangled — keeps single configuration files identical across a cluster

Usage:
  entangled start --config FILE [--log-level LEVEL]   run one node until SIGINT/SIGTERM
  entangled status [--api URL] [--token T] [--json | --check]   this node's state as a table (or raw
                                                       JSON, or a monitoring check's one line)
  entangled force  [--api URL] [--token T] [--file PATH]... [--peer NAME] [--push | --changed]
  entangled backups [--api URL] [--token T] --file NAME   the versions this node keeps of a file
  entangled diff   [--api URL] [--token T] --file NAME [--peer NAME]   what differs from the peer's copy
  entangled restore [--api URL] [--token T] --file NAME [--md5 M]   put back a kept version (default: the newest)
  entangled demo [--nodes N] [--log-level LEVEL]       N nodes (2-10, default 2) on loopback in a temp folder
  entangled keygen                                     prints a new CURVE key pair
  entangled check  --config FILE                       checks a config as start would, then exits
  entangled bench  [--api URL] [--token T] --file NAME [--samples N] [--gap MS]
                   [--peer-api NAME=URL]... [--json FILE]   propagation latency on a running cluster
  entangled --help | --version
  entangled COMMAND --help

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
`,
  start: `Usage: entangled start --config FILE [--log-level LEVEL]

Runs one node until SIGINT/SIGTERM (then stops within 2 s, exit 0). SIGHUP reloads the config
file: files, peers, keys, hooks, backups, api.token, reconcile and peerTimeoutMs take effect
at once; a config that is invalid or changes node, m2m, stateDir, the API address or the
node's own keys is refused with one error line, and the node goes on unchanged.
  -c, --config FILE    the node's YAML configuration (required)
  --log-level LEVEL    fatal|error|warn|info|debug|trace|silent (default $LOG_LEVEL or info)
`,
  check: `Usage: entangled check --config FILE

Makes every check that start makes before it binds anything (keys and values, the files'
folders, the key file and its permissions, stateDir, two bound addresses that are the same, a
secretKey inline in a config others can read), binds nothing and writes nothing. Exit 0 with a
one-line summary on stdout, or exit 2 with the one-line error start would print. Safe on the
config of a running node (systemd: ExecStartPre=). Run as the node's user, it also refuses a
listed file this user cannot read and a folder it cannot write (a write stages a temp file in
the file's folder, or in its link target's).
  -c, --config FILE    the YAML configuration to check (required)
`,
  status: `Usage: entangled status [--api URL] [--token T] [--json | --check]

This node's peers and files with their status, as a table (colour on a terminal).
${API_OPTS}
  --json           print the raw GET /api/1/state document
  --check          a monitoring check (Nagios plugin convention): one line on stdout, "OK: 3 files
                   aligned with 2 peers" or what is wrong, naming the files and peers, and exit
                   0 OK: every file aligned with every peer
                   1 WARNING: something pending, missing, unlisted or unknown, a peer down
                   2 CRITICAL: a split-brain
                   3 UNKNOWN: the API cannot be reached or refuses the token
Exit 1 with one line when the API cannot be reached (without --check).
`,
  backups: `Usage: entangled backups [--api URL] [--token T] --file NAME

Lists the versions of a file that this node kept before a peer's version, a force or a restore
replaced them, newest first: md5, size in bytes, and when it was kept. Any unique prefix of an
md5 picks that version for entangled restore --md5.
${API_OPTS}
  --file NAME      a listed file, by name or absolute path (required)
`,
  force: `Usage: entangled force [--api URL] [--token T] [--file PATH]... [--peer NAME] [--push | --changed]

Makes this node take the peer's copy (pull, the default) or the peer take this node's (--push).
With --changed, each file in split-brain with the peer goes the way of the side that alone
changed since the last agreement (a pull or a push); a file where both or neither changed is
left alone (skipped, with the reason).
${API_OPTS}
  --file PATH      a listed file, by name or absolute path; repeat for several (default: all)
  --peer NAME      the peer (default: the only one)
  --push           the peer takes this node's copy
  --changed        in each split-brain, the side that alone changed wins
Prints each file's result (updated, unchanged, skipped or failed); exit 1 when any failed. On a
terminal, a large file's transfer shows as a progress bar on stderr while it runs.
`,
  diff: `Usage: entangled diff [--api URL] [--token T] --file NAME [--peer NAME]

Shows what differs between this node's copy (---) and the peer's (+++), coloured on a terminal.
${API_OPTS}
  --file NAME      a listed file, by name or absolute path (required)
  --peer NAME      the peer (default: the only one)
`,
  restore: `Usage: entangled restore [--api URL] [--token T] --file NAME [--md5 M]

Puts back a version of a file that this node kept before a peer's version or a force replaced
it (see entangled backups); the restored content then replicates like any local change. Prints
the version it restores (md5, size, when it was kept) before it writes it.
${API_OPTS}
  --file NAME      a listed file, by name or absolute path (required)
  --md5 M          the kept version to put back: its md5 or any prefix of it that no other kept
                   version has, such as the 10 characters status prints (default: the newest)
Exit 1 when no such version is kept; 2 when several kept versions start with M.
`,
  bench: `Usage: entangled bench [--api URL] [--token T] --file NAME [--samples N] [--gap MS]
                       [--peer-api NAME=URL]... [--json FILE] [--size BYTES] [--timeout MS]

Measures change propagation on a running cluster. Writes --samples new versions of the listed
file NAME on the --api node, one at a time, so NAME should be a file kept for probing: its
content is replaced (in place, like a shell redirection; unique text of --size bytes each
time). Run it on that node's host. For every peer it times the round trip (from the write until
the node reports the peer aligned on the new version, on its event stream), and for each peer
named with --peer-api the one way (until that peer's own API reports the new md5, on its event
stream). Prints p50/p95/p99/max ms per peer and measure and a histogram; a progress bar on a
terminal.
${API_OPTS}
  --file NAME          the probe file: a listed name or absolute path (required)
  --samples N          versions written (default 100)
  --gap MS             pause after a version was confirmed everywhere (default 50)
  --peer-api NAME=URL  also time the arrival on peer NAME's own API (repeat for several; the
                       same --token)
  --json FILE          write every sample and the summaries as JSON
  --size BYTES         size of each version (default 1024, at least ${MIN_CONTENT_SIZE})
  --timeout MS         a sample not confirmed within this long is lost (default 5000)
Exit 0; 1 when a node cannot be reached, the file is not aligned when the bench starts (it never
measures a split-brain), a peer goes out of reach during it, a sample was lost or the file did
not end aligned; 2 for bad usage or a file or peer the nodes do not list.
`,
  keygen: `Usage: entangled keygen

Prints a new CURVE key pair as YAML (publicKey and secretKey, Z85 text). Keep the secret key in
a file only this node's user can read (security.curve.secretKeyFile) and give the public key to
every peer (peers[].publicKey).
`,
  demo: `Usage: entangled demo [--nodes N] [--log-level LEVEL]

Starts N nodes on loopback, each a peer of every other (a full mesh), in a temp folder with a
few sample files, already aligned, and prints each node's folder and URL and commands to try.
The nodes are alpha, beta, gamma, delta, epsilon, zeta, eta, theta, iota and kappa, in that
order; each has its API and m2m ports on three consecutive ports of 127.0.0.1, ten apart: alpha
9876 (API), 9877 and 9878, beta 9886-9888, gamma 9896-9898, … kappa 9966-9968.
Ctrl-C stops every node and removes the folder.
  --nodes N          how many nodes, ${DEMO_MIN_NODES} to ${DEMO_MAX_NODES} (default ${DEMO_MIN_NODES})
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (default $LOG_LEVEL or info)
`,
};

class UsageError extends Error {}

const API_OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

function target(values: { api?: string; token?: string }): ApiTarget {
  const url = values.api ?? 'http://127.0.0.1:9876';
  if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--api: "${url}" is not an http(s) URL`);
  return { url, token: values.token ?? process.env.ENTANGLED_TOKEN };
}

function logLevel(values: { 'log-level'?: string }): string {
  const level = values['log-level'] ?? process.env.LOG_LEVEL ?? 'info';
  if (!checkLevel(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
  return level;
}

function demoNodes(value: string | undefined): number {
  if (value === undefined) return DEMO_MIN_NODES;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= DEMO_MIN_NODES && n <= DEMO_MAX_NODES)) throw new UsageError(`--nodes: "${value}" is not a whole number from ${DEMO_MIN_NODES} to ${DEMO_MAX_NODES}`);
  return n;
}

/** A whole number from `min` to `max` (inclusive), or `fallback` when the flag is absent. */
function intFlag(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag}: "${value}" is not a whole number from ${min} to ${max}`);
  return n;
}

function benchOptions(v: { file?: string; samples?: string; gap?: string; size?: string; timeout?: string; 'peer-api'?: string[]; json?: string }, token: string | undefined): BenchOptions {
  if (!v.file) throw new UsageError('bench needs --file NAME');
  const peerApis: BenchOptions['peerApis'][number][] = [];
  for (const raw of v['peer-api'] ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(raw);
    if (!m) throw new UsageError(`--peer-api: "${raw}" is not NAME=URL`);
    const name = m[1]!;
    const url = m[2]!;
    if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--peer-api ${name}: "${url}" is not an http(s) URL`);
    if (peerApis.some((p) => p.name === name)) throw new UsageError(`--peer-api: ${name} is named twice`);
    peerApis.push({ name, target: { url, token } });
  }
  if (v.json !== undefined) {
    const dir = path.dirname(path.resolve(v.json));
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      throw new UsageError(`--json: cannot write a file in ${dir}`);
    }
  }
  return {
    file: v.file,
    samples: intFlag('samples', v.samples, 100, 1, 100_000),
    gapMs: intFlag('gap', v.gap, 50, 0, 600_000),
    size: intFlag('size', v.size, 1024, MIN_CONTENT_SIZE, 16 * 1024 * 1024),
    timeoutMs: intFlag('timeout', v.timeout, 5000, 100, 600_000),
    peerApis,
    json: v.json,
  };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(HELP.main!);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP.main!);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const help = HELP[command];
  if (help === undefined || command === 'main') throw new UsageError(`unknown command "${command}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(help);
    return 0;
  }
  switch (command) {
    case 'start': {
      const v = parse(rest, { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } });
      if (!v.config) throw new UsageError('start needs --config FILE');
      await runStart(v.config, logLevel(v));
      return 0;
    }
    case 'check': {
      const v = parse(rest, { config: { type: 'string', short: 'c' } });
      if (!v.config) throw new UsageError('check needs --config FILE');
      const settings = checkConfig(v.config);
      checkAccess(settings);
      process.stdout.write(`${describeSettings(settings)}\n`);
      return 0;
    }
    case 'demo': {
      const v = parse(rest, { nodes: { type: 'string' }, 'log-level': { type: 'string' } });
      await runDemo(logLevel(v), demoNodes(v.nodes));
      return 0;
    }
    case 'status': {
      const v = parse(rest, { ...API_OPTIONS, json: { type: 'boolean' }, check: { type: 'boolean' } });
      if (v.json && v.check) throw new UsageError('status takes --json or --check, not both');
      return runStatus(target(v), v.check ? 'check' : v.json ? 'json' : 'table');
    }
    case 'backups': {
      const v = parse(rest, { ...API_OPTIONS, file: { type: 'string' } });
      if (!v.file) throw new UsageError('backups needs --file NAME');
      return runBackups(target(v), v.file);
    }
    case 'force': {
      const v = parse(rest, { ...API_OPTIONS, file: { type: 'string', multiple: true }, peer: { type: 'string' }, push: { type: 'boolean' }, changed: { type: 'boolean' } });
      if (v.push && v.changed) throw new UsageError('force takes --push or --changed, not both');
      return runForce(target(v), { files: v.file, peer: v.peer, direction: v.push ? 'push' : v.changed ? 'changed' : 'pull' });
    }
    case 'bench': {
      const v = parse(rest, {
        ...API_OPTIONS,
        file: { type: 'string' },
        samples: { type: 'string' },
        gap: { type: 'string' },
        size: { type: 'string' },
        timeout: { type: 'string' },
        'peer-api': { type: 'string', multiple: true },
        json: { type: 'string' },
      });
      const t = target(v);
      return runBench(t, benchOptions(v, t.token));
    }
    case 'keygen': {
      parse(rest, {});
      return runKeygen();
    }
    case 'restore': {
      const v = parse(rest, { ...API_OPTIONS, file: { type: 'string' }, md5: { type: 'string' } });
      if (!v.file) throw new UsageError('restore needs --file NAME');
      if (v.md5 !== undefined && !isMd5Prefix(v.md5)) throw new UsageError(`--md5: "${v.md5}" is not an md5 or a prefix of one (hex digits)`);
      return runRestore(target(v), v.file, v.md5);
    }
    case 'diff': {
      const v = parse(rest, { ...API_OPTIONS, file: { type: 'string' }, peer: { type: 'string' } });
      if (!v.file) throw new UsageError('diff needs --file NAME');
      return runDiff(target(v), v.file, v.peer);
    }
  }
  throw new UsageError(`unknown command "${command}"`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`entangled: ${err.message} (see entangled --help)\n`);
      process.exit(2);
    }
    if (isEntangledError(err)) {
      process.stderr.write(`entangled: ${err.message}\n`);
      // A configuration error, or a request the API (or the CLI itself) refused as malformed:
      // bad --file/--peer, an --md5 prefix that several kept versions share.
      const usage = err.code === 'CONFIG' || err.code === 'BAD_REQUEST';
      process.exit(usage ? 2 : 1);
    }
    process.stderr.write(`entangled: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
