import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cannotRunAsNobody, defineCluster, NOBODY, md5, md5File, patchConfig, startCluster, startNode, stopAll, waitConnected, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';

/**
 * Replicated promptly: by the watcher's report, well before the 5 s stat sweep that would
 * catch a change the watcher missed.
 */
const PROMPT_MS = 2000;

/** Where a node keeps the shared a.conf: `etc/a.conf` is listed, `real/a.conf` is what it is (or was meant to be) a link to. */
const link = (n: NodeDef | RunningNode) => path.join('def' in n ? n.def.dir : n.dir, 'etc', 'a.conf');
const real = (n: NodeDef | RunningNode, name = 'a.conf') => path.join('def' in n ? n.def.dir : n.dir, 'real', name);
const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.entangled-tmp'));
const fileState = async (n: RunningNode, name: string) => (await n.state()).files.find((f) => f.name === name)! as Awaited<ReturnType<RunningNode['state']>>['files'][number] & { target?: string };

/**
 * Two nodes listing `etc/a.conf` (named a.conf) and a plain `plain.conf`. On each node in
 * `linked`, etc/a.conf is a symbolic link to ../real/a.conf (`content`, mode 0640, or no target
 * at all when null: dangling); on the others a plain file with `plainContent`.
 */
async function defineLinked(linked: Record<string, string | null>, plainContent = 'v0\n'): Promise<{ root: string; nodes: NodeDef[] }> {
  const { root, nodes } = await defineCluster({ files: { 'plain.conf': 'plain\n' } });
  for (const n of nodes) {
    mkdirSync(path.join(n.dir, 'etc'));
    mkdirSync(path.join(n.dir, 'real'));
    if (n.name in linked) {
      const content = linked[n.name]!;
      if (content !== null) {
        writeFileSync(real(n), content);
        chmodSync(real(n), 0o640);
      }
      symlinkSync('../real/a.conf', link(n));
    } else {
      writeFileSync(link(n), plainContent);
    }
    patchConfig(n, (cfg) => {
      cfg.files = [{ path: 'etc/a.conf', name: 'a.conf' }, 'plain.conf'];
    });
  }
  return { root, nodes };
}

/** The link on `n` is still the link it was, and its target holds `content` with mode 0640. */
function assertLinkHolds(n: RunningNode, content: string): void {
  assert.ok(lstatSync(link(n)).isSymbolicLink(), `${n.def.name}: etc/a.conf is no longer a symbolic link`);
  assert.equal(readlinkSync(link(n)), '../real/a.conf');
  assert.equal(readFileSync(real(n), 'utf8'), content);
  assert.equal(statSync(real(n)).mode & 0o7777, 0o640, `${n.def.name}: the target's mode was not kept`);
  assert.deepEqual([...temps(path.join(n.def.dir, 'etc')), ...temps(path.join(n.def.dir, 'real'))], []);
}

async function holds(n: RunningNode, content: string, timeoutMs = 5000): Promise<void> {
  await waitFor(`${n.def.name} holds ${JSON.stringify(content)}`, () => md5File(real(n)) === md5(content), timeoutMs, 5);
}

