#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isEntangledError } from '../core/errors.js';
import { runDemo } from './demo.js';
import { checkLevel, runStart } from './start.js';

const HELP = `entangled — keeps single configuration files identical across a cluster

Usage:
  entangled start --config FILE [--log-level LEVEL]   run one node until SIGINT/SIGTERM
  entangled demo [--log-level LEVEL]                  two nodes on loopback in a temp folder
  entangled --help | --version

Options of start:
  -c, --config FILE      the node's YAML configuration (required)
  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent (default: $LOG_LEVEL or info)

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
`;

class UsageError extends Error {}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command === 'start' || command === 'demo') {
    let values;
    try {
      ({ values } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', short: 'c' },
          'log-level': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const level = values['log-level'] ?? process.env.LOG_LEVEL ?? 'info';
    if (!checkLevel(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
    if (command === 'demo') {
      if (values.config) throw new UsageError('demo takes no --config');
      await runDemo(level);
      return 0;
    }
    if (!values.config) throw new UsageError('start needs --config FILE');
    await runStart(values.config, level);
    return 0;
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
      process.exit(err.code === 'CONFIG' ? 2 : 1);
    }
    process.stderr.write(`entangled: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
