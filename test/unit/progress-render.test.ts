import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { statusLines } from '../../src/cli/operate.js';
import { percent, pickTransfer, progressLine } from '../../src/cli/progress.js';
import { painter, visibleLength } from '../../src/cli/render.js';
import type { NodeState, TransferView } from '../../src/node/view.js';
import type { Case } from '../helpers/table.js';

const MiB = 1048576;
const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const plain = painter({ isTTY: false } as NodeJS.WriteStream);

/** A node with `peers` peers; big.bin is moving in chunks from the first (`transfer`), app.conf is aligned. */
function stateWith(peers: string[], transfer: TransferView | undefined): NodeState {
  const peerView = (i: number) => (i === 0 ? { md5: B, status: 'pending' as const, ...(transfer ? { transfer } : {}) } : { md5: A, status: 'aligned' as const });
  return {
    node: 'alpha',
    reconcile: 'manual',
    peers: peers.map((name) => ({ name, connected: true, lastSeen: '2026-11-23T01:02:03.000Z' })),
    files: [
      { name: 'big.bin', path: '/srv/big.bin', status: 'pending', md5: A, size: 320 * MiB, mtime: '2026-11-23T01:00:00.000Z', error: null, peers: Object.fromEntries(peers.map((n, i) => [n, peerView(i)])) },
      { name: 'app.conf', path: '/etc/app/app.conf', status: 'aligned', md5: A, size: 3, mtime: '2026-11-23T01:00:00.000Z', error: null, peers: Object.fromEntries(peers.map((n) => [n, { md5: A, status: 'aligned' as const }])) },
    ],
  };
}

const MESH = ['beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
const T: TransferView = { direction: 'in', bytes: 134 * MiB, total: 320 * MiB };

describe('percent(transfer)', () => {
  const cases: Case<Pick<TransferView, 'bytes' | 'total'>, string>[] = [
    { description: 'nothing yet', given: { bytes: 0, total: 10 }, expect: '0%' },
    { description: 'rounded down: never 100% before the end', given: { bytes: 999, total: 1000 }, expect: '99%' },
    { description: 'all of it', given: { bytes: 1000, total: 1000 }, expect: '100%' },
    { description: 'a share', given: { bytes: 134 * MiB, total: 320 * MiB }, expect: '41%' },
    { description: 'an empty total counts as done', given: { bytes: 0, total: 0 }, expect: '100%' },
  ];
  for (const c of cases) test(c.description, () => assert.equal(percent(c.given), c.expect));
});

describe('entangled status shows a transfer\'s share in the peer\'s cell', () => {
  test('two nodes, 120 and 80 columns: the wide table, the share after the peer\'s md5', () => {
    for (const width of [120, 80]) {
      const lines = statusLines(stateWith(['beta'], T), plain, width).join('\n').split('\n');
      assert.ok(lines.some((l) => /^big\.bin\s+pending\s+aaaaaaaaaa\s+pending bbbbbbbbbb 41%$/.test(l)), `${width}:\n${lines.join('\n')}`);
      assert.ok(lines.some((l) => /^app\.conf\s+aligned\s+aaaaaaaaaa\s+aligned aaaaaaaaaa$/.test(l)));
      for (const l of lines) assert.ok(visibleLength(l) <= width, `${width}: ${l}`);
    }
  });

  test('no transfer: no share', () => {
    const lines = statusLines(stateWith(['beta'], undefined), plain, 120).join('\n').split('\n');
    assert.ok(!lines.some((l) => l.includes('%')), lines.join('\n'));
  });

  test('a full mesh at 120 and 80 columns: the compact table, the share instead of the peer\'s mark', () => {
    for (const width of [120, 80]) {
      const lines = statusLines(stateWith(MESH, T), plain, width).join('\n').split('\n');
      const row = lines.find((l) => l.startsWith('big.bin '));
      assert.ok(row, lines.join('\n'));
      assert.match(row, /^big\.bin\s+pending\s+aaaaaaaaaa\s+41%\s+=(\s+=){7}$/, `${width}`);
      for (const l of lines) assert.ok(visibleLength(l) <= width, `${width}: ${l}`);
    }
  });

  test('the share is coloured like pending on a terminal, and its width ignores the colour', () => {
    const noColor = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      const lines = statusLines(stateWith(['beta'], T), painter({ isTTY: true } as NodeJS.WriteStream), 80).join('\n').split('\n');
      assert.ok(lines.some((l) => l.includes('\u001b[34m41%\u001b[0m')), lines.join('\n'));
    } finally {
      if (noColor !== undefined) process.env.NO_COLOR = noColor;
    }
  });
});

