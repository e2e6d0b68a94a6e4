import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  defineCluster,
  md5,
  md5File,
  runCli,
  startCluster,
  startNode,
  stopAll,
  waitConnected,
  waitFor,
  type RunningNode,
} from '../helpers/cluster.js';

const read = (n: RunningNode, f: string) => readFileSync(n.file(f), 'utf8');

/** Replaces `file` by a rename, as an editor saves: never seen empty or half written. */
function save(file: string, content: string): void {
  writeFileSync(`${file}.save`, content);
  renameSync(`${file}.save`, file);
}

/** Waits until the node's journal (stateDir) records these agreed versions with its peer. */
async function waitJournal(n: RunningNode, agreed: Record<string, string>): Promise<void> {
  const file = path.join(n.def.dir, 'state', `${n.def.name}.journal.json`);
  await waitFor(`${n.def.name}'s journal`, () => {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { agreed: Record<string, Record<string, string>> };
    const peer = Object.values(doc.agreed)[0] ?? {};
    return Object.entries(agreed).every(([name, m]) => peer[name] === m);
  });
}

async function peerStatus(n: RunningNode, file: string): Promise<string | undefined> {
  const f = (await n.state()).files.find((x) => x.name === file);
  return f ? Object.values(f.peers)[0]?.status : undefined;
}

