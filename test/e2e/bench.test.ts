import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, defineCluster, md5, md5File, runCli, startCluster, startNode, stopAll, tempDir, waitConnected, waitFor, type RunningNode } from '../helpers/cluster.js';
import { EventStream } from '../../src/cli/event-stream.js';
import { buildNetns, defineNsPair, removeStaleNamespaces, tearDown, whyNoNetns, type Netns } from '../helpers/netns.js';

/** Why this bench cannot run in a mount namespace of its own (unshare, as root), or null. */
function whyNoMountNs(): string | null {
  if (process.getuid?.() !== 0) return 'not root: a mount namespace needs CAP_SYS_ADMIN';
  const r = spawnSync('unshare', ['--mount', 'sh', '-c', 'mount -t tmpfs none /mnt'], { encoding: 'utf8' });
  return r.status === 0 ? null : `no mount namespace: ${(r.error?.message ?? r.stderr).trim()}`;
}

interface BenchJson {
  node: string;
  file: string;
  samples: number;
  series: { peer: string; measure: string; lost: number; summary: { count: number; p50: number; p95: number; p99: number; max: number; min: number } | null; samplesMs: (number | null)[] }[];
}

/** Every series has `n` samples, none lost, each a time above 0 and below the timeout; the summary is ordered. */
function assertSane(doc: BenchJson, peers: string[], n: number): void {
  const want = peers.flatMap((p) => [`${p} round-trip`, `${p} one-way`]).sort();
  assert.deepEqual(doc.series.map((s) => `${s.peer} ${s.measure}`).sort(), want);
  for (const s of doc.series) {
    assert.equal(s.samplesMs.length, n, `${s.peer} ${s.measure}: ${n} samples`);
    assert.equal(s.lost, 0);
    for (const v of s.samplesMs) assert.ok(typeof v === 'number' && v > 0 && v < 5000, `${s.peer} ${s.measure}: ${v} ms`);
    const m = s.summary!;
    assert.equal(m.count, n);
    assert.ok(m.min <= m.p50 && m.p50 <= m.p95 && m.p95 <= m.p99 && m.p99 <= m.max, JSON.stringify(m));
  }
}

/** A file's md5 and mtime on disk, to show the bench did not touch it. */
const fingerprint = (p: string) => ({ md5: md5File(p), mtimeMs: statSync(p).mtimeMs });

/** Both nodes report `name` aligned on the same md5, which is the bytes on both disks. */
async function assertAligned(nodes: RunningNode[], name: string): Promise<string> {
  const md5s = new Set<string | null>();
  for (const n of nodes) {
    const f = await n.waitStatus(name, 'aligned');
    assert.ok(Object.values(f.peers).every((p) => p.status === 'aligned' && p.md5 === f.md5));
    assert.equal(md5File(n.file(name)), f.md5);
    md5s.add(f.md5);
  }
  assert.equal(md5s.size, 1, `${name}: one version everywhere`);
  return [...md5s][0]!;
}