describe('the force progress bar', () => {
  test('fits the width (one column spare), with the share and the sizes', () => {
    for (const width of [60, 80, 120, 200]) {
      const line = progressLine('big.bin', 'beta', T, width);
      assert.equal(line.length, width - 1, `${width}: ${line}`);
      assert.match(line, /^big\.bin from beta \[#+-+\]  41% 134\/320 MiB$/);
    }
  });

  test('a narrow terminal drops the sizes, then the peer', () => {
    assert.match(progressLine('big.bin', 'beta', T, 40), /^big\.bin from beta \[#+-+\]  41%$/);
    assert.match(progressLine('big.bin', 'beta', T, 31), /^big\.bin \[#+-+\]  41%$/);
    for (const width of [31, 40, 45]) assert.ok(progressLine('big.bin', 'beta', T, width).length <= width - 1, `${width}`);
  });

  test('the bar is filled in proportion', () => {
    const line = progressLine('f', 'beta', { direction: 'out', bytes: 50, total: 100 }, 80);
    const [, done, left] = /\[(#*)(-*)\]/.exec(line)!;
    assert.equal(done!.length, left!.length);
    assert.match(line, /^f to beta /);
    assert.match(progressLine('f', 'beta', { direction: 'in', bytes: 0, total: 100 }, 80), /\[-+\]/);
    assert.match(progressLine('f', 'beta', { direction: 'in', bytes: 100, total: 100 }, 80), /\[#+\] 100%/);
  });

  test('a long name is shortened, keeping its end', () => {
    const name = `/very/long/path/${'x'.repeat(200)}/big.bin`;
    const line = progressLine(name, 'beta', T, 80);
    assert.ok(line.length <= 79, `${line.length}`);
    assert.match(line, /^….*big\.bin from beta \[#+-*\]/);
  });

  test('pickTransfer follows the files asked for (by name or path) and the peer', () => {
    const st = stateWith(['beta', 'gamma'], T);
    assert.deepEqual(pickTransfer(st.files, {}), { file: 'big.bin', peer: 'beta', transfer: T });
    assert.equal(pickTransfer(st.files, { files: ['app.conf'] }), null);
    assert.equal(pickTransfer(st.files, { files: ['/srv/big.bin'] })?.file, 'big.bin');
    assert.equal(pickTransfer(st.files, { peer: 'gamma' }), null);
    assert.equal(pickTransfer(stateWith(['beta'], undefined).files, {}), null);
  });
});

describe('entangled status lists errors under the tables', () => {
  test('the file\'s own error, then each peer\'s reported error, named by file and peer', () => {
    const st = stateWith(['beta', 'gamma'], undefined);
    const files = st.files.map((f, i) =>
      i === 0 ? { ...f, error: 'cannot read listed file', peers: { ...f.peers, gamma: { md5: B, status: 'pending' as const, error: 'EPERM: cannot keep the owner of /srv/big.bin' } } } : f,
    );
    const lines = statusLines({ ...st, files }, plain, 120);
    const tail = lines.slice(lines.indexOf('') + 1).join('\n').split('\n').slice(-2);
    assert.deepEqual(tail, ['big.bin: cannot read listed file', 'big.bin at gamma: EPERM: cannot keep the owner of /srv/big.bin']);
  });

  test('no error: no lines for it', () => {
    const lines = statusLines(stateWith(['beta'], undefined), plain, 120).join('\n');
    assert.doesNotMatch(lines, / at beta: /);
  });
});