describe('split-brain', () => {
  it('found at bootstrap is preserved and reported by both nodes, then resolved by a new change', async () => {
    const { root, nodes } = await defineCluster({
      files: { 'one.conf': 'common\n', 'two.conf': 'common\n' },
      contents: { alpha: { 'one.conf': 'alpha one\n', 'two.conf': 'alpha two\n' }, beta: { 'one.conf': 'beta one\n', 'two.conf': 'beta two\n' } },
    });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      for (const n of [a, b]) {
        for (const f of ['one.conf', 'two.conf']) {
          const st = await n.waitStatus(f, 'split-brain');
          assert.equal(Object.values(st.peers)[0]!.status, 'split-brain');
          assert.equal(Object.values(st.peers)[0]!.md5, md5(read(n === a ? b : a, f)));
          // Never agreed: the copies differed from the start.
          assert.equal(Object.values(st.peers)[0]!.changed, null);
        }
        const line = await n.waitLog((l) => l.msg.startsWith('split-brain') && l.path === n.file('one.conf') && typeof l.peer === 'string', 'a split-brain line');
        assert.match(line.msg, /no agreement on record/);
      }
      // Preserved: several heartbeats later nothing was overwritten.
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(read(a, 'one.conf'), 'alpha one\n');
      assert.equal(read(b, 'one.conf'), 'beta one\n');
      assert.equal((await a.state()).files.find((f) => f.name === 'one.conf')!.status, 'split-brain');

      // A new change on alpha resolves one.conf; a new change on beta resolves two.conf.
      writeFileSync(a.file('one.conf'), 'alpha one, edited\n');
      await waitFor('beta takes alpha\'s new one.conf', () => md5File(b.file('one.conf')) === md5('alpha one, edited\n'));
      writeFileSync(b.file('two.conf'), 'beta two, edited\n');
      await waitFor('alpha takes beta\'s new two.conf', () => md5File(a.file('two.conf')) === md5('beta two, edited\n'));
      for (const n of [a, b]) {
        await n.waitStatus('one.conf', 'aligned');
        await n.waitStatus('two.conf', 'aligned');
      }
    } finally {
      await stopAll([a, b], root);
    }
  });

  it('a change the peer cannot take (both sides changed while in reach): each sender shows the peer\'s error until it is resolved', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, peerTimeoutMs: 3000 });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      await a.waitStatus('app.conf', 'aligned');
      await b.waitStatus('app.conf', 'aligned');
      // Beta paused (not long enough to be lost): alpha's change waits in its socket while
      // beta's own edit lands; each then refuses the other's change, which names v0.
      b.proc.kill('SIGSTOP');
      try {
        save(a.file('app.conf'), 'alpha\n');
        await a.waitHashed('app.conf', 'alpha\n');
        save(b.file('app.conf'), 'beta\n');
      } finally {
        b.proc.kill('SIGCONT');
      }
      const refused = (node: string, holds: string) =>
        `split-brain: ${node}'s copy is ${md5(holds)}, not ${md5('v0\n')} (the version this change replaces); neither copy was overwritten`;
      const atA = await a.waitPeerError('app.conf', 'beta', /^split-brain/, 2000);
      assert.equal(atA.error, refused('beta', 'beta\n'));
      const atB = await b.waitPeerError('app.conf', 'alpha', /^split-brain/, 2000);
      assert.equal(atB.error, refused('alpha', 'alpha\n'));
      await a.waitStatus('app.conf', 'split-brain');
      assert.equal(read(a, 'app.conf'), 'alpha\n');
      assert.equal(read(b, 'app.conf'), 'beta\n');

      // A new change on alpha resolves it: beta holds alpha's version, neither shows an error.
      save(a.file('app.conf'), 'alpha again\n');
      await a.waitStatus('app.conf', 'aligned');
      await b.waitStatus('app.conf', 'aligned');
      assert.equal((await a.state()).files[0]!.peers.beta!.error, undefined);
      assert.equal((await b.state()).files[0]!.peers.alpha!.error, undefined);
    } finally {
      await stopAll([a, b], root);
    }
  });

  for (const waitLost of [true, false]) {
    it(`manual: peer killed, change, peer restarted -> split-brain${waitLost ? '' : ' (changed before the loss was noticed)'}`, async () => {
      const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
      const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
      let b2: RunningNode | undefined;
      try {
        await b.stop('SIGKILL');
        if (waitLost) {
          await a.waitLog((l) => l.msg === 'peer lost' && l.peer === 'beta', 'peer lost');
          assert.equal(await peerStatus(a, 'app.conf'), 'unknown');
        }
        writeFileSync(a.file('app.conf'), 'v1 from alpha\n');
        await waitFor('alpha hashed its change', async () => (await a.state()).files[0]!.md5 === md5('v1 from alpha\n'));
        b2 = await startNode(nodes[1]!);
        await a.waitStatus('app.conf', 'split-brain');
        await b2.waitStatus('app.conf', 'split-brain');
        assert.equal(read(b2, 'app.conf'), 'v0\n');
        assert.equal(read(a, 'app.conf'), 'v1 from alpha\n');
        await a.waitLog((l) => l.msg === 'peer back' || l.msg === 'peer restarted', 'peer back');
      } finally {
        await stopAll(b2 ? [a, b2] : [a], root);
      }
    });
  }

  it('auto: peer killed, change, peer restarted -> the unchanged side fast-forwards', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n', 'other.conf': 'o0\n' }, reconcile: 'auto' });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    let b2: RunningNode | undefined;
    try {
      // A node killed before its journal records the agreement rightly treats the files as
      // never agreed (split-brain); this test is about the journal being used.
      for (const n of [a, b]) await waitJournal(n, { 'app.conf': md5('v0\n'), 'other.conf': md5('o0\n') });
      await b.stop('SIGKILL');
      await a.waitLog((l) => l.msg === 'peer lost', 'peer lost');
      writeFileSync(a.file('app.conf'), 'v1 from alpha\n');
      b2 = await startNode(nodes[1]!);
      await waitFor('beta fast-forwards', () => md5File(b2!.file('app.conf')) === md5('v1 from alpha\n'), 8000);
      for (const n of [a, b2]) {
        await n.waitStatus('app.conf', 'aligned');
        await n.waitStatus('other.conf', 'aligned');
      }
      assert.equal((await b2.state()).reconcile, 'auto');
      await b2.waitLog((l) => /fast-forwarded/.test(l.msg) && l.path === b2!.file('app.conf'), 'fast-forward line');
      // And the other way round: beta changes while alpha is down.
      await a.stop('SIGKILL');
      writeFileSync(b2.file('other.conf'), 'o1 from beta\n');
      const a2 = await startNode(nodes[0]!);
      try {
        await waitFor('alpha fast-forwards', () => md5File(a2.file('other.conf')) === md5('o1 from beta\n'), 8000);
        await a2.waitStatus('other.conf', 'aligned');
        await b2.waitStatus('other.conf', 'aligned');
      } finally {
        await a2.stop('SIGKILL');
      }
    } finally {
      await stopAll(b2 ? [a, b2] : [a], root);
    }
  });

  it('auto: both changed while apart -> split-brain, nothing overwritten', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, reconcile: 'auto' });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    let b2: RunningNode | undefined;
    try {
      for (const n of [a, b]) await waitJournal(n, { 'app.conf': md5('v0\n') });
      await b.stop('SIGKILL');
      writeFileSync(a.file('app.conf'), 'alpha while apart\n');
      writeFileSync(b.file('app.conf'), 'beta while apart\n');
      await waitFor('alpha hashed its change', async () => (await a.state()).files[0]!.md5 === md5('alpha while apart\n'));
      b2 = await startNode(nodes[1]!);
      await a.waitStatus('app.conf', 'split-brain');
      await b2.waitStatus('app.conf', 'split-brain');
      assert.equal(read(a, 'app.conf'), 'alpha while apart\n');
      assert.equal(read(b2, 'app.conf'), 'beta while apart\n');
    } finally {
      await stopAll(b2 ? [a, b2] : [a], root);
    }
  });

  it('manual: a change on one side while the other was down names that side (state and log), and force --changed settles it', async () => {
    // one.conf changes on alpha, two.conf on beta, both.conf on both, while beta is down.
    const { root, nodes } = await defineCluster({ files: { 'one.conf': 'one v0\n', 'two.conf': 'two v0\n', 'both.conf': 'both v0\n' } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    let b2: RunningNode | undefined;
    try {
      for (const n of [a, b]) await waitJournal(n, { 'one.conf': md5('one v0\n'), 'two.conf': md5('two v0\n'), 'both.conf': md5('both v0\n') });
      await b.stop('SIGKILL');
      writeFileSync(a.file('one.conf'), 'one v1 from alpha\n');
      writeFileSync(a.file('both.conf'), 'both v1 from alpha\n');
      writeFileSync(b.file('two.conf'), 'two v1 from beta\n');
      writeFileSync(b.file('both.conf'), 'both v1 from beta\n');
      await a.waitHashed('one.conf', 'one v1 from alpha\n');
      await a.waitHashed('both.conf', 'both v1 from alpha\n');
      b2 = await startNode(nodes[1]!);
      const want: Record<string, string[]> = { 'one.conf': ['alpha'], 'two.conf': ['beta'], 'both.conf': ['alpha', 'beta'] };
      const words: Record<string, RegExp> = { 'one.conf': /only alpha changed/, 'two.conf': /only beta changed/, 'both.conf': /both alpha and beta changed/ };
      for (const [n, peer] of [[a, 'beta'], [b2, 'alpha']] as const) {
        for (const [f, changed] of Object.entries(want)) {
          const st = await n.waitStatus(f, 'split-brain');
          assert.deepEqual(st.peers[peer], { md5: md5(read(n === a ? b2 : a, f)), status: 'split-brain', changed }, `${n.def.name}: ${f}`);
          const line = await n.waitLog((l) => l.msg.startsWith('split-brain') && l.path === n.file(f) && l.peer === peer, `the split-brain line of ${f}`);
          assert.match(line.msg, words[f]!);
          assert.deepEqual(line.changed, changed);
        }
      }

      // entangled status says it too, under the file table.
      const table = await runCli(['status', '--api', a.api]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^one\.conf\s+beta\s+alpha changed$/m);
      assert.match(table.stdout, /^two\.conf\s+beta\s+beta changed$/m);
      assert.match(table.stdout, /^both\.conf\s+beta\s+alpha\+beta changed$/m);

      // alpha settles them: one.conf goes to beta (push), two.conf comes from beta (pull), both.conf is left alone.
      const r = await runCli(['force', '--api', a.api, '--changed']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /one\.conf\s+updated\s+push/);
      assert.match(r.stdout, /two\.conf\s+updated\s+pull/);
      assert.match(r.stdout, /both\.conf\s+skipped\s+-\s+both alpha and beta changed since the last agreement/);
      for (const n of [a, b2]) {
        await n.waitStatus('one.conf', 'aligned');
        await n.waitStatus('two.conf', 'aligned');
        assert.equal(read(n, 'one.conf'), 'one v1 from alpha\n');
        assert.equal(read(n, 'two.conf'), 'two v1 from beta\n');
      }
      // Left alone: still a split-brain on both sides, neither copy overwritten.
      await new Promise((r) => setTimeout(r, 500));
      for (const n of [a, b2]) assert.equal((await n.state()).files.find((f) => f.name === 'both.conf')!.status, 'split-brain');
      assert.equal(read(a, 'both.conf'), 'both v1 from alpha\n');
      assert.equal(read(b2, 'both.conf'), 'both v1 from beta\n');
      // Through the API, the skip has its reason; once aligned, a file is unchanged.
      const res = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ direction: 'changed' }) });
      const report = (await res.json()) as { direction: string; results: { name: string; result: string; reason?: string }[] };
      assert.equal(report.direction, 'changed');
      assert.deepEqual(
        Object.fromEntries(report.results.map((x) => [x.name, [x.result, x.reason]])),
        { 'one.conf': ['unchanged', undefined], 'two.conf': ['unchanged', undefined], 'both.conf': ['skipped', 'both alpha and beta changed since the last agreement'] },
      );
      // --push and --changed together: a usage error.
      assert.equal((await runCli(['force', '--api', a.api, '--push', '--changed'])).code, 2);
    } finally {
      await stopAll(b2 ? [a, b2] : [a], root);
    }
  });

  it('a peer that starts late: unknown until it comes, then aligned, then replicating', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const a = await startNode(nodes[0]!);
    let b: RunningNode | undefined;
    try {
      const s = await a.state();
      assert.equal(s.peers[0]!.connected, false);
      assert.equal(s.peers[0]!.lastSeen, null);
      assert.equal(s.files[0]!.status, 'unknown');
      assert.deepEqual(s.files[0]!.peers.beta, { md5: null, status: 'unknown' });
      await new Promise((r) => setTimeout(r, 1200));
      b = await startNode(nodes[1]!);
      await waitConnected(a);
      await a.waitStatus('app.conf', 'aligned');
      writeFileSync(a.file('app.conf'), 'v1\n');
      await waitFor('beta takes v1', () => md5File(b!.file('app.conf')) === md5('v1\n'));
    } finally {
      await stopAll(b ? [a, b] : [a], root);
    }
  });
});
