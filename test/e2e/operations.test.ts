import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  defineCluster,
  diverge,
  md5,
  md5File,
  patchConfig,
  runCli,
  startCluster,
  startNode,
  stopAll,
  waitConnected,
  waitFor,
  type RunningNode,
} from '../helpers/cluster.js';

const read = (n: RunningNode, f: string) => readFileSync(n.file(f), 'utf8');
const fileState = async (n: RunningNode, name: string) => (await n.state()).files.find((f) => f.name === name)!;

async function api(n: RunningNode, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${n.api}${route}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }).catch((err: unknown) => {
    throw new Error(`${n.def.name} ${route}: ${String(err)}; exit ${n.proc.exitCode}; stderr ${n.stderr}`);
  });
  return { status: res.status, json: await res.json() };
}

/** Saves like an editor (temp file, rename over), so no intermediate version is ever seen. */
function save(n: RunningNode, name: string, content: string): void {
  const tmp = path.join(n.def.dir, `.${name}.save`);
  writeFileSync(tmp, content);
  renameSync(tmp, n.file(name));
}

/** Saves `content` on `from` and waits until `to` holds it. */
async function replicate(from: RunningNode, to: RunningNode, name: string, content: string): Promise<void> {
  save(from, name, content);
  await waitFor(`${to.def.name} holds ${JSON.stringify(content)}`, () => md5File(to.file(name)) === md5(content));
}

describe('backups and restore', () => {
  it('keeps the versions peers replaced (newest first, at most `backups`), and restore puts one back everywhere', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n', 'other.conf': 'o\n' }, extra: { backups: 2 } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      await replicate(a, b, 'app.conf', 'v1\n');
      await replicate(a, b, 'app.conf', 'v2\n');
      await replicate(a, b, 'app.conf', 'v3 longer\n');
      await b.waitStatus('app.conf', 'aligned');

      // beta kept what alpha's versions replaced: v2 and v1 (v0 fell beyond backups: 2).
      const kept = await api(b, '/api/1/backups?file=app.conf');
      assert.equal(kept.status, 200);
      assert.equal(kept.json.name, 'app.conf');
      assert.deepEqual(kept.json.versions.map((v: { md5: string }) => v.md5), [md5('v2\n'), md5('v1\n')]);
      assert.deepEqual(kept.json.versions.map((v: { size: number }) => v.size), [3, 3]);
      const [t0, t1] = kept.json.versions.map((v: { savedAt: string }) => Date.parse(v.savedAt));
      assert.ok(t0 >= t1 && Date.now() - t1 < 60_000, 'savedAt is a recent time, newest first');
      // alpha's own edits replaced nothing of a peer's: it kept nothing; other.conf never changed.
      assert.deepEqual((await api(a, '/api/1/backups?file=app.conf')).json.versions, []);
      assert.deepEqual((await api(b, '/api/1/backups?file=other.conf')).json, { name: 'other.conf', versions: [] });

      // Restore v1 on beta: beta's file holds it, alpha follows, both aligned; v3 is now kept.
      const restored = await api(b, '/api/1/restore', { file: 'app.conf', md5: md5('v1\n') });
      assert.deepEqual(restored, { status: 200, json: { name: 'app.conf', md5: md5('v1\n') } });
      assert.equal(read(b, 'app.conf'), 'v1\n');
      await waitFor('alpha takes the restored version', () => md5File(a.file('app.conf')) === md5('v1\n'));
      await a.waitStatus('app.conf', 'aligned');
      await b.waitStatus('app.conf', 'aligned');
      const after = (await api(b, '/api/1/backups?file=app.conf')).json.versions.map((v: { md5: string }) => v.md5);
      assert.equal(after[0], md5('v3 longer\n'));
      // alpha kept its v3 when beta's restored v1 replaced it.
      assert.equal((await api(a, '/api/1/backups?file=app.conf')).json.versions[0].md5, md5('v3 longer\n'));

      // The CLI puts back the newest by default: v3 on alpha, then beta follows.
      const cli = await runCli(['restore', '--api', a.api, '--file', 'app.conf']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, new RegExp(`app.conf: restored ${md5('v3 longer\n')}`));
      await waitFor('beta takes the CLI-restored version', () => md5File(b.file('app.conf')) === md5('v3 longer\n'));

      // Errors: no such version 404, unlisted file 400, bad md5 400, missing body 400; CLI exit 1 / 2.
      assert.equal((await api(b, '/api/1/restore', { file: 'app.conf', md5: md5('never\n') })).status, 404);
      assert.equal((await api(b, '/api/1/restore', { file: 'other.conf' })).status, 404);
      assert.equal((await api(b, '/api/1/restore', { file: 'nope.conf' })).status, 400);
      assert.equal((await api(b, '/api/1/restore', { file: 'app.conf', md5: 'xyz' })).status, 400);
      assert.equal((await api(b, '/api/1/restore', { file: 'app.conf', extra: 1 })).status, 400);
      const bare = await fetch(`${b.api}/api/1/restore`, { method: 'POST' });
      assert.equal(bare.status, 400);
      assert.equal(((await bare.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
      assert.equal((await api(b, '/api/1/backups?file=nope.conf')).status, 400);
      assert.equal((await api(b, '/api/1/backups')).status, 400);
      const missing = await runCli(['restore', '--api', b.api, '--file', 'app.conf', '--md5', md5('never\n')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no kept version/);
      assert.equal((await runCli(['restore', '--api', b.api, '--file', 'nope.conf'])).code, 2);
      assert.equal((await runCli(['restore', '--api', b.api])).code, 2);
    } finally {
      await stopAll([a, b], root);
    }
  });

  it('a forced pull keeps the version it replaces, with its mode', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'same\n' }, contents: { beta: { 'app.conf': 'beta side\n' } } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      await a.waitStatus('app.conf', 'split-brain');
      const res = await api(a, '/api/1/force', { direction: 'pull' });
      assert.equal(res.json.results[0].result, 'updated');
      const kept = (await api(a, '/api/1/backups?file=app.conf')).json.versions;
      assert.deepEqual(kept.map((v: { md5: string }) => v.md5), [md5('same\n')]);
      // The kept copy is on disk under stateDir with the replaced content.
      const dir = path.join(a.def.dir, 'state', 'backups');
      const entries = readdirSync(dir);
      assert.equal(entries.length, 1);
      assert.match(entries[0]!, new RegExp(`^app\\.conf-[0-9a-f]{12}@\\d{13}-${md5('same\n')}$`));
      assert.equal(readFileSync(path.join(dir, entries[0]!), 'utf8'), 'same\n');
    } finally {
      await stopAll([a, b], root);
    }
  });
});

