import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cannotRunAsNobody, defineCluster, NOBODY, patchConfig, runCli, startNode, stopAll, type NodeDef, type RunningNode } from '../helpers/cluster.js';

// `entangled check --config FILE` (CONTRACT.md, CLI): the checks `start` makes before binding,
// nothing bound or written; exit 0 with one line, or exit 2 with start's own one line.

/** Moves the node's secret key from its key file into its config, and gives the config `mode`. */
function inlineSecret(n: NodeDef, mode: number): void {
  patchConfig(n, (c) => {
    (c.security as { curve: Record<string, string> }).curve = { publicKey: n.keys!.publicKey, secretKey: n.keys!.secretKey };
  });
  chmodSync(n.configPath, mode);
}

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
    { what: 'm2m.pub equal to m2m.rep', make: (n) => patchConfig(n, (c) => ((c.m2m as Record<string, string>).rep = `tcp://127.0.0.1:${n.ports.pub}`)), line: /^entangled: m2m\.rep: tcp:\/\/127\.0\.0\.1:\d+ is the same address as m2m\.pub \(tcp:\/\/127\.0\.0\.1:\d+\)/ },
    { what: 'm2m.rep on the API\'s address', make: (n) => patchConfig(n, (c) => ((c.m2m as Record<string, string>).rep = `tcp://0.0.0.0:${n.ports.api}`)), line: /^entangled: api\.port: \d+ on 127\.0\.0\.1 \(the API\) is the same address as m2m\.rep \(tcp:\/\/0\.0\.0\.0:\d+\)/ },
    { what: 'an inline secretKey in a config others can read', make: (n) => inlineSecret(n, 0o644), line: /^entangled: security\.curve\.secretKey: is written inline in .*entangled\.yaml, which others can read \(chmod 600 it/ },
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

  it('an inline secretKey in a config only its owner can read (0600) is fine', async () => {
    const { root: r2, nodes: defs } = await defineCluster({ curve: { keyFile: ['alpha'] } });
    try {
      inlineSecret(defs[0]!, 0o600);
      const r = await runCli(['check', '--config', defs[0]!.configPath]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /OK: node alpha, .*CURVE on/);
    } finally {
      rmSync(r2, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2', async () => {
    assert.equal((await runCli(['check'])).code, 2);
    assert.equal((await runCli(['check', '--config'])).code, 2);
    const missing = await runCli(['check', '--config', path.join(root, 'nope.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot read \(ENOENT\)/);
  });
});

/**
 * Run as the node's user, `check` also finds what would fail later (CONTRACT.md): a listed file
 * this user cannot read, or a folder where a write of it stages its temp file that this user
 * cannot write. Each case is a fresh alpha run as nobody: its listed files are in etc/ (nobody's
 * own), its stateDir is nobody's; `spoil` then takes something away.
 */
describe('entangled check as the node\'s user (nobody)', { skip: cannotRunAsNobody() ?? false }, () => {
  /** A config for alpha listing `files` (relative to its folder), all in folders nobody can reach. */
  async function asNobody(files: string[], spoil: (dir: string) => void): Promise<{ root: string; alpha: NodeDef }> {
    const { root, nodes } = await defineCluster();
    const alpha = nodes[0]!;
    chmodSync(root, 0o755);
    chmodSync(alpha.dir, 0o755);
    for (const d of ['etc', 'ro']) mkdirSync(path.join(alpha.dir, d), { mode: 0o755 });
    writeFileSync(path.join(alpha.dir, 'etc', 'app.conf'), 'v0\n');
    writeFileSync(path.join(alpha.dir, 'ro', 'real.conf'), 'v0\n');
    for (const p of ['state', 'etc', 'etc/app.conf', 'ro/real.conf']) chownSync(path.join(alpha.dir, p), NOBODY, NOBODY);
    patchConfig(alpha, (c) => (c.files = files));
    spoil(alpha.dir);
    return { root, alpha };
  }

  const cases: { what: string; files: string[]; spoil: (dir: string) => void; line: RegExp | null }[] = [
    { what: 'a config this user can live with: exit 0', files: ['etc/app.conf', 'etc/new.conf'], spoil: () => undefined, line: null },
    {
      what: 'a listed file\'s folder this user cannot write',
      files: ['etc/app.conf'],
      spoil: (dir) => chownSync(path.join(dir, 'etc'), 0, 0),
      line: /^entangled: files\[0\]: folder \S+\/alpha\/etc is not writable by this user \(EACCES; a write of \S+\/etc\/app\.conf stages a temp file there\)$/,
    },
    {
      what: 'a listed file this user cannot read',
      files: ['etc/app.conf'],
      spoil: (dir) => {
        chownSync(path.join(dir, 'etc', 'app.conf'), 0, 0);
        chmodSync(path.join(dir, 'etc', 'app.conf'), 0o600);
      },
      line: /^entangled: files\[0\]: \S+\/alpha\/etc\/app\.conf is not readable by this user \(EACCES\)$/,
    },
    {
      what: 'a missing listed file in a folder this user cannot write (it would be created there)',
      files: ['etc/app.conf', 'ro/new.conf'],
      spoil: () => undefined,
      line: /^entangled: files\[1\]: folder \S+\/alpha\/ro is not writable by this user \(EACCES; a write of \S+\/ro\/new\.conf stages/,
    },
    {
      what: 'a listed link whose target\'s folder this user cannot write (its own folder it can)',
      files: ['etc/link.conf'],
      spoil: (dir) => {
        symlinkSync('../ro/real.conf', path.join(dir, 'etc', 'link.conf'));
        lchownSync(path.join(dir, 'etc', 'link.conf'), NOBODY, NOBODY);
      },
      line: /^entangled: files\[0\]: folder \S+\/alpha\/ro is not writable by this user \(EACCES; a write of \S+\/etc\/link\.conf stages/,
    },
  ];
  for (const c of cases) {
    it(c.line === null ? c.what : `${c.what}: exit 2 with one line naming it; as root, exit 2 naming nobody's folder or file`, async () => {
      const { root, alpha } = await asNobody(c.files, c.spoil);
      try {
        const r = await runCli(['check', '--config', alpha.configPath], 10000, {}, NOBODY);
        if (c.line === null) {
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /^\S+: OK: node alpha, \d files, 1 peer \(beta\)/);
          return;
        }
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
        assert.match(r.stderr.trimEnd(), c.line);
        // What only this user cannot do is no error for root (start's usual user); but for root,
        // nobody's folders and files are another user's: the ownership rule refuses them.
        const asRoot = await runCli(['check', '--config', alpha.configPath]);
        assert.equal(asRoot.code, 2, asRoot.stdout + asRoot.stderr);
        assert.match(asRoot.stderr.trimEnd(), /^entangled: files\[0\]: \S+\/alpha\/etc(\/app\.conf)? is writable by uid 65534 \(nobody\), so another user /);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