describe('a listed path that is a symbolic link stays one', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;

  before(async () => {
    const cluster = await defineLinked({ alpha: 'v0\n', beta: 'v0\n' });
    root = cluster.root;
    [a, b] = (await startCluster(cluster.nodes)) as [RunningNode, RunningNode];
    await b.waitStatus('a.conf', 'aligned');
  });
  after(async () => stopAll([a, b], root));

  it('shows the target it resolves to in the state (path stays the listed path; no target for a plain file)', async () => {
    for (const n of [a, b]) {
      const f = await fileState(n, 'a.conf');
      assert.equal(f.path, link(n));
      assert.equal(f.target, real(n));
      assert.equal(f.error, null);
      assert.ok(!('target' in (await fileState(n, 'plain.conf'))));
    }
    const doc = (await (await fetch(`${a.api}/api/1/openapi.json`)).json()) as { components: { schemas: { File: { properties: Record<string, { type?: string }>; required?: string[] } } } };
    assert.equal(doc.components.schemas.File.properties.target?.type, 'string');
    assert.ok(!doc.components.schemas.File.required?.includes('target'));
  });

  it('an edit through the link on alpha lands in beta\'s target; the link stays, the target keeps its mode', async () => {
    writeFileSync(link(a), 'v1 through the link\n');
    await holds(b, 'v1 through the link\n', PROMPT_MS);
    assertLinkHolds(b, 'v1 through the link\n');
    await a.waitStatus('a.conf', 'aligned');
  });

  it('an edit of the target made directly (not via the link) is seen and replicated promptly, both ways', async () => {
    writeFileSync(real(a), 'v2 edited in place\n');
    await holds(b, 'v2 edited in place\n', PROMPT_MS);
    assertLinkHolds(b, 'v2 edited in place\n');
    // An editor's save of the target on beta: a new inode renamed over the target, in its folder.
    const tmp = path.join(b.def.dir, 'real', '.a.conf.swp');
    writeFileSync(tmp, 'v3 saved over the target\n');
    chmodSync(tmp, 0o640);
    renameSync(tmp, real(b));
    await holds(a, 'v3 saved over the target\n', PROMPT_MS);
    assertLinkHolds(a, 'v3 saved over the target\n');
    // The replaced target is followed: the next in-place edit is seen too.
    writeFileSync(real(b), 'v4 in place again\n');
    await holds(a, 'v4 in place again\n', PROMPT_MS);
    await a.waitStatus('a.conf', 'aligned');
    await b.waitStatus('a.conf', 'aligned');
  });

  it('a restore goes through the link too: the kept version is the target\'s content, and the link stays', async () => {
    const res = await fetch(`${b.api}/api/1/backups?file=a.conf`);
    // What alpha's versions replaced on beta (beta's own save replaced v2: not a peer's version, not kept).
    const kept = ((await res.json()) as { versions: { md5: string }[] }).versions.map((v) => v.md5);
    assert.ok(kept.includes(md5('v1 through the link\n')), `beta kept ${JSON.stringify(kept)}`);
    const restored = await fetch(`${b.api}/api/1/restore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file: 'a.conf', md5: md5('v1 through the link\n') }) });
    assert.equal(restored.status, 200, await restored.text());
    assertLinkHolds(b, 'v1 through the link\n');
    await holds(a, 'v1 through the link\n');
    assertLinkHolds(a, 'v1 through the link\n');
  });

  it('a retarget of the link (ln -sfn) is seen promptly: the new target\'s content replicates and the state names it', async () => {
    writeFileSync(real(a, 'b.conf'), 'v5 another target\n');
    execFileSync('ln', ['-sfn', '../real/b.conf', link(a)]);
    await holds(b, 'v5 another target\n', PROMPT_MS);
    assert.ok(lstatSync(link(b)).isSymbolicLink());
    await waitFor('alpha shows the new target', async () => (await fileState(a, 'a.conf')).target === real(a, 'b.conf'));
    // Writes now go to the new target on alpha; the old one is left alone.
    writeFileSync(real(b), 'v6 from beta\n');
    await waitFor('alpha holds v6 in its new target', () => md5File(real(a, 'b.conf')) === md5('v6 from beta\n'));
    assert.equal(readFileSync(real(a), 'utf8'), 'v1 through the link\n');
    assert.equal(readlinkSync(link(a)), '../real/b.conf');
  });
});

describe('a dangling listed link', () => {
  it('is a per-file error (missing, the node running, nothing written over the link or at its target) until its target is made', async () => {
    const { root, nodes } = await defineLinked({ beta: null });
    const running: RunningNode[] = [];
    try {
      for (const n of nodes) running.push(await startNode(n));
      const [a, b] = running as [RunningNode, RunningNode];
      await Promise.all(running.map((r) => waitConnected(r)));
      const f = await b.waitStatus('a.conf', 'missing');
      assert.equal(f.md5, null);
      assert.equal((f as { target?: string }).target, real(b));
      assert.match(f.error ?? '', /dangling symbolic link: its target .*real\/a\.conf does not exist/);
      assert.doesNotMatch(f.error!, /\n/);

      // A change from alpha (beta lacks the file, so it would create it) is refused, retransmitted, refused again.
      writeFileSync(link(a), 'v1\n');
      const received = () => b.logs.filter((l) => l.msg === 'change received' && l.path === link(b) && l.md5 === md5('v1\n')).length;
      await waitFor('beta receives the change, and again (a retransmission: it was not written)', () => received() >= 2, 5000);
      assert.ok(lstatSync(link(b)).isSymbolicLink(), 'the link was replaced');
      assert.ok(!existsSync(real(b)), 'the dangling target was created');
      assert.deepEqual([...temps(path.join(b.def.dir, 'etc')), ...temps(path.join(b.def.dir, 'real'))], []);
      const errors = b.logs.filter((l) => l.level >= 50 && l.path === link(b));
      assert.equal(errors.length, 1, `one error line about the link, not ${JSON.stringify(errors)}`);
      assert.equal(b.proc.exitCode, null);
      assert.equal((await fetch(`${b.api}/api/1/health`)).status, 200);
      assert.equal((await fileState(b, 'plain.conf')).status, 'aligned');

      // Fixed: the target made (with alpha's bytes). The error clears, and edits flow into it.
      writeFileSync(real(b), 'v1\n');
      chmodSync(real(b), 0o640);
      await waitFor('beta clears the error', async () => {
        const g = await fileState(b, 'a.conf');
        return g.error === null && g.status === 'aligned';
      }, PROMPT_MS);
      writeFileSync(link(a), 'v2 after the fix\n');
      await holds(b, 'v2 after the fix\n');
      assertLinkHolds(b, 'v2 after the fix\n');
    } finally {
      await stopAll(running, root);
    }
  });
});

describe('a listed link whose target\'s folder the node may not write', () => {
  it('is a per-file error naming the target\'s folder; the link and the target stay; it clears once allowed', { skip: cannotRunAsNobody() ?? false }, async () => {
    // beta runs as nobody: etc/ and the target are its own, real/ (root's, 0755) is not writable.
    const { root, nodes } = await defineLinked({ alpha: 'v0\n', beta: 'v0\n' });
    const beta = nodes[1]!;
    chmodSync(root, 0o755);
    chmodSync(beta.dir, 0o755);
    for (const p of [path.join(beta.dir, 'state'), path.join(beta.dir, 'etc'), real(beta), path.join(beta.dir, 'plain.conf')]) chownSync(p, NOBODY, NOBODY);
    lchownSync(link(beta), NOBODY, NOBODY);
    const running: RunningNode[] = [];
    try {
      running.push(await startNode(nodes[0]!));
      running.push(await startNode(beta, { uid: NOBODY }));
      const [a, b] = running as [RunningNode, RunningNode];
      await Promise.all(running.map((r) => waitConnected(r)));
      await b.waitStatus('a.conf', 'aligned');
      writeFileSync(link(a), 'v1\n');
      const error = await waitFor('beta reports EACCES', async () => {
        const e = (await fileState(b, 'a.conf')).error;
        return e && /EACCES/.test(e) ? e : null;
      });
      assert.ok(error.includes(path.join(beta.dir, 'real')), error);
      await b.waitLog((l) => l.msg === 'cannot write listed file' && l.path === link(b), 'the EACCES line');
      assert.ok(lstatSync(link(b)).isSymbolicLink());
      assert.equal(readFileSync(real(b), 'utf8'), 'v0\n');
      assert.equal(b.proc.exitCode, null);
      chownSync(path.join(beta.dir, 'real'), NOBODY, NOBODY);
      await holds(b, 'v1\n', 8000);
      assertLinkHolds(b, 'v1\n');
      await waitFor('beta clears the error', async () => (await fileState(b, 'a.conf')).error === null);
      await a.waitStatus('a.conf', 'aligned');
    } finally {
      await stopAll(running, root);
    }
  });
});