describe('validate', () => {
  it('a version the validate command refuses is not installed; the error shows on the receiver and the sender stays pending; a valid one goes through', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'ok 0\n' } });
    // The command sees the staged temp file, never the real path: it must start with "ok".
    patchConfig(nodes[1]!, (cfg) => {
      cfg.files = [{ path: 'app.conf', validate: 'case {} in *.entangled-tmp) grep -q "^ok" {} ;; *) exit 9 ;; esac' }];
    });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      save(a, 'app.conf', 'broken\n');
      await a.waitHashed('app.conf', 'broken\n');
      // The sender shows beta's refusal as beta reported it, within a second.
      const seen = await a.waitPeerError('app.conf', 'beta', new RegExp(`^validate refused version ${md5('broken\n')} from alpha: `));
      assert.equal(seen.status, 'pending');
      const refused = await b.waitLog((l) => l.msg === 'hook validate failed' && l.path === b.file('app.conf'), 'the refusal');
      assert.equal(refused.code, 1);
      const st = await waitFor('beta reports the refusal', async () => {
        const f = await fileState(b, 'app.conf');
        return f.error?.includes('validate') ? f : null;
      });
      assert.match(st.error!, new RegExp(md5('broken\n')));
      assert.equal(seen.error, st.error);
      assert.equal(read(b, 'app.conf'), 'ok 0\n');
      // Retransmissions do not run the command again and again.
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(b.logs.filter((l) => l.msg === 'hook validate failed').length, 1);
      assert.equal(read(b, 'app.conf'), 'ok 0\n');
      const fromA = await fileState(a, 'app.conf');
      assert.equal(fromA.peers.beta!.status, 'pending');
      assert.notEqual(fromA.status, 'aligned');
      // Still shown: retransmissions are answered with the refusal, not run again.
      assert.equal(fromA.peers.beta!.error, st.error);
      assert.deepEqual(readdirSync(b.def.dir).filter((n) => n.endsWith('.entangled-tmp')), []);

      await replicate(a, b, 'app.conf', 'ok 1\n');
      await b.waitLog((l) => l.msg === 'hook validate ran' && l.code === 0, 'a passing validation');
      await a.waitStatus('app.conf', 'aligned');
      assert.equal((await fileState(b, 'app.conf')).error, null);
      assert.equal((await fileState(a, 'app.conf')).peers.beta!.error, undefined);
    } finally {
      await stopAll([a, b], root);
    }
  });
});

