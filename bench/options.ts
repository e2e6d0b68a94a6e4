/** Command-line options of `npm run bench`, with the full and the --quick defaults. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../test/helpers/cluster.js';
import type { Options } from './types.js';

export const LATENCY_SIZES: Record<string, number> = {
  'latency-1k': 1024,
  'latency-64k': 64 * 1024,
  'latency-1m': 1024 * 1024,
  'latency-16m': 16 * 1024 * 1024,
};
export const SCENARIO_IDS = [...Object.keys(LATENCY_SIZES), 'burst1000', 'startup10k', 'gib', 'idle'] as const;
export const COMPARE_TOOLS = ['lsyncd', 'unison', 'syncthing', 'csync2'] as const;
const ALIASES: Record<string, string[]> = { latency: Object.keys(LATENCY_SIZES), all: [...SCENARIO_IDS] };

export const HELP = `npm run bench -- [options]

  --quick               the whole harness in under a minute: few samples, small sizes and counts
  --scenario LIST       comma-separated: ${SCENARIO_IDS.join(', ')}, latency (the four sizes), all (default)
  --nodes N             nodes in a full mesh on loopback (default 2); node 1 is the origin of every change
  --samples N           samples per latency size (default 200; quick 10)
  --gap MS              pause after a change arrived before the next one (default 50; quick 20)
  --rounds N            latency sizes up to 1 MiB: alternated rounds of entangled and the bare pipeline
                        of its stack, the samples split across them; burst1000: N bursts of each,
                        alternated (default 3)
  --no-floor            do not run the bare pipeline (one round of entangled alone; one burst)
  --compare LIST        also run the 1 KiB scenario through: ${COMPARE_TOOLS.join(', ')} (when installed)
  --compare-samples N   samples per compared tool (default: --samples)
  --burst-files N       files changed at once in burst1000 (default 1000; quick 200)
  --startup-files N     monitored files in startup10k (default 10000; quick 1000)
  --big-bytes N         size of the file in gib (default 1073741824; quick 67108864)
  --idle-files N        watched files in idle (default 1000; quick 100)
  --idle-seconds N      length of the idle window (default 60; quick 5)
  --log-level LEVEL     the daemons' log level (default info; 'applied change from peer' is info)
  --out DIR             where results go (default bench/results; quick bench/results/quick)
  --cpu-prof DIR        run the daemons with node --cpu-prof, one .cpuprofile per daemon in DIR
  --strict              exit 1 when a scenario fails (always on with --quick)
  --help`;

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return n;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Parses argv; throws an Error with a one-line message on bad usage. Returns null for --help. */
export function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      scenario: { type: 'string' },
      nodes: { type: 'string' },
      samples: { type: 'string' },
      gap: { type: 'string' },
      rounds: { type: 'string' },
      'no-floor': { type: 'boolean', default: false },
      compare: { type: 'string' },
      'compare-samples': { type: 'string' },
      'burst-files': { type: 'string' },
      'startup-files': { type: 'string' },
      'big-bytes': { type: 'string' },
      'idle-files': { type: 'string' },
      'idle-seconds': { type: 'string' },
      'log-level': { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  if (values.help) return null;
  const quick = values.quick === true;

  const scenarios: string[] = [];
  for (const s of list(values.scenario ?? 'all')) {
    const ids = ALIASES[s] ?? [s];
    for (const id of ids) {
      if (!(SCENARIO_IDS as readonly string[]).includes(id)) throw new Error(`--scenario: unknown scenario '${s}' (known: ${SCENARIO_IDS.join(', ')}, latency, all)`);
      if (!scenarios.includes(id)) scenarios.push(id);
    }
  }
  const compare = list(values.compare);
  for (const t of compare) {
    if (!(COMPARE_TOOLS as readonly string[]).includes(t)) throw new Error(`--compare: unknown tool '${t}' (known: ${COMPARE_TOOLS.join(', ')})`);
  }
  // The comparison is against entangled's own 1 KiB figure, so that scenario always runs with it.
  if (compare.length > 0 && !scenarios.includes('latency-1k')) scenarios.unshift('latency-1k');

  const samples = int('samples', values.samples, quick ? 10 : 200, 1);
  const rounds = int('rounds', values.rounds, 3, 1);
  if (rounds > samples) throw new Error(`--rounds ${rounds} is more than --samples ${samples}: every round needs a sample`);
  return {
    quick,
    strict: quick || values.strict === true,
    nodes: int('nodes', values.nodes, 2, 2),
    scenarios: SCENARIO_IDS.filter((id) => scenarios.includes(id)),
    samples,
    gapMs: int('gap', values.gap, quick ? 20 : 50, 0),
    rounds,
    floor: values['no-floor'] !== true,
    compare,
    compareSamples: int('compare-samples', values['compare-samples'], samples, 1),
    burstFiles: int('burst-files', values['burst-files'], quick ? 200 : 1000, 1),
    startupFiles: int('startup-files', values['startup-files'], quick ? 1000 : 10_000, 1),
    bigBytes: int('big-bytes', values['big-bytes'], quick ? 64 * 1024 * 1024 : 1024 * 1024 * 1024, 1),
    idleFiles: int('idle-files', values['idle-files'], quick ? 100 : 1000, 1),
    idleSeconds: int('idle-seconds', values['idle-seconds'], quick ? 5 : 60, 1),
    logLevel: values['log-level'] ?? 'info',
    outDir: path.resolve(values.out ?? path.join(ROOT, quick ? 'bench/results/quick' : 'bench/results')),
    cpuProfDir: values['cpu-prof'] === undefined ? null : path.resolve(values['cpu-prof']),
  };
}
