import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { burstComparison, burstFigures, burstMedians, floorComparison, median, splitSamples, type BurstRoundsSoFar, type RoundsSoFar } from '../../bench/floor-rounds.js';
import { renderReport } from '../../bench/report.js';
import type { BurstComparison, BurstRoundFigures, FloorComparison, RoundFigures, RunReport, ScenarioResult } from '../../bench/types.js';
import type { Case } from '../helpers/table.js';

describe('splitSamples(total, rounds)', () => {
  const cases: Case<[number, number], number[]>[] = [
    { description: '200 in 3: as even as can be, the larger first', given: [200, 3], expect: [67, 67, 66] },
    { description: '10 in 3', given: [10, 3], expect: [4, 3, 3] },
    { description: 'one round takes them all', given: [7, 1], expect: [7] },
    { description: 'more rounds than samples: one sample a round', given: [2, 5], expect: [1, 1] },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(splitSamples(...c.given), c.expect));
});

describe('median(values)', () => {
  const cases: Case<number[], number | null>[] = [
    { description: 'none: null', given: [], expect: null },
    { description: 'an odd count: the middle one, whatever the order', given: [3, 1, 2], expect: 2 },
    { description: 'an even count: the mean of the two middle ones', given: [4, 1, 3, 2], expect: 2.5 },
  ];
  for (const c of cases) test(c.description, () => assert.equal(median(c.given), c.expect));
});

const lat = (p50: number, p99: number): RoundFigures => ({ count: 67, p50, p95: p99, p99, max: p99, cpuPct: 5, otherCpuPct: 1 });
const latencyRun = (over: Partial<RoundsSoFar>): RoundsSoFar => ({
  samplesPerRound: [67, 67, 66],
  entangled: [lat(1.2, 3), lat(1.1, 4), lat(1.0, 5)],
  floor: [lat(1.0, 3), lat(1.0, 3), lat(1.0, 3)],
  floorSamplesMs: [1, 2],
  floorCpuPct: 3,
  daemonsCpuPct: 9,
  targeted: true,
  judged: true,
  ...over,
});
type LatencyOut = Pick<FloorComparison, 'entangledP50' | 'entangledP99' | 'floorP50' | 'floorP99' | 'ratioP50' | 'ratioP99' | 'met'>;
const latencyOut = (f: FloorComparison): LatencyOut => ({ entangledP50: f.entangledP50, entangledP99: f.entangledP99, floorP50: f.floorP50, floorP99: f.floorP99, ratioP50: f.ratioP50, ratioP99: f.ratioP99, met: f.met });

describe('floorComparison (latency): medians of rounds, ratios, the 1.1× / 1.5× verdict', () => {
  const cases: Case<RoundsSoFar, LatencyOut>[] = [
    { description: 'three rounds within both ceilings: met', given: latencyRun({}), expect: { entangledP50: 1.1, entangledP99: 4, floorP50: 1, floorP99: 3, ratioP50: 1.1, ratioP99: 1.33, met: true } },
    {
      description: 'a p50 ratio of 1.104 is not within 1.1 (judged unrounded)',
      given: latencyRun({ entangled: [lat(1.104, 3), lat(1.104, 3), lat(1.104, 3)] }),
      expect: { entangledP50: 1.104, entangledP99: 3, floorP50: 1, floorP99: 3, ratioP50: 1.1, ratioP99: 1, met: false },
    },
    {
      description: 'the p99 above 1.5×: missed',
      given: latencyRun({ entangled: [lat(1, 5), lat(1, 5), lat(1, 5)] }),
      expect: { entangledP50: 1, entangledP99: 5, floorP50: 1, floorP99: 3, ratioP50: 1, ratioP99: 1.67, met: false },
    },
    {
      description: 'the last floor round missing: medians over the complete pairs, not judged',
      given: latencyRun({ floor: [lat(1.0, 3), lat(2.0, 3)] }),
      expect: { entangledP50: 1.15, entangledP99: 3.5, floorP50: 1.5, floorP99: 3, ratioP50: 0.77, ratioP99: 1.17, met: null },
    },
    { description: 'a quick run: shown, not judged', given: latencyRun({ judged: false }), expect: { entangledP50: 1.1, entangledP99: 4, floorP50: 1, floorP99: 3, ratioP50: 1.1, ratioP99: 1.33, met: null } },
    {
      description: 'fewer than 3 rounds: not judged',
      given: latencyRun({ samplesPerRound: [100, 100], entangled: [lat(1, 3), lat(1, 3)], floor: [lat(1, 3), lat(1, 3)] }),
      expect: { entangledP50: 1, entangledP99: 3, floorP50: 1, floorP99: 3, ratioP50: 1, ratioP99: 1, met: null },
    },
    { description: 'a size the issue sets no ratio for: not judged', given: latencyRun({ targeted: false }), expect: { entangledP50: 1.1, entangledP99: 4, floorP50: 1, floorP99: 3, ratioP50: 1.1, ratioP99: 1.33, met: null } },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(latencyOut(floorComparison(c.given)), c.expect));
});

