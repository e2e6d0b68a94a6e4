import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defineCluster, diverge, freePorts, md5, md5File, runCli, startCluster, startNode, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';

/** `entangled status --check` against `n`: its exit code and its one stdout line. */
async function check(n: RunningNode, env: Record<string, string> = {}): Promise<{ code: number | null; line: string; stderr: string }> {
  const r = await runCli(['status', '--check', '--api', n.api], 10_000, env);
  assert.equal(r.stdout.split('\n').length, 2, `one line on stdout: ${JSON.stringify(r.stdout)}`);
  return { code: r.code, line: r.stdout.trimEnd(), stderr: r.stderr };
}

/** Saves like an editor (temp file, rename over). */
function save(n: RunningNode, name: string, content: string): void {
  const tmp = path.join(n.def.dir, `.${name}.save`);
  writeFileSync(tmp, content);
  renameSync(tmp, n.file(name));
}

describe('entangled status --check (the Nagios plugin convention)', () => {
  it('exits 0 when aligned, 1 with a peer down, 2 on a real split-brain, 3 when the API is out of reach', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n', 'b.conf': 'b\n', 'c.conf': 'c\n' } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    let b2: RunningNode | undefined;
    try {
      for (const f of ['app.conf', 'b.conf', 'c.conf']) await a.waitStatus(f, 'aligned');
      const ok = await check(a);
      assert.deepEqual({ code: ok.code, line: ok.line }, { code: 0, line: 'OK: 3 files aligned with 1 peer' }, ok.stderr);

      // A real split-brain: both sides edit app.conf while beta is out of reach.
      await diverge(a, b, 'app.conf', 'alpha side\n', 'beta side\n');
      await a.waitStatus('app.conf', 'split-brain');
      const split = await check(a);
      assert.equal(split.code, 2, split.line);
      assert.match(split.line, /^CRITICAL: app\.conf split-brain with beta \(alpha and beta changed\)$/);
      const f = await runCli(['force', '--api', a.api, '--file', 'app.conf']);
      assert.equal(f.code, 0, f.stderr);
      await a.waitStatus('app.conf', 'aligned');
      assert.equal((await check(a)).code, 0);

      // Beta stopped: a warning naming it.
      await b.stop();
      await waitFor('alpha loses beta', async () => !(await a.state()).peers[0]!.connected, 5000);
      const lost = await check(a);
      assert.deepEqual({ code: lost.code, line: lost.line }, { code: 1, line: 'WARNING: peer beta down' });

      b2 = await startNode(nodes[1]!);
      await a.waitStatus('app.conf', 'aligned');
      await waitFor('alpha OK again', async () => (await check(a)).code === 0, 8000, 100);

      // alpha's API out of reach (its port closed): UNKNOWN, exit 3, still one line on stdout.
      await a.stop();
      const gone = await check(a);
      assert.equal(gone.code, 3);
      assert.match(gone.line, /^UNKNOWN: cannot reach the API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
      const [port] = await freePorts(1);
      const never = await runCli(['status', '--check', '--api', `http://127.0.0.1:${port}`]);
      assert.equal(never.code, 3);
      assert.equal(await runCli(['status', '--check', '--json', '--api', a.api]).then((r) => r.code), 2, '--check and --json together is a usage error');
    } finally {
      await stopAll(b2 ? [a, b, b2] : [a, b], root);
    }
  });

  it('a 401 is UNKNOWN (exit 3) for --check, and every command says to give --token or $ENTANGLED_TOKEN', async () => {
    const token = 'ops-token';
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, token });
    const running = await startCluster(nodes, { token });
    try {
      const a = running[0]!;
      const denied = await check(a, { ENTANGLED_TOKEN: '' });
      assert.equal(denied.code, 3);
      assert.match(denied.line, /^UNKNOWN: .*Authorization.*--token T or in \$ENTANGLED_TOKEN/);
      assert.equal((await check(a, { ENTANGLED_TOKEN: token })).code, 0);
      for (const args of [['status'], ['backups', '--file', 'app.conf'], ['status', '--token', 'wrong']]) {
        const r = await runCli([...args, '--api', a.api], 10_000, { ENTANGLED_TOKEN: '' });
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /--token T or in \$ENTANGLED_TOKEN/, args.join(' '));
      }
    } finally {
      await stopAll(running, root);
    }
  });
});

