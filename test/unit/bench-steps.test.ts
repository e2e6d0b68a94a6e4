import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { changesOf, gcShare, slowest, stepTable } from '../../bench/steps.js';

/** Marks of one change, `t0` ns plus each step's offset in µs, in the given processes. */
function change(t0: number, origin: string, peer: string, steps: Record<string, number>): { ns: number; step: string; proc: string }[] {
  const peerSteps = new Set(['received', 'decoded', 'decided', 'durable', 'checked', 'renamed']);
  return Object.entries(steps).map(([step, us]) => ({ ns: t0 + us * 1000, step, proc: step === 'write' || step === 'arrived' ? 'bench.1' : peerSteps.has(step) ? peer : origin }));
}

const ENTANGLED = { write: 0, watched: 100, read: 200, send: 300, received: 600, decoded: 700, decided: 800, durable: 1100, checked: 1200, renamed: 1250, arrived: 1260 };
const FLOOR = { write: 0, watched: 90, read: 150, send: 180, received: 480, decoded: 520, durable: 800, checked: 805, renamed: 1100, arrived: 880 };

function run(side: 'entangled' | 'floor', n: number, start: number, steps: Record<string, number>) {
  const [origin, peer] = side === 'entangled' ? ['entangled.10', 'entangled.11'] : ['floor.20', 'floor.21'];
  return Array.from({ length: n }, (_, i) => change(start + i * 50e6, origin, peer, steps)).flat();
}

describe('bench/steps.ts: the step table from trace marks', () => {
  test('each change is split at its write, given to the side that carried it, warm-up left out', () => {
    const marks = [...run('entangled', 5, 0, ENTANGLED), ...run('floor', 5, 1e9, FLOOR)].sort((a, b) => a.ns - b.ns);
    const changes = changesOf(marks);
    assert.deepEqual(
      changes.map((c) => c.side),
      ['entangled', 'entangled', 'floor', 'floor'],
    );
    const e = stepTable(changes, 'entangled');
    assert.deepEqual(
      e.map((r) => [r.step, r.fromPrev, r.fromWrite]),
      [
        ['watched', 100, 100],
        ['read', 100, 200],
        ['send', 100, 300],
        ['received', 300, 600],
        ['decoded', 100, 700],
        ['decided', 100, 800],
        ['durable', 300, 1100],
        ['checked', 100, 1200],
        ['renamed', 50, 1250],
        // From the rename's start.
        ['arrived', 60, 1260],
      ],
    );
    const f = stepTable(changes, 'floor');
    // No `decided` on the bare pipeline; its arrival comes before its rename returns.
    assert.deepEqual(
      f.map((r) => [r.step, r.fromPrev, r.fromWrite]),
      [
        ['watched', 90, 90],
        ['read', 60, 150],
        ['send', 30, 180],
        ['received', 300, 480],
        ['decoded', 40, 520],
        ['durable', 280, 800],
        ['checked', 5, 805],
        ['renamed', 295, 1100],
        ['arrived', 75, 880],
      ],
    );
  });

  test('a heartbeat received before the change frame is not taken for it; the peer\'s own echo read is not the origin\'s', () => {
    const marks = run('entangled', 4, 0, ENTANGLED);
    // A heartbeat on the peer between the send and the change frame, and the peer's read of its own rename.
    const t = 3 * 50e6;
    marks.push({ ns: t + 400_000, step: 'received', proc: 'entangled.11' }, { ns: t + 1_300_000, step: 'read', proc: 'entangled.11' });
    marks.sort((a, b) => a.ns - b.ns);
    const [c] = changesOf(marks);
    assert.equal((c!.at.received! - c!.at.write!) / 1000, 600);
    assert.equal((c!.at.read! - c!.at.write!) / 1000, 200);
  });

  test('a change the other side\'s processes carried half-way is not counted', () => {
    const marks = run('entangled', 4, 0, ENTANGLED).map((m) => (m.ns >= 3 * 50e6 && m.step === 'decoded' ? { ...m, proc: 'floor.21' } : m));
    assert.equal(changesOf(marks).length, 0);
  });

  test('GC pauses of the change\'s own processes between its write and its arrival are counted against it', () => {
    const marks = run('entangled', 6, 0, ENTANGLED);
    // Change 4 (the first counted): a pause on the peer before the arrival; change 5: one after it;
    // change 6: one in a process that is not part of the pipeline.
    marks.push(
      { ns: 3 * 50e6 + 900_000, step: 'gc 450', proc: 'entangled.11' },
      { ns: 4 * 50e6 + 1_300_000, step: 'gc 300', proc: 'entangled.11' },
      { ns: 5 * 50e6 + 500_000, step: 'gc 700', proc: 'bench.1' },
    );
    marks.sort((a, b) => a.ns - b.ns);
    const changes = changesOf(marks);
    assert.deepEqual(changes.map((c) => c.gcUs), [450, 0, 0]);
    assert.deepEqual(gcShare(changes, 'entangled'), { n: 3, withGc: 1, medianWith: 1260, medianWithout: 1260 });
  });

  test('the slowest share of a side: the changes with the longest write → arrival, at least one', () => {
    const marks = run('entangled', 8, 0, ENTANGLED);
    // Change 6's fsync takes 3 ms longer: everything after it moves.
    const slow = marks.map((m) => (m.ns >= 5 * 50e6 && m.ns < 6 * 50e6 && ['durable', 'checked', 'renamed', 'arrived'].includes(m.step) ? { ...m, ns: m.ns + 3e6 } : m));
    const changes = changesOf(slow.sort((a, b) => a.ns - b.ns));
    const [worst] = slowest(changes, 'entangled', 0.05);
    assert.equal(slowest(changes, 'entangled', 0.05).length, 1);
    assert.equal((worst!.at.arrived! - worst!.at.write!) / 1000, 4260);
    assert.equal(stepTable([worst!], 'entangled').find((r) => r.step === 'durable')!.fromPrev, 3300);
    assert.equal(slowest(changes, 'floor', 0.05).length, 0);
  });
});