describe('burstFigures(files, t0, written, arrivals, cpu, others)', () => {
  test('the time runs from the first write to the last arrival at any peer; files/s from it', () => {
    assert.deepEqual(burstFigures(1000, 100, 150.04, [130, 500.04, 425], 80, 2), {
      files: 1000,
      ms: 400,
      filesPerS: 2500,
      writeMs: 50,
      firstArrivalMs: 30,
      afterLastWriteMs: 350,
      cpuPct: 80,
      otherCpuPct: 2,
    });
  });
});

const b = (ms: number, extra: Partial<BurstRoundFigures> = {}): BurstRoundFigures => ({ files: 1000, ms, filesPerS: Math.round(1e6 / ms), writeMs: 10, firstArrivalMs: 5, afterLastWriteMs: ms - 10, cpuPct: 100, otherCpuPct: 1, ...extra });

describe('burstMedians(bursts): the scenario row over its entangled bursts', () => {
  const cases: Case<BurstRoundFigures[], ReturnType<typeof burstMedians>>[] = [
    { description: 'none: every figure null', given: [], expect: { convergedMs: null, filesPerS: null, writeMs: null, firstArrivalMs: null, afterLastWriteMs: null, apiAlignedMs: null } },
    {
      description: 'three bursts: the middle of each figure',
      given: [b(500, { apiAlignedMs: 700 }), b(400, { apiAlignedMs: 900 }), b(250, { apiAlignedMs: 300 })],
      expect: { convergedMs: 400, filesPerS: 2500, writeMs: 10, firstArrivalMs: 5, afterLastWriteMs: 390, apiAlignedMs: 700 },
    },
    {
      description: 'two bursts: the means of the two (files/s of the unrounded rates)',
      given: [b(500), b(250)],
      expect: { convergedMs: 375, filesPerS: 3000, writeMs: 10, firstArrivalMs: 5, afterLastWriteMs: 365, apiAlignedMs: null },
    },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(burstMedians(c.given), c.expect));
});

const burstRun = (over: Partial<BurstRoundsSoFar>): BurstRoundsSoFar => ({ rounds: 3, files: 1000, entangled: [b(500), b(400), b(450)], floor: [b(300), b(350), b(400)], floorCpuPct: 90, daemonsCpuPct: 110, judged: true, ...over });
type BurstOut = Pick<BurstComparison, 'entangledFilesPerS' | 'entangledMs' | 'floorFilesPerS' | 'floorMs' | 'ratio' | 'met' | 'floorMet'>;
const burstOut = (f: BurstComparison): BurstOut => ({ entangledFilesPerS: f.entangledFilesPerS, entangledMs: f.entangledMs, floorFilesPerS: f.floorFilesPerS, floorMs: f.floorMs, ratio: f.ratio, met: f.met, floorMet: f.floorMet });

describe('burstComparison: medians of bursts, the files/s ratio, 3,000 files/s judged for both sides', () => {
  const cases: Case<BurstRoundsSoFar, BurstOut>[] = [
    {
      description: 'both below the target: missed, and the bare pipeline below it too',
      given: burstRun({}),
      expect: { entangledFilesPerS: 2222, entangledMs: 450, floorFilesPerS: 2857, floorMs: 350, ratio: 0.78, met: false, floorMet: false },
    },
    {
      description: 'the bare pipeline above the target, entangled below',
      given: burstRun({ floor: [b(300), b(250), b(320)] }),
      expect: { entangledFilesPerS: 2222, entangledMs: 450, floorFilesPerS: 3333, floorMs: 300, ratio: 0.67, met: false, floorMet: true },
    },
    {
      description: '333.3 ms for 1,000 files is 3,000.3 files/s: met',
      given: burstRun({ entangled: [b(333.3), b(333.3), b(333.3)] }),
      expect: { entangledFilesPerS: 3000, entangledMs: 333.3, floorFilesPerS: 2857, floorMs: 350, ratio: 1.05, met: true, floorMet: false },
    },
    {
      description: '333.37 ms is 2,999.7 files/s: missed, though it shows as 3000 (judged unrounded)',
      given: burstRun({ entangled: [b(333.37), b(333.37), b(333.37)] }),
      expect: { entangledFilesPerS: 3000, entangledMs: 333.4, floorFilesPerS: 2857, floorMs: 350, ratio: 1.05, met: false, floorMet: false },
    },
    {
      description: 'the last bare burst missing: medians over the complete pairs, not judged',
      given: burstRun({ floor: [b(300), b(350)] }),
      expect: { entangledFilesPerS: 2250, entangledMs: 450, floorFilesPerS: 3095, floorMs: 325, ratio: 0.73, met: null, floorMet: null },
    },
    { description: 'a quick run: shown, not judged', given: burstRun({ judged: false }), expect: { entangledFilesPerS: 2222, entangledMs: 450, floorFilesPerS: 2857, floorMs: 350, ratio: 0.78, met: null, floorMet: null } },
    {
      description: 'one round (--rounds 1) is judged: the target is absolute',
      given: burstRun({ rounds: 1, entangled: [b(250)], floor: [b(200)] }),
      expect: { entangledFilesPerS: 4000, entangledMs: 250, floorFilesPerS: 5000, floorMs: 200, ratio: 0.8, met: true, floorMet: true },
    },
  ];
  for (const c of cases) test(c.description, () => assert.deepEqual(burstOut(burstComparison(c.given)), c.expect));

  test('each pair keeps its own ratio; an unfinished bare burst has none', () => {
    const f = burstComparison(burstRun({ floor: [b(250)] }));
    assert.deepEqual(
      f.perRound.map((p) => [p.entangled.ms, p.floor?.ms ?? null, p.ratio]),
      [
        [500, 250, 0.5],
        [400, null, null],
        [450, null, null],
      ],
    );
    assert.equal(f.kind, 'burst');
    assert.deepEqual(f.target, { filesPerS: 3000 });
  });
});

