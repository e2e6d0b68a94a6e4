import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineCluster, patchConfig, runCli, startNode, stopAll, type NodeDef, type RunningNode } from '../helpers/cluster.js';

// `entangled check --config FILE` (CONTRACT.md, CLI): the checks `start` makes before binding,
// nothing bound or written; exit 0 with one line, or exit 2 with start's own one line.

/** Every file under `dir`, recursively (to see that check wrote nothing). */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('entangled check', () => {
  let root: string;
  let nodes: NodeDef[];
  let running: RunningNode[] = [];
  before(async () => {
    ({ root, nodes } = await defineCluster({ files: { 'app.conf': 'listen 80\n', 'site.conf': 'a\n' }, curve: { keyFile: ['alpha'] } }));
  });
  after(async () => stopAll(running, root));

  it('a good config: exit 0 and one summary line on stdout, nothing written', async () => {
    const alpha = nodes[0]!;
    rmSync(path.join(alpha.dir, 'state'), { recursive: true });
    const before = tree(alpha.dir);
    const r = await runCli(['check', '--config', alpha.configPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0]!, /OK: node alpha, 2 files, 1 peer \(beta\), CURVE on, api 127\.0\.0\.1:\d+, stateDir .*state$/);
    assert.deepEqual(tree(alpha.dir), before, 'check created something (the stateDir?)');
    assert.equal(existsSync(path.join(alpha.dir, 'state')), false);
  });

  it('checks the config of a running node (its ports in use) without disturbing it', async () => {
    const beta = nodes[1]!;
    const node = await startNode(beta);
    running.push(node);
    const r = await runCli(['check', '--config', beta.configPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OK: node beta/);
    const health = await fetch(`${node.api}/api/1/health`);
    assert.equal(health.status, 200);
    assert.equal(node.proc.exitCode, null);
  });

  /** Each kind of bad config: check and start print the same one line and exit 2. */
  const bad: { what: string; make: (n: NodeDef) => void; line: RegExp }[] = [
    { what: 'an unknown key', make: (n) => patchConfig(n, (c) => (c.colour = 'blue')), line: /unknown key "colour"/ },
    { what: 'a missing required key', make: (n) => patchConfig(n, (c) => delete c.files), line: /files: is required/ },
    { what: 'a bad endpoint', make: (n) => patchConfig(n, (c) => ((c.m2m as Record<string, string>).pub = 'http://x')), line: /m2m\.pub: is not a ZeroMQ address/ },
    { what: 'a file whose folder does not exist', make: (n) => patchConfig(n, (c) => (c.files = ['nowhere/app.conf'])), line: /files\[0\]: folder .*nowhere does not exist/ },
    { what: 'a listed directory', make: (n) => patchConfig(n, (c) => (c.files = ['state'])), line: /files\[0\]: .*state is a directory/ },
    { what: 'two peers with one name', make: (n) => patchConfig(n, (c) => (c.peers = [...(c.peers as object[]), ...(c.peers as object[])])), line: /peers\[1\]\.name: two peers are named "beta"/ },
    { what: 'a key file readable by others', make: (n) => chmodSync(path.join(n.dir, 'alpha.key'), 0o644), line: /security\.curve\.secretKeyFile: .*alpha\.key is readable by others/ },
    { what: 'a key file that is missing', make: (n) => rmSync(path.join(n.dir, 'alpha.key')), line: /security\.curve\.secretKeyFile: cannot read .*alpha\.key \(ENOENT\)/ },
    { what: 'a stateDir under a regular file', make: (n) => patchConfig(n, (c) => (c.stateDir = 'app.conf/state')), line: /stateDir: cannot use .*app\.conf\/state \(.*app\.conf is not a folder\)/ },
    { what: 'not YAML', make: (n) => writeFileSync(n.configPath, 'node: [alpha\n'), line: /not valid YAML/ },
  ];
  for (const c of bad) {
    it(`${c.what}: exit 2 with the line start prints`, async () => {
      const { root: r2, nodes: defs } = await defineCluster({ curve: { keyFile: ['alpha'] } });
      try {
        const n = defs[0]!;
        c.make(n);
        const check = await runCli(['check', '--config', n.configPath]);
        assert.equal(check.code, 2, check.stdout + check.stderr);
        assert.equal(check.stdout, '');
        const lines = check.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, check.stderr);
        assert.match(lines[0]!, c.line);
        const start = await runCli(['start', '--config', n.configPath]);
        assert.equal(start.code, 2, start.stderr);
        assert.equal(start.stderr, check.stderr, 'start and check disagree');
      } finally {
        rmSync(r2, { recursive: true, force: true });
      }
    });
  }

  it('usage errors exit 2', async () => {
    assert.equal((await runCli(['check'])).code, 2);
    assert.equal((await runCli(['check', '--config'])).code, 2);
    const missing = await runCli(['check', '--config', path.join(root, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot read \(ENOENT\)/);
  });
});
