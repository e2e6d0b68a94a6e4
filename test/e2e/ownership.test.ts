import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cannotRunAsNobody, defineCluster, md5, md5File, NOBODY, patchConfig, runCli, startCluster, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';

/**
 * The attacks of issue 20 on a root node whose listed file another user (nobody) can steer
 * (CONTRACT.md, "Only files that no other user controls"), and validate's `{}` with a hostile
 * target name ("`validate`'s `{}` is the staged temp file's path, quoted for the shell").
 */
const NO_NOBODY = cannotRunAsNobody();
const SECRET = 'TOP SECRET: root only\n';
const VICTIM = 'victim: root only\n';

/** Runs `script` through sh as nobody, in the background; stopped by stopAsNobody. */
function asNobody(script: string): ChildProcess {
  return spawn('sh', ['-c', script], { uid: NOBODY, gid: NOBODY, stdio: 'ignore', detached: true });
}

async function stopAsNobody(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((resolve) => p.once('exit', resolve));
  process.kill(-p.pid!, 'SIGKILL');
  await gone;
}

function runAsNobody(script: string): Promise<number | null> {
  const p = asNobody(script);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

/** Every path under `dir` whose name contains `part`. */
function findNamed(dir: string, part: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.name.includes(part)) found.push(p);
    if (e.isDirectory()) found.push(...findNamed(p, part));
  }
  return found;
}

const fileState = async (n: RunningNode, name: string) => (await n.state()).files.find((f) => f.name === name)!;

