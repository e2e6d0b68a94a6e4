/**
 * `npm run bench`: starts real entangled nodes on loopback, runs the chosen scenarios one after
 * the other (each bounded by its own budget; a failure is reported, never fatal), optionally the
 * same 1 KiB change through other tools, then prints the tables and writes JSON and the CDF plot.
 */
import path from 'node:path';
import { compareTools } from './compare.js';
import { checkBuild, gitInfo, loadAvg, machine } from './environment.js';
import { HELP, parseOptions } from './options.js';
import { renderCdf } from './plot.js';
import { renderReport, writeResults } from './report.js';
import { interruptCurrent, runScenario } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';
import type { Options, RunReport } from './types.js';
import { traceAs } from '../src/trace.js';

traceAs('bench');

function options(): Options {
  try {
    const opts = parseOptions(process.argv.slice(2));
    if (opts) return opts;
    console.log(HELP);
    process.exit(0);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const opts = options();
  const warning = checkBuild();
  if (warning) process.stderr.write(`[bench] warning: ${warning}\n`);

  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
    interruptCurrent('interrupted (SIGINT)');
  });
  process.on('unhandledRejection', (err) => process.stderr.write(`[bench] unhandled rejection (ignored): ${String(err)}\n`));

  const started = performance.now();
  const date = new Date().toISOString();
  const report: RunReport = { version: 1, date, mode: opts.quick ? 'quick' : 'full', machine: machine(), git: gitInfo(), load: { start: loadAvg(), end: [] }, options: opts, totalMs: 0, scenarios: [], compare: [] };
  for (const id of opts.scenarios) {
    if (interrupted) break;
    report.scenarios.push(await runScenario(SCENARIOS.get(id)!, opts));
  }
  if (opts.compare.length > 0 && !interrupted) {
    report.compare = await compareTools(opts, report.scenarios.find((s) => s.id === 'latency-1k'), () => interrupted);
  }
  report.totalMs = Math.round(performance.now() - started);
  report.load.end = loadAvg();

  const files = writeResults(report, renderCdf(report));
  console.log(renderReport(report));
  console.log(`\nresults: ${path.relative(process.cwd(), files.json)}, plot: ${path.relative(process.cwd(), files.svg)} (and latest.json, latest-latency-cdf.svg)`);
  if (interrupted) return 130;
  const ran = [...report.scenarios, ...report.compare.filter((c) => c.status !== 'missing')];
  const failed = ran.filter((s) => s.status === 'failed').length;
  console.log(`bench: ${ran.length - failed} of ${ran.length} scenarios ran, ${failed} failed`);
  if (failed > 0 && opts.strict) {
    console.error(`bench: ${failed} scenario(s) failed (--strict${opts.quick ? ', implied by --quick' : ''})`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: harness error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