describe('hooks', () => {
  it('onApply runs after a peer\'s version is written, with its environment; a failing or slow one never undoes the write', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n', 'fail.conf': 'f0\n', 'slow.conf': 's0\n' } });
    const out = path.join(nodes[1]!.dir, 'applied.txt');
    patchConfig(nodes[1]!, (cfg) => {
      cfg.files = [
        { path: 'app.conf', onApply: `echo "$ENTANGLED_NODE|$ENTANGLED_NAME|$ENTANGLED_PATH|$ENTANGLED_MD5|$ENTANGLED_PEER" >> ${out}` },
        { path: 'fail.conf', onApply: 'echo about to fail >&2; exit 7' },
        { path: 'slow.conf', onApply: 'sleep 30' },
      ];
      cfg.hooks = { timeoutMs: 300 };
    });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      await replicate(a, b, 'app.conf', 'v1\n');
      await waitFor('onApply wrote its line', () => existsSync(out) && readFileSync(out, 'utf8').includes('\n'));
      assert.equal(readFileSync(out, 'utf8'), `beta|app.conf|${b.file('app.conf')}|${md5('v1\n')}|alpha\n`);
      const ran = await b.waitLog((l) => l.msg === 'hook onApply ran' && l.path === b.file('app.conf'), 'the onApply line');
      assert.equal(ran.code, 0);
      assert.equal(typeof ran.ms, 'number');

      await replicate(a, b, 'fail.conf', 'f1\n');
      const failed = await b.waitLog((l) => l.msg === 'hook onApply failed' && l.path === b.file('fail.conf'), 'the failure');
      assert.equal(failed.code, 7);
      assert.equal(failed.stderr, 'about to fail');
      await a.waitStatus('fail.conf', 'aligned');
      assert.equal(read(b, 'fail.conf'), 'f1\n');

      await replicate(a, b, 'slow.conf', 's1\n');
      const slow = await b.waitLog((l) => l.msg === 'hook onApply failed' && l.path === b.file('slow.conf'), 'the timeout', 5000);
      assert.match(String(slow.err), /timed out/);
      assert.equal(read(b, 'slow.conf'), 's1\n');
      // alpha's own edits ran nothing on alpha.
      assert.equal(a.logs.filter((l) => String(l.msg).startsWith('hook ')).length, 0);
    } finally {
      await stopAll([a, b], root);
    }
  });

  it('onPeerDown, onPeerUp and onSplitBrain alert with the peer and file', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const out = path.join(nodes[0]!.dir, 'alerts.txt');
    patchConfig(nodes[0]!, (cfg) => {
      cfg.hooks = {
        onPeerDown: `echo "down $ENTANGLED_NODE $ENTANGLED_PEER" >> ${out}`,
        onPeerUp: `echo "up $ENTANGLED_NODE $ENTANGLED_PEER" >> ${out}`,
        onSplitBrain: `echo "split $ENTANGLED_NAME $ENTANGLED_PEER $ENTANGLED_MD5" >> ${out}`,
      };
    });
    let [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
    try {
      await waitFor('the up alert', () => lines().includes('up alpha beta'));
      await b.stop('SIGKILL');
      await waitFor('the down alert', () => lines().includes('down alpha beta'));
      b = await startNode(nodes[1]!);
      await waitConnected(a);
      await waitFor('a second up alert', () => lines().filter((l) => l === 'up alpha beta').length === 2);

      await diverge(a, b, 'app.conf', 'alpha side\n', 'beta side\n');
      await a.waitStatus('app.conf', 'split-brain');
      await waitFor('the split-brain alert', () => lines().includes(`split app.conf beta ${md5('alpha side\n')}`));
    } finally {
      await stopAll([a, b], root);
    }
  });
});
