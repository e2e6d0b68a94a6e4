import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { fmt } from '../bench/format.js';
import { runChanges } from '../bench/measure.js';
import { round } from '../bench/stats.js';
import { EntangledError, errorText } from '../core/errors.js';
import { BenchProbe, type SeriesKey } from './bench-probe.js';
import { benchJson, lostOf, MEASURE_LABEL, Progress, renderBench, type BenchRun, type Series } from './bench-report.js';
import type { ApiTarget } from './http.js';

export interface BenchOptions {
  /** The probe file: a name (or absolute path) the --api node lists. */
  readonly file: string;
  readonly samples: number;
  readonly gapMs: number;
  /** Bytes per version written. */
  readonly size: number;
  /** How long a peer may take to confirm a version before that sample counts as lost. */
  readonly timeoutMs: number;
  readonly peerApis: readonly { name: string; target: ApiTarget }[];
  readonly json: string | undefined;
}

/**
 * Checks that `file` on this host is the node's own copy and can be written: the bench writes
 * the node's file, so it runs on that node's host. Throws EntangledError (exit 1) otherwise.
 */
function checkLocalCopy(node: string, file: string, md5: string): void {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new EntangledError('IO', `cannot read ${file} here (${errorText(err)}): the bench writes ${node}'s copy, so it must run on ${node}'s host`);
  }
  const here = createHash('md5').update(bytes).digest('hex');
  if (here !== md5) throw new EntangledError('IO', `${file} on this host is not ${node}'s copy (md5 ${here}, ${node} reports ${md5}): run the bench on ${node}'s host`);
  try {
    accessSync(file, constants.W_OK);
  } catch (err) {
    throw new EntangledError('IO', `cannot write ${file} (${errorText(err)}): run the bench on ${node}'s host as a user who may write it`);
  }
}

/**
 * `entangled bench`: writes `samples` new versions of the probe file on the --api node (in
 * place, like a shell redirection), times each peer's confirmation on that node's event stream
 * and each --peer-api node's arrival on its own, prints the figures and optionally writes them
 * as JSON. Exit 0, or 1 when a sample was lost or the file did not end aligned.
 */
export async function runBench(target: ApiTarget, opts: BenchOptions): Promise<number> {
  const probe = new BenchProbe(target, opts.peerApis);
  const progress = new Progress(opts.samples);
  try {
    const doc = await probe.open(opts.file);
    const why = probe.misaligned();
    if (why) throw new EntangledError('CONFLICT', `not aligned: ${why}; the bench measures only a file aligned everywhere`);
    checkLocalCopy(probe.origin.name, doc.path, doc.md5!);

    const keys: SeriesKey[] = [
      ...probe.peers.map((peer) => ({ peer, measure: 'round-trip' as const })),
      ...opts.peerApis.map((p) => ({ peer: p.name, measure: 'one-way' as const })),
    ];
    const series: Series[] = keys.map((k) => ({ ...k, samplesMs: [] }));
    const run: BenchRun = {
      date: new Date().toISOString(),
      api: target.url,
      node: probe.origin.name,
      file: doc.name,
      path: doc.path,
      size: opts.size,
      samples: opts.samples,
      gapMs: opts.gapMs,
      timeoutMs: opts.timeoutMs,
      series,
    };
    let last = doc.md5!;
    progress.update(0, '');
    try {
      await runChanges({
        size: opts.size,
        samples: opts.samples,
        warmup: 0,
        gapMs: opts.gapMs,
        text: true,
        signal: probe.signal,
        arm: (md5) => {
          last = md5;
          return probe.arm(md5, keys, opts.timeoutMs);
        },
        write: (data) => writeFileSync(doc.path, data),
        onSample: (i, times, t0) => {
          times.forEach((t, k) => series[k]!.samplesMs.push(t === null ? null : round(t - t0)));
          const s = series[0]!;
          const v = s.samplesMs[i];
          progress.update(i + 1, `${s.peer} ${MEASURE_LABEL[s.measure]} ${v === null || v === undefined ? 'lost' : `${fmt(v)} ms`}`);
        },
      });
    } catch (err) {
      // Stopped (a stream ended, a peer went away, a split-brain): what was measured is still shown.
      progress.clear();
      process.stdout.write(renderBench(run));
      if (opts.json) writeJson(opts.json, benchJson(run));
      throw err;
    }
    progress.clear();

    // The last version confirmed everywhere: the probe file ends aligned (a lost sample is caught up here).
    let endWhy: string | null = null;
    await probe
      .until(() => probe.origin.file?.md5 === last && probe.misaligned() === null, opts.timeoutMs, `alignment of ${doc.name} after the last sample`)
      .catch(() => (endWhy = probe.misaligned() ?? `${doc.name} on ${probe.origin.name} does not hold the last version written`));

    process.stdout.write(renderBench(run));
    if (opts.json) writeJson(opts.json, benchJson(run));
    const lost = series.filter((s) => lostOf(s) > 0);
    const problems = [
      ...(lost.length ? [`samples lost (no confirmation within ${opts.timeoutMs} ms): ${lost.map((s) => `${s.peer} ${s.measure} ${lostOf(s)}`).join(', ')}`] : []),
      ...(endWhy ? [`not aligned after the bench: ${endWhy}`] : []),
    ];
    if (problems.length) process.stderr.write(`entangled: ${problems.join('; ')}\n`);
    return problems.length ? 1 : 0;
  } finally {
    progress.clear();
    probe.close();
  }
}

function writeJson(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new EntangledError('IO', `--json: cannot write ${file} (${errorText(err)})`);
  }
}