describe('entangled backups and restore by prefix', () => {
  it('lists the kept versions newest first; restore takes a unique prefix, refuses an ambiguous or unknown one, and names what it writes', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' }, extra: { backups: 10 } });
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    try {
      const empty = await runCli(['backups', '--api', b.api, '--file', 'app.conf']);
      assert.deepEqual([empty.code, empty.stdout], [0, 'app.conf: no kept versions\n']);

      // alpha writes v1, v2, …; beta keeps each version they replace. Write until two kept
      // versions' md5s share their first character: that character is an ambiguous prefix.
      const kept0: string[] = ['v0\n'];
      while (new Set(kept0.map((c) => md5(c)[0])).size === kept0.length) kept0.push(`v${kept0.length}\n`);
      for (let i = 1; i <= kept0.length; i++) {
        save(a, 'app.conf', `v${i}\n`);
        await waitFor(`beta holds v${i}`, () => md5File(b.file('app.conf')) === md5(`v${i}\n`));
      }
      await b.waitStatus('app.conf', 'aligned');
      const kept = (await (await fetch(`${b.api}/api/1/backups?file=app.conf`)).json()) as { versions: { md5: string; size: number; savedAt: string }[] };
      assert.deepEqual(kept.versions.map((v) => v.md5), kept0.map(md5).reverse());

      const list = await runCli(['backups', '--api', b.api, '--file', 'app.conf']);
      assert.equal(list.code, 0, list.stderr);
      const rows = list.stdout.trimEnd().split('\n');
      assert.match(rows[0]!, /^MD5\s+SIZE\s+KEPT AT$/);
      assert.deepEqual(
        rows.slice(1).map((r) => r.split(/\s+/)),
        kept.versions.map((v) => [v.md5, String(v.size), v.savedAt]),
        'every kept version, newest first, with its whole md5, size and time',
      );

      // The 10 characters status prints pick one version (the oldest kept: v0).
      const v0 = md5('v0\n');
      assert.ok(kept.versions.some((v) => v.md5 === v0));
      const r = await runCli(['restore', '--api', b.api, '--file', 'app.conf', '--md5', v0.slice(0, 10)]);
      assert.equal(r.code, 0, r.stderr);
      const savedAt = kept.versions.find((v) => v.md5 === v0)!.savedAt;
      assert.equal(r.stdout, `app.conf: restoring ${v0} (3 bytes, kept ${savedAt})\napp.conf: restored ${v0}\n`);
      assert.equal(readFileSync(b.file('app.conf'), 'utf8'), 'v0\n');
      await waitFor('alpha takes the restored version', () => md5File(a.file('app.conf')) === v0);

      // A first character two kept versions share: ambiguous, exit 2, naming both; nothing written.
      const now = (await (await fetch(`${b.api}/api/1/backups?file=app.conf`)).json()) as { versions: { md5: string }[] };
      const counts = new Map<string, number>();
      for (const v of now.versions) counts.set(v.md5[0]!, (counts.get(v.md5[0]!) ?? 0) + 1);
      const shared = [...counts].find(([, n]) => n > 1)![0];
      const amb = await runCli(['restore', '--api', b.api, '--file', 'app.conf', '--md5', shared]);
      assert.equal(amb.code, 2, amb.stderr);
      assert.equal(amb.stdout, '');
      assert.equal(amb.stderr.trimEnd().split('\n').length, 1);
      assert.match(amb.stderr, new RegExp(`kept versions of app\\.conf start with ${shared} .*give more of the md5`));
      for (const v of now.versions.filter((v) => v.md5[0] === shared)) assert.ok(amb.stderr.includes(v.md5), 'names each match');
      // The API says the same (400), and takes a unique prefix too.
      const apiAmb = await fetch(`${b.api}/api/1/restore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file: 'app.conf', md5: shared }) });
      assert.equal(apiAmb.status, 400);
      assert.equal(md5File(b.file('app.conf')), v0);

      const unknown = await runCli(['restore', '--api', b.api, '--file', 'app.conf', '--md5', 'ffffffffffff']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^entangled: no kept version starting with ffffffffffff of app\.conf/);
      assert.equal((await runCli(['restore', '--api', b.api, '--file', 'app.conf', '--md5', 'not-hex'])).code, 2);

      // Without --md5: the newest, named before it is written.
      const newest = now.versions[0]!;
      const def = await runCli(['restore', '--api', b.api, '--file', 'app.conf']);
      assert.equal(def.code, 0, def.stderr);
      assert.match(def.stdout, new RegExp(`^app\\.conf: restoring ${newest.md5} \\(\\d+ bytes, kept \\d{4}-[^)]+\\)\\napp\\.conf: restored ${newest.md5}\\n$`));
      assert.equal(md5File(b.file('app.conf')), newest.md5);

      const apiPrefix = await fetch(`${b.api}/api/1/restore`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file: 'app.conf', md5: v0.slice(0, 10).toUpperCase() }) });
      assert.deepEqual([apiPrefix.status, await apiPrefix.json()], [200, { name: 'app.conf', md5: v0 }]);
      assert.equal(md5File(b.file('app.conf')), v0);
    } finally {
      await stopAll([a, b], root);
    }
  });
});