/** A root-only folder holding `name` with `content` (0700 folder, 0600 file). */
function rootOnly(dir: string, name: string, content: string): string {
  mkdirSync(dir, { mode: 0o700 });
  const p = path.join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

describe('a listed file another user can steer is neither read nor written', { skip: NO_NOBODY ?? false }, () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;
  let secret: string;
  let victim: string;
  /** alpha's steered file: app/app.conf, app/ nobody's. */
  let steered: string;

  before(async () => {
    const cluster = await defineCluster({ files: { 'app.conf': 'v1\n', 'barrier.conf': 'b0\n', 'flip.conf': 'f0\n' } });
    root = cluster.root;
    const [alpha, beta] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    // nobody may reach alpha's folder (root's, 0755) and owns two folders in it.
    chmodSync(root, 0o755);
    chmodSync(alpha.dir, 0o755);
    secret = rootOnly(path.join(root, 'secret'), 'secret.key', SECRET);
    victim = rootOnly(path.join(root, 'victim'), 'app.conf', VICTIM);
    mkdirSync(path.join(alpha.dir, 'app'), { mode: 0o755 });
    steered = path.join(alpha.dir, 'app', 'app.conf');
    writeFileSync(steered, 'v1\n');
    chownSync(path.join(alpha.dir, 'app'), NOBODY, NOBODY);
    mkdirSync(path.join(alpha.dir, 'real'), { mode: 0o755 });
    writeFileSync(path.join(alpha.dir, 'real', 'app.conf'), 'f0\n');
    mkdirSync(path.join(alpha.dir, 'x'), { mode: 0o755 });
    symlinkSync(path.join(alpha.dir, 'real'), path.join(alpha.dir, 'x', 'link'));
    lchownSync(path.join(alpha.dir, 'x', 'link'), NOBODY, NOBODY);
    chownSync(path.join(alpha.dir, 'x'), NOBODY, NOBODY);
    patchConfig(alpha, (c) => (c.files = [{ path: 'app/app.conf', name: 'app.conf' }, 'barrier.conf', { path: 'x/link/app.conf', name: 'flip.conf' }]));
    [a, b] = (await startCluster([alpha, beta])) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  /** A change of barrier.conf on alpha reaches beta: whatever alpha sent before it has been sent. */
  async function barrier(content: string): Promise<void> {
    writeFileSync(a.file('barrier.conf'), content);
    await waitFor('beta holds the barrier', () => md5File(b.file('barrier.conf')) === md5(content), 5000, 5);
  }

  it('retargeting the listed file to a root-only secret: nothing is read or sent, and the error names nobody\'s folder', async () => {
    const line = new RegExp(`^${path.dirname(steered).replaceAll('/', '\\/')} is writable by uid 65534 \\(nobody\\), so another user can change where ${steered.replaceAll('/', '\\/')} leads`);
    await waitFor('alpha refuses app.conf', async () => line.test((await fileState(a, 'app.conf')).error ?? ''), 5000);
    const refusals = () => a.logs.filter((l) => l.path === steered && /^listed path is (still )?not safe/.test(String(l.msg))).length;
    const before = refusals();
    assert.equal(await runAsNobody(`ln -sfn ${secret} ${steered}`), 0);
    // The watcher reports the retarget, and the read it starts is refused (no byte read); the sweep would refuse the next.
    await waitFor('alpha looked at app.conf again', () => refusals() > before, 8000);
    await barrier('b1\n');
    assert.equal(readFileSync(b.file('app.conf'), 'utf8'), 'v1\n', 'the secret reached the peer');
    const f = await fileState(a, 'app.conf');
    assert.notEqual(f.md5, md5(SECRET));
    assert.ok(!a.logs.some((l) => JSON.stringify(l).includes(md5(SECRET))), 'alpha logged the secret\'s md5: it read it');
    assert.match(f.error ?? '', line);
    // check reports it too, as one line naming the folder.
    const r = await runCli(['check', '--config', a.def.configPath]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr.trimEnd(), new RegExp(`^entangled: files\\[0\\]: ${line.source.slice(1)}`));
  });

  it('flipping an intermediate link during 100 incoming changes: no byte lands outside the listed file\'s own target', async () => {
    const real = path.join(a.def.dir, 'real');
    const victimDir = path.dirname(victim);
    const link = path.join(a.def.dir, 'x', 'link');
    await waitFor('alpha refuses flip.conf', async () => /\/x is writable by uid 65534 \(nobody\)/.test((await fileState(a, 'flip.conf')).error ?? ''), 5000);
    const flipper = asNobody(`while :; do ln -sfn ${victimDir} ${link}; ln -sfn ${real} ${link}; done`);
    try {
      for (let i = 1; i <= 100; i++) {
        writeFileSync(b.file('flip.conf'), `peer ${i}\n`);
        await new Promise((r) => setTimeout(r, 10));
      }
      await waitFor('beta published its last change', async () => (await fileState(b, 'flip.conf')).md5 === md5('peer 100\n'), 5000);
      await barrier('b3\n');
    } finally {
      await stopAsNobody(flipper);
    }
    assert.equal(readFileSync(victim, 'utf8'), VICTIM);
    assert.deepEqual(readdirSync(victimDir), ['app.conf']);
    assert.equal(readFileSync(path.join(real, 'app.conf'), 'utf8'), 'f0\n');
    assert.deepEqual(readdirSync(real), ['app.conf']);
    assert.match((await fileState(a, 'flip.conf')).error ?? '', /\/x is writable by uid 65534 \(nobody\)/);
  });
});

describe('validate\'s {} with a hostile target name runs nothing else', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;
  const HOSTILE = 'v$(id>pwned)w.conf';

  before(async () => {
    const cluster = await defineCluster({ files: { 'dq.conf': 'v0\n', 'sq.conf': 'v0\n' } });
    root = cluster.root;
    const beta = cluster.nodes[1]!;
    // On beta each listed file is a link (in a root folder) to a target with a hostile name.
    for (const name of ['dq', 'sq']) {
      mkdirSync(path.join(beta.dir, name));
      writeFileSync(path.join(beta.dir, name, HOSTILE), 'v0\n');
      symlinkSync(path.join(name, HOSTILE), path.join(beta.dir, `${name}.conf.link`));
    }
    // Inside the validate: the temp path has only safe characters, $ENTANGLED_TEMP is it.
    const safe = 'case "$ENTANGLED_TEMP" in *[!A-Za-z0-9._/-]*) exit 7 ;; esac';
    patchConfig(beta, (c) => {
      c.files = [
        { path: 'dq.conf.link', name: 'dq.conf', validate: `test -f "{}" && test "$ENTANGLED_TEMP" = "{}" && ${safe}` },
        { path: 'sq.conf.link', name: 'sq.conf', validate: `test -f '{}' && ${safe}` },
      ];
    });
    [a, b] = (await startCluster(cluster.nodes)) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  it('"{}" and \'{}\' get the quoted temp path once: the validate passes, the version is written, and no command in the name ran', async () => {
    for (const name of ['dq', 'sq']) writeFileSync(a.file(`${name}.conf`), `${name} 1\n`);
    for (const name of ['dq', 'sq']) {
      const target = path.join(b.def.dir, name, HOSTILE);
      await waitFor(`beta wrote ${name}.conf`, () => md5File(target) === md5(`${name} 1\n`), 5000, 5);
      assert.equal((await fileState(b, `${name}.conf`)).error, null);
    }
    assert.deepEqual(findNamed(root, 'pwned').filter((p) => path.basename(p) === 'pwned'), []);
    assert.ok(!existsSync(path.join(process.cwd(), 'pwned')), 'a validate ran `id` in the test\'s folder');
    assert.ok(!b.logs.some((l) => /uid=0/.test(JSON.stringify(l))), 'a validate ran `id`');
  });
});
