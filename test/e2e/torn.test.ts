import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineCluster, md5, md5File, patchConfig, runCli, startCluster, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';

// "No torn version leaves a node" (CONTRACT.md, "Replication behaviour"; issue 19): real
// processes, real shell redirects, the peer's onApply recording what it was given.

const FILES = { 'app.conf': 'listen 80\n', 'empty.conf': 'soon nothing\n', 'slow.conf': 'slow 0\n', 'inherit.conf': 'inherit 0\n', 'quick.conf': 'quick 0\n' };

/** Runs `script` with sh and resolves when it exits 0. */
function sh(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', script], { stdio: 'ignore' });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sh -c ${script}: exit ${code}`))));
  });
}

/** The sizes an onApply recorded, one per version applied. */
function sizes(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
}

const published = (n: RunningNode, name: string) => n.logs.filter((l) => l.msg === 'local change published' && l.path === n.file(name));

describe('no torn version leaves a node', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;
  /** Where beta's onApply records the size of each version of `name` it applied. */
  const sizesOf = (name: string) => path.join(root, `${name}.sizes`);

  before(async () => {
    const cluster = await defineCluster({ files: FILES });
    root = cluster.root;
    const [alpha, beta] = cluster.nodes as [(typeof cluster.nodes)[number], (typeof cluster.nodes)[number]];
    const recorded = (name: string) => ({ path: name, onApply: `stat -c %s "$ENTANGLED_PATH" >> ${sizesOf(name)}` });
    // alpha: settleMs 0 (the default) at the top, slow.conf its own 500.
    patchConfig(alpha, (c) => (c.files = ['app.conf', 'empty.conf', { path: 'slow.conf', settleMs: 500 }, 'inherit.conf', 'quick.conf']));
    // beta: settleMs 500 at the top, quick.conf its own 0; it records what it applies from alpha.
    patchConfig(beta, (c) => {
      c.settleMs = 500;
      c.files = [recorded('app.conf'), recorded('empty.conf'), recorded('slow.conf'), 'inherit.conf', { path: 'quick.conf', settleMs: 0 }];
    });
    [a, b] = (await startCluster([alpha, beta])) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  it('a shell redirect (`{ sleep 0.05; cat new; } > file`) never reaches the peer empty: its onApply sees only full versions', async () => {
    const want: number[] = [];
    for (let round = 1; round <= 5; round++) {
      const content = `listen ${8000 + round}\nworkers ${round}\n${'#'.repeat(round * 7)}\n`;
      const next = path.join(root, 'new.conf');
      writeFileSync(next, content);
      await sh(`{ sleep 0.05; cat ${next}; } > ${a.file('app.conf')}`);
      await waitFor(`beta holds round ${round}`, () => md5File(b.file('app.conf')) === md5(content), 8000, 5);
      want.push(content.length);
      await waitFor(`beta's onApply ran for round ${round}`, () => sizes(sizesOf('app.conf')).length >= round, 8000, 5);
    }
    assert.deepEqual(sizes(sizesOf('app.conf')), want, 'the sizes beta\'s onApply saw');
    assert.deepEqual(published(a, 'app.conf').map((l) => l.size), want, 'what alpha sent');
    await a.waitStatus('app.conf', 'aligned');
  });

  it('`: > file` replicates the empty file once it has stayed empty 250 ms, not before', async () => {
    const started = performance.now();
    await sh(`: > ${a.file('empty.conf')}`);
    await waitFor('beta holds the empty file', () => statSync(b.file('empty.conf')).size === 0, 8000, 2);
    const took = performance.now() - started;
    assert.ok(took >= 250, `the empty file reached beta ${took.toFixed(1)} ms after the truncation`);
    await waitFor('beta\'s onApply ran', () => sizes(sizesOf('empty.conf')).length >= 1, 8000, 5);
    assert.deepEqual(sizes(sizesOf('empty.conf')), [0]);
    assert.deepEqual(published(a, 'empty.conf').map((l) => l.size), [0]);
    await a.waitStatus('empty.conf', 'aligned');
    await b.waitStatus('empty.conf', 'aligned');
  });

  /** A slow in-place writer: truncates `file`, then appends a line every 50 ms for 300 ms; returns the content it leaves. */
  async function slowWrite(file: string, tag: string): Promise<string> {
    await sh(`for i in 1 2 3 4 5 6; do echo "${tag} chunk $i"; sleep 0.05; done > ${file}`);
    return [1, 2, 3, 4, 5, 6].map((i) => `${tag} chunk ${i}\n`).join('');
  }

  it('a slow writer under a file\'s own settleMs 500 (top-level 0) sends one version, the one it leaves', async () => {
    const content = await slowWrite(a.file('slow.conf'), 'slow');
    // The writer is done; its version is held 500 ms more. Meanwhile alpha reports (and its
    // digests carry) the version before, so both nodes still show the file aligned.
    const held = published(a, 'slow.conf').length === 0 && a.logs.some((l) => l.path === a.file('slow.conf') && /^(local change held|file became empty)/.test(l.msg));
    const [sa, sb] = await Promise.all([a.state(), b.state()]);
    if (published(a, 'slow.conf').length === 0) {
      assert.ok(held, 'alpha read the slow writer\'s file and held it');
      const fa = sa.files.find((f) => f.name === 'slow.conf')!;
      const fb = sb.files.find((f) => f.name === 'slow.conf')!;
      assert.deepEqual([fa.md5, fa.status, fb.peers.alpha!.md5, fb.status], [md5(FILES['slow.conf']), 'aligned', md5(FILES['slow.conf']), 'aligned'], 'while held');
    }
    await waitFor('beta holds the slow writer\'s content', () => md5File(b.file('slow.conf')) === md5(content), 8000, 5);
    await waitFor('beta\'s onApply ran', () => sizes(sizesOf('slow.conf')).length >= 1, 8000, 5);
    await a.waitStatus('slow.conf', 'aligned');
    assert.deepEqual(published(a, 'slow.conf').map((l) => l.md5), [md5(content)], 'alpha sent one version');
    assert.deepEqual(sizes(sizesOf('slow.conf')), [content.length], 'beta applied one version');
  });

  it('the top-level settleMs 500 holds a file without its own; a file\'s own settleMs 0 overrides it', async () => {
    // On beta: inherit.conf takes the top-level 500, quick.conf its own 0.
    const [inherit, quick] = await Promise.all([slowWrite(b.file('inherit.conf'), 'inherit'), slowWrite(b.file('quick.conf'), 'quick')]);
    await waitFor('alpha holds both writers\' content', () => md5File(a.file('inherit.conf')) === md5(inherit) && md5File(a.file('quick.conf')) === md5(quick), 8000, 5);
    await b.waitStatus('inherit.conf', 'aligned');
    await b.waitStatus('quick.conf', 'aligned');
    assert.deepEqual(published(b, 'inherit.conf').map((l) => l.md5), [md5(inherit)], 'beta sent inherit.conf once');
    const quickSent = published(b, 'quick.conf');
    assert.ok(quickSent.length > 1, `quick.conf (settleMs 0) is sent as it is written, not once it is quiet: ${quickSent.length} version(s) sent`);
    assert.ok(quickSent.every((l) => l.size !== 0), 'an empty quick.conf was sent');
  });

  it('a reload takes up a new top-level settleMs', async () => {
    patchConfig(a.def, (c) => (c.settleMs = 500));
    const line = await a.hup();
    assert.equal(line.msg, 'configuration reloaded', JSON.stringify(line));
    assert.deepEqual(line.settings, ['settleMs']);
    const before = published(a, 'inherit.conf').length;
    const content = await slowWrite(a.file('inherit.conf'), 'reloaded');
    await waitFor('beta holds the slow writer\'s content', () => md5File(b.file('inherit.conf')) === md5(content), 8000, 5);
    await a.waitStatus('inherit.conf', 'aligned');
    assert.deepEqual(published(a, 'inherit.conf').slice(before).map((l) => l.md5), [md5(content)], 'alpha sent one version');
  });
});

describe('settleMs in the config', () => {
  const cases: { description: string; patch: (c: Record<string, unknown>) => void; line: RegExp }[] = [
    { description: 'a negative top-level settleMs', patch: (c) => (c.settleMs = -5), line: /^settleMs: must be 0 or more/ },
    { description: 'a top-level settleMs that is not a number', patch: (c) => (c.settleMs = 'slow'), line: /^settleMs: must be a number of milliseconds/ },
    { description: 'a file\'s settleMs over a minute', patch: (c) => (c.files = ['app.conf', { path: 'other.conf', settleMs: 90_000 }]), line: /^files\[1\]\.settleMs: must be at most 60000/ },
    { description: 'a file\'s settleMs in fractions of a millisecond', patch: (c) => (c.files = [{ path: 'app.conf', settleMs: 0.5 }]), line: /^files\[0\]\.settleMs: must be a whole number/ },
  ];
  let root: string;
  let def: Awaited<ReturnType<typeof defineCluster>>['nodes'][number];
  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': 'x\n', 'other.conf': 'y\n' } });
    root = cluster.root;
    def = cluster.nodes[0]!;
  });
  after(() => stopAll([], root));

  for (const c of cases) {
    it(`${c.description}: exit 2, one line naming the key, for check and for start`, async () => {
      const original = readFileSync(def.configPath, 'utf8');
      patchConfig(def, c.patch);
      try {
        for (const cmd of ['check', 'start']) {
          const r = await runCli([cmd, '--config', def.configPath]);
          assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
          const lines = r.stderr.trim().split('\n');
          assert.equal(lines.length, 1, `${cmd}: one line: ${r.stderr}`);
          assert.match(lines[0]!.replace(/^entangled: /, ''), c.line);
        }
      } finally {
        writeFileSync(def.configPath, original);
      }
    });
  }
});