describe('entangled bench on loopback', () => {
  let a: RunningNode;
  let b: RunningNode;
  let running: RunningNode[] = [];
  let root: string;

  before(async () => {
    const def = await defineCluster({
      files: { 'probe.conf': 'probe\n', 'other.conf': 'other\n', 'split.conf': 'common\n', 'events.conf': 'events\n' },
      contents: { alpha: { 'split.conf': 'alpha split\n' }, beta: { 'split.conf': 'beta split\n' } },
    });
    root = def.root;
    running = await startCluster(def.nodes);
    [a, b] = running as [RunningNode, RunningNode];
    await a.waitStatus('probe.conf', 'aligned');
    await a.waitStatus('split.conf', 'split-brain');
  });

  after(() => stopAll(running, root));

  it('times round trip and one way per peer, writes every sample as JSON, leaves the probe aligned and no other file touched', async () => {
    const others = [a, b].map((n) => fingerprint(n.file('other.conf')));
    const json = path.join(root, 'bench.json');
    const r = await runCli(['bench', '--api', a.api, '--file', 'probe.conf', '--samples', '20', '--gap', '10', '--peer-api', `beta=${b.api}`, '--json', json], 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^entangled bench: probe\.conf on alpha .*20 samples of 1 KiB, 10 ms apart$/m);
    assert.match(r.stdout, /^peer +measure +samples +lost +p50 ms +p95 ms +p99 ms +max ms$/m);
    assert.match(r.stdout, /^beta +round trip +20 +0 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+$/m);
    assert.match(r.stdout, /^beta +one way +20 +0 +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+$/m);
    assert.match(r.stdout, /^beta, round trip:\n +<= [\d.]+ ms \|#+ +\d+$/m);

    const doc = JSON.parse(readFileSync(json, 'utf8')) as BenchJson;
    assert.equal(doc.node, 'alpha');
    assert.equal(doc.file, 'probe.conf');
    assertSane(doc, ['beta'], 20);

    // The last of the 20 versions, 1 KiB, everywhere; the other file untouched on both nodes.
    const last = await assertAligned([a, b], 'probe.conf');
    const bytes = readFileSync(a.file('probe.conf'));
    assert.equal(bytes.length, 1024);
    assert.match(bytes.toString('utf8'), /^sample 19 [0-9a-f]{12}\n[0-9a-f]+\n/);
    assert.equal(md5(bytes), last);
    assert.deepEqual([a, b].map((n) => fingerprint(n.file('other.conf'))), others);
  });

  it('GET /api/1/events?settle=0 (what the bench follows) sends every step of a change as it happens; a bad settle is 400', async () => {
    const events: { md5: string | null; beta: string }[] = [];
    const stream = await EventStream.open({ url: a.api, token: undefined }, '/api/1/events?settle=0', (e) => {
      const f = JSON.parse(e.data) as { name?: string; md5: string | null; peers: Record<string, { status: string }> };
      if (e.event === 'file' && f.name === 'events.conf') events.push({ md5: f.md5, beta: f.peers.beta!.status });
    });
    try {
      for (let i = 0; i < 5; i++) {
        const v = `events ${i}\n`;
        writeFileSync(a.file('events.conf'), v);
        await waitFor(`version ${i} aligned`, () => events.some((e) => e.md5 === md5(v) && e.beta === 'aligned'));
        // Nothing coalesced: the peer's pending state (a round trip before its confirmation) was sent too.
        const mine = events.filter((e) => e.md5 === md5(v)).map((e) => e.beta);
        assert.equal(mine[0], 'pending', `version ${i}: ${mine.join(' → ')}`);
        assert.equal(mine.at(-1), 'aligned');
      }
    } finally {
      stream.close();
    }
    for (const q of ['settle=abc', 'settle=-1', 'settle=5000', 'settle=1.5', 'other=1']) {
      const res = await fetch(`${a.api}/api/1/events?${q}`);
      assert.equal(res.status, 400, q);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'BAD_REQUEST');
    }
  });

  it('a file the node does not list is exit 2 with one line, and writes nothing', async () => {
    const before = fingerprint(a.file('probe.conf'));
    const r = await runCli(['bench', '--api', a.api, '--file', 'nope.conf', '--samples', '3']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'entangled: --file: node alpha does not list "nope.conf" (it lists probe.conf, other.conf, split.conf, events.conf)\n');
    assert.equal(r.stdout, '');
    assert.deepEqual(fingerprint(a.file('probe.conf')), before);
  });

  it('a split-brain file is exit 1 with one line naming the peer, and neither copy is written', async () => {
    const before = [a, b].map((n) => fingerprint(n.file('split.conf')));
    const r = await runCli(['bench', '--api', a.api, '--file', 'split.conf', '--samples', '3', '--peer-api', `beta=${b.api}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^entangled: not aligned: split\.conf on alpha: split-brain with beta; the bench measures only a file aligned everywhere\n$/);
    assert.equal(r.stdout, '');
    assert.deepEqual([a, b].map((n) => fingerprint(n.file('split.conf'))), before);
    assert.equal(readFileSync(a.file('split.conf'), 'utf8'), 'alpha split\n');
    assert.equal(readFileSync(b.file('split.conf'), 'utf8'), 'beta split\n');
  });

  it('run where the node\'s file is not (another host\'s filesystem, a mount namespace here) is exit 1 with one line, and writes nothing', { skip: whyNoMountNs() ?? false }, async () => {
    const before = fingerprint(a.file('probe.conf'));
    const bench = (setup: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        // A tmpfs over alpha's folder, seen only by this bench: alpha's own view is untouched.
        const script = `mount -t tmpfs none "$0" && ${setup} exec "$1" "$2" bench --api "$3" --file probe.conf --samples 3`;
        const proc = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, a.def.dir, process.execPath, CLI, a.api], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        proc.stderr.on('data', (d) => (stderr += d));
        proc.once('exit', (code) => resolve({ code, stderr }));
      });
    const absent = await bench('');
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, new RegExp(`^entangled: cannot read ${a.file('probe.conf')} here \\(ENOENT: .*\\): the bench writes alpha's copy, so it must run on alpha's host\n$`));
    const other = await bench('echo elsewhere > "$0/probe.conf" &&');
    assert.equal(other.code, 1);
    assert.match(other.stderr, new RegExp(`^entangled: ${a.file('probe.conf')} on this host is not alpha's copy \\(md5 ${md5('elsewhere\n')}, alpha reports [0-9a-f]{32}\\): run the bench on alpha's host\n$`));
    assert.deepEqual(fingerprint(a.file('probe.conf')), before);
  });

  it('bad usage is exit 2 with one line; an unreachable node is exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['--samples', '0'], /--samples: "0" is not a whole number from 1 to 100000/],
      [['--gap', '-5'], /--gap/],
      [['--size', '10'], /--size: "10" is not a whole number from 64/],
      [['--peer-api', 'beta'], /--peer-api: "beta" is not NAME=URL/],
      [['--peer-api', 'beta=ftp://x'], /--peer-api beta: "ftp:\/\/x" is not an http\(s\) URL/],
      [['--peer-api', `beta=${b.api}`, '--peer-api', `beta=${b.api}`], /--peer-api: beta is named twice/],
      [['--peer-api', `gamma=${b.api}`], /--peer-api gamma: node alpha has no peer gamma \(its peers: beta\)/],
      [['--peer-api', `beta=${a.api}`], /--peer-api beta=.*: that API is node alpha's/],
      [['--json', '/nonexistent/dir/x.json'], /--json: cannot write a file in \/nonexistent\/dir/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [extra, message] of cases) {
      const r = await runCli(['bench', '--api', a.api, '--file', 'probe.conf', ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
    const missing = await runCli(['bench', '--api', a.api]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /bench needs --file NAME/);
    const gone = await runCli(['bench', '--api', 'http://127.0.0.1:1', '--file', 'probe.conf']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^entangled: cannot reach the API at http:\/\/127\.0\.0\.1:1 \(.*\)\n$/);
  });

  /** Starts a bench on alpha; once its first version is on alpha's disk, `freeze` runs; resolves with the bench's exit. */
  async function benchWhile(args: string[], freeze: () => Promise<void>): Promise<{ code: number | null | 'hung'; stdout: string; stderr: string }> {
    const start = md5File(a.file('probe.conf'));
    const proc = spawn(process.execPath, [CLI, 'bench', '--api', a.api, '--file', 'probe.conf', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    try {
      await waitFor('the bench writes', () => md5File(a.file('probe.conf')) !== start, 10_000, 2);
      await freeze();
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000).unref())]);
      return { code, stdout, stderr };
    } finally {
      proc.kill('SIGKILL');
      b.proc.kill('SIGCONT');
    }
  }

  it('samples a peer does not confirm in --timeout are lost: counted, reported, exit 1; the probe still ends aligned', async () => {
    // Frozen for less than peerTimeoutMs (1000) and than half of it (a stall): beta is never declared lost.
    const r = await benchWhile(['--samples', '40', '--gap', '20', '--timeout', '100'], async () => {
      b.proc.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 300));
      b.proc.kill('SIGCONT');
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^entangled: samples lost \(no confirmation within 100 ms\): beta round-trip \d+\n$/);
    const lost = Number(/^beta +round trip +(\d+) +(\d+) /m.exec(r.stdout)![2]);
    assert.ok(lost >= 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^beta +round trip +${40 - lost} +${lost} `, 'm'));
    await assertAligned([a, b], 'probe.conf');
    assert.match(readFileSync(b.file('probe.conf'), 'utf8'), /^sample 39 /);
  });

  it('a peer that goes out of reach mid-run stops the bench at once: exit 1 with one line, what was measured is shown', async () => {
    const r = await benchWhile(['--samples', '200', '--gap', '20', '--timeout', '300'], async () => {
      b.proc.kill('SIGSTOP');
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, 'entangled: beta went out of reach of alpha during the bench\n');
    assert.match(r.stdout, /^beta +round trip +\d+ +\d+ /m);
    // With reconcile: manual the daemons may call the version written while beta was frozen a
    // split-brain (the bench does not decide that); a new change on alpha settles it.
    await waitConnected(a, 15_000);
    writeFileSync(a.file('probe.conf'), 'probe after the freeze\n');
    await waitFor('beta takes the new probe.conf', () => md5File(b.file('probe.conf')) === md5('probe after the freeze\n'), 10_000);
    await assertAligned([a, b], 'probe.conf');
  });
});

describe('entangled bench with api.token', () => {
  it('sends --token (or $ENTANGLED_TOKEN) to every API it follows; without it, exit 1 with one line', async () => {
    const token = 'bench-secret';
    const { root, nodes } = await defineCluster({ files: { 'probe.conf': 'probe\n' }, token });
    const running = await startCluster(nodes, { token });
    try {
      const [a, b] = running as [RunningNode, RunningNode];
      await a.waitStatus('probe.conf', 'aligned');
      const args = ['bench', '--api', a.api, '--file', 'probe.conf', '--samples', '3', '--gap', '10', '--peer-api', `beta=${b.api}`];
      const ok = await runCli([...args, '--token', token], 30_000);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^beta +one way +3 +0 /m);
      const env = await runCli(args, 30_000, { ENTANGLED_TOKEN: token });
      assert.equal(env.code, 0, env.stderr);
      const none = await runCli(args, 30_000, { ENTANGLED_TOKEN: '' });
      assert.equal(none.code, 1);
      assert.equal(none.stderr, `entangled: the API at ${a.api}: missing "Authorization: Bearer <token>" (give the node's api.token with --token T or in $ENTANGLED_TOKEN)\n`);
    } finally {
      await stopAll(running, root);
    }
  });
});