function reportWith(s: Partial<ScenarioResult>): string {
  const result: ScenarioResult = { id: 'burst1000', title: 'files changed at once', status: 'ok', reason: null, durationMs: 1, params: { files: 1000, rounds: 3 }, figures: {}, summary: 'summary', notes: [], ...s };
  const r = { version: 1, date: 'd', mode: 'full', machine: { cpus: 2, cpuModel: 'cpu', memGiB: 1, kernel: 'k', node: 'v20' }, git: { commit: null, dirty: null }, load: { start: [0], end: [0] }, totalMs: 1, scenarios: [result], compare: [], options: { nodes: 2 } };
  return renderReport(r as unknown as RunReport);
}

describe("the report's burst row: the verdict beside the bare pipeline's own figure", () => {
  const row = (f: BurstComparison, target = true) => {
    const lines = reportWith({ floor: f, ...(target ? { target: { text: 'x', met: f.met } } : {}) }).split('\n');
    return { row: lines.find((l) => l.startsWith('| 1000 |')), perBurst: lines.find((l) => l.startsWith('- 1000 files:')) };
  };
  const cases: Case<{ f: BurstComparison; target?: boolean }, string>[] = [
    { description: 'both below: missed, the bare pipeline below it too', given: { f: burstComparison(burstRun({})) }, expect: '>= 3000 files/s: missed (the bare pipeline: 2857 files/s, below it too)' },
    { description: 'the bare pipeline above: missed, it meets it', given: { f: burstComparison(burstRun({ floor: [b(300), b(250), b(320)] })) }, expect: '>= 3000 files/s: missed (the bare pipeline: 3333 files/s, meets it)' },
    { description: 'entangled above, the bare pipeline below', given: { f: burstComparison(burstRun({ entangled: [b(300), b(300), b(300)] })) }, expect: '>= 3000 files/s: met (the bare pipeline: 2857 files/s, below it)' },
    { description: 'not judged: n/a, the bare figure still shown', given: { f: burstComparison(burstRun({ floor: [b(300)] })) }, expect: '>= 3000 files/s: n/a (the bare pipeline: 3333 files/s)' },
    { description: 'a quick run (no target): -', given: { f: burstComparison(burstRun({ judged: false })), target: false }, expect: '| - |' },
  ];
  for (const c of cases) test(c.description, () => assert.ok(row(c.given.f, c.given.target ?? true).row?.includes(c.expect), row(c.given.f, c.given.target ?? true).row));

  test('the row has both medians, the ratio and the CPU; the per-burst line each pair with others CPU', () => {
    const { row: r, perBurst } = row(burstComparison(burstRun({})));
    assert.equal(r, '| 1000 | 3 of 3 | 2857 | 350 | 2222 | 450 | 0.78× | 90.0% | 110% | 1.00% | >= 3000 files/s: missed (the bare pipeline: 2857 files/s, below it too) | ok |');
    assert.equal(
      perBurst,
      '- 1000 files: 1: 2000 files/s, 500 ms (writes 10.0) | 3333 files/s, 300 ms (writes 10.0) (0.60×; others 1.00% | 1.00%); 2: 2500 files/s, 400 ms (writes 10.0) | 2857 files/s, 350 ms (writes 10.0) (0.87×; others 1.00% | 1.00%); 3: 2222 files/s, 450 ms (writes 10.0) | 2500 files/s, 400 ms (writes 10.0) (0.89×; others 1.00% | 1.00%)',
    );
  });

  test('without a comparison (--no-floor) there is no burst row', () => {
    assert.ok(!reportWith({}).includes('against the bare pipeline'));
  });
});