type Net = Netns<'a' | 'b'>;
const skip = whyNoNetns();
if (skip) console.log(`bench across namespaces skipped: ${skip}`);

describe('entangled bench across two network namespaces, run from outside both', () => {
  let net: Net;
  let root: string;
  const running: RunningNode[] = [];

  before(() => {
    if (skip) return;
    removeStaleNamespaces();
    net = buildNetns(['a', 'b'], [['a', 'b']]);
    root = tempDir('entangled-bench-ns-');
  });

  after(() => tearDown(running, net, root));

  it('measures both peers\' figures over the veth link, the probe ends aligned, the other file untouched', { timeout: 120_000, skip: skip ?? false }, async (t) => {
    const [aDef, bDef] = defineNsPair(net, root, 7300, { 'probe.conf': 'probe\n', 'other.conf': 'other\n' });
    const alpha = await startNode(aDef, { netns: net.ns.a });
    running.push(alpha);
    const beta = await startNode(bDef, { netns: net.ns.b });
    running.push(beta);
    await waitConnected(alpha, 15_000);
    await waitConnected(beta, 15_000);
    await alpha.waitStatus('probe.conf', 'aligned', 10_000);
    await beta.waitStatus('probe.conf', 'aligned', 10_000);
    const others = [alpha, beta].map((n) => fingerprint(n.file('other.conf')));

    const json = path.join(root, 'bench.json');
    // This process is in the root namespace: it reaches each API over its own veth, never the cluster link.
    const r = await runCli(['bench', '--api', alpha.api, '--file', 'probe.conf', '--samples', '20', '--gap', '10', '--peer-api', `beta=${beta.api}`, '--json', json], 60_000);
    for (const line of r.stdout.split('\n')) t.diagnostic(line);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^entangled bench: probe\\.conf on alpha \\(http://${net.api.a.replace(/\./g, '\\.')}:7300\\)`, 'm'));
    assert.match(r.stdout, /^beta +round trip +20 +0 /m);
    assert.match(r.stdout, /^beta +one way +20 +0 /m);
    assertSane(JSON.parse(readFileSync(json, 'utf8')) as BenchJson, ['beta'], 20);
    await assertAligned([alpha, beta], 'probe.conf');
    assert.match(readFileSync(beta.file('probe.conf'), 'utf8'), /^sample 19 /);
    assert.deepEqual([alpha, beta].map((n) => fingerprint(n.file('other.conf'))), others);
  });
});
