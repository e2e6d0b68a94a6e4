import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, waitFor } from '../helpers/cluster.js';
import { ip, removeStaleNamespaces, whyNoNetns } from '../helpers/netns.js';

/**
 * The README's operator's guide, run as written on two "hosts": two network namespaces joined by
 * a veth pair with the guide's addresses (192.0.2.1, 192.0.2.2), each with an /etc/app and an
 * /etc/entangled of its own (`ip netns exec` binds /etc/netns/NS/* over /etc/*) and a
 * /var/lib/entangled of its own (bound by the wrapper below). Every fenced block the README marks
 * with `<!-- guide: WHO -->` runs, line by line, on that host; the few commands that need what a
 * namespace is not (systemd, scp, apt, a second useradd on the one /etc/passwd both hosts share)
 * are emulated, and nothing else. A command whose comment shows a monitoring line (`# OK: …`)
 * is re-run, as an operator would, until it prints exactly that line.
 */

type Who = 'build' | 'install' | 'both' | 'alpha' | 'beta';
interface Block {
  readonly who: Who;
  readonly file: string | null;
  readonly lang: string;
  readonly body: string;
  /** The `### ` heading the block sits under. */
  readonly step: string;
}

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The marked blocks of the README's "## Operator's guide", in order. */
function guideBlocks(text: string): Block[] {
  const start = text.indexOf("\n## Operator's guide");
  assert.ok(start >= 0, "README has no \"## Operator's guide\"");
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const out: Block[] = [];
  const re = /^<!-- guide: (build|install|both|alpha|beta)(?: file=(\S+))? -->\n```(\w+)\n([\s\S]*?)\n```$/gm;
  for (let m; (m = re.exec(section)); ) {
    const before = section.slice(0, m.index);
    const step = /\n### (.+)\n(?![\s\S]*\n### )/.exec(before)?.[1] ?? '';
    out.push({ who: m[1] as Who, file: m[2] ?? null, lang: m[3]!, body: m[4]!, step });
  }
  return out;
}

/** Shell lines of a block: comments kept (they carry expectations), continuations joined, blanks dropped. */
function lines(body: string): string[] {
  return body.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** The unit's [Service] settings, the last value of each key. */
function service(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) section = head[1]!;
    else if (section === 'Service') out.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return out;
}

interface Host {
  readonly name: 'alpha' | 'beta';
  readonly addr: string;
  readonly ns: string;
  /** What the host sees as /etc/X is /etc/netns/NS/X here. */
  readonly etc: string;
  readonly varLib: string;
  unit: string | null;
  node: ChildProcess | null;
  log: string;
}

const skip = process.platform !== 'linux' || process.getuid?.() !== 0 ? 'needs Linux and root' : whyNoNetns()
  ?? (spawnSync('setfacl', ['--version']).error ? 'setfacl is not installed (Debian package acl; .ci/run installs it)' : null)
  ?? (spawnSync('setpriv', ['--version']).error ? 'setpriv is not installed (util-linux)' : null);

describe("the README's operator's guide on two hosts", { skip: skip ?? false, timeout: 240_000 }, () => {
  const blocks = guideBlocks(README);
  const tag = randomBytes(2).toString('hex');
  let tmp = '';
  let prefix = '';
  const hosts: Host[] = (['alpha', 'beta'] as const).map((name, i) => ({
    name,
    addr: `192.0.2.${i + 1}`,
    ns: `entangled-${process.pid}-${tag}-${'ab'[i]}`,
    etc: `/etc/netns/entangled-${process.pid}-${tag}-${'ab'[i]}`,
    varLib: '',
    unit: null,
    node: null,
    log: '',
  }));
  const env = () => ({ PATH: `${prefix}/bin:${process.env.PATH}`, HOME: '/root', npm_config_prefix: prefix, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });

  /** Runs argv on host `h`: in its namespace, with its /var/lib/entangled, under `umask`. */
  function onHost(h: Host, argv: string[], umask = '0022'): ChildProcess {
    const script = 'mount --bind "$1" /var/lib/entangled && umask "$2" && shift 2 && exec "$@"';
    return spawn('ip', ['netns', 'exec', h.ns, 'sh', '-c', script, 'sh', h.varLib, umask, ...argv], { cwd: tmp, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  }

  function run(h: Host | null, line: string, timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const argv = ['bash', '-o', 'pipefail', '-c', line];
      const p = h ? onHost(h, argv) : spawn(argv[0]!, argv.slice(1), { cwd: tmp, env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      p.stderr!.on('data', (d) => (out += d));
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`${h?.name ?? 'build'}: \`${line}\` did not end in ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      p.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  /** The unit's ExecStartPre then ExecStart, as its User/Group, with its capabilities, umask and environment. */
  async function startUnit(h: Host): Promise<void> {
    assert.ok(h.unit, `${h.name}: the unit was not installed before systemctl start`);
    const s = service(h.unit);
    const user = s.get('User')!;
    const group = s.get('Group') ?? user;
    const caps = (s.get('AmbientCapabilities') ?? '').split(/\s+/).filter(Boolean).map((c) => c.replace(/^CAP_/, '').toLowerCase());
    const drop = ['--bounding-set=-all' + caps.map((c) => `,+${c}`).join('')];
    const setpriv = ['setpriv', `--reuid=${user}`, `--regid=${group}`, '--init-groups', ...(caps.length ? [`--inh-caps=${caps.map((c) => `+${c}`).join(',')}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(',')}`] : []), ...drop, '--'];
    const envs = (s.get('Environment') ?? '').split(/\s+/).filter(Boolean);
    const umask = s.get('UMask') ?? '0022';
    // StateDirectory=: systemd makes /var/lib/NAME, owned by User=, with StateDirectoryMode.
    chownSync(h.varLib, Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', group], { encoding: 'utf8' }).stdout));
    chmodSync(h.varLib, parseInt(s.get('StateDirectoryMode') ?? '0755', 8));
    const argv = (cmd: string) => [...setpriv, 'env', ...envs, ...cmd.split(/\s+/)];
    const pre = s.get('ExecStartPre');
    if (pre) {
      const p = onHost(h, argv(pre), umask);
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      p.stderr!.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((r) => p.on('exit', r));
      assert.equal(code, 0, `${h.name}: ExecStartPre failed:\n${out}`);
    }
    const node = onHost(h, argv(s.get('ExecStart')!), umask);
    h.node = node;
    node.stdout!.on('data', (d) => (h.log += d));
    node.stderr!.on('data', (d) => (h.log += d));
    await waitFor(`${h.name}: node started`, () => h.log.includes('"node started"') || node.exitCode !== null, 15_000);
    assert.equal(node.exitCode, null, `${h.name}: the node exited:\n${h.log}`);
  }

  async function stopUnit(h: Host): Promise<void> {
    const node = h.node;
    assert.ok(node, `${h.name}: not running`);
    const exited = new Promise<number | null>((r) => node.once('exit', (code) => r(code)));
    node.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'slow'>((r) => setTimeout(() => r('slow'), 5000))]);
    assert.equal(code, 0, `${h.name}: SIGTERM did not stop the node with exit 0 within TimeoutStopSec:\n${h.log}`);
    h.node = null;
  }

  /** What this machine cannot be for a namespace, done the way the command means it. */
  async function emulated(h: Host, line: string): Promise<boolean> {
    if (/^apt-get install/.test(line)) return true; // setfacl's presence is this describe's precondition.
    if (/^useradd\b.* entangled$/.test(line) && spawnSync('id', ['entangled']).status === 0) return true; // One /etc/passwd for both hosts.
    const scp = /^scp -p (\S+) (alpha|beta):(\S+)$/.exec(line);
    if (scp) {
      const dest = hosts.find((x) => x.name === scp[2])!;
      const map = (x: Host, p: string) => path.join(x.etc, path.relative('/etc', p));
      copyFileSync(map(h, scp[1]!), map(dest, scp[3]!));
      return true;
    }
    const unitCopy = /^cp "\$\(npm root -g\)\/(\S+)" \/etc\/systemd\/system\/$/.exec(line);
    if (unitCopy) {
      h.unit = readFileSync(path.join(prefix, 'lib/node_modules', unitCopy[1]!), 'utf8');
      return true;
    }
    if (line === 'systemctl daemon-reload && systemctl enable --now entangled' || line === 'systemctl start entangled') {
      await startUnit(h);
      return true;
    }
    if (line === 'systemctl stop entangled') {
      await stopUnit(h);
      return true;
    }
    if (/^journalctl -u entangled -o cat \| head/.test(line)) {
      const head = h.log.split('\n').slice(0, 10).join('\n');
      assert.match(head, /"node started"/, `${h.name}: the journal's head:\n${head}`);
      return true;
    }
    assert.doesNotMatch(line, /^(systemctl|journalctl|scp) /, `the guide test does not know how to emulate \`${line}\``);
    return false;
  }

  /** Fills the placeholders of alpha's config; beta's is its mirror image. */
  function config(h: Host, body: string): string {
    const key = (x: Host) => /publicKey: "([^"]+)"/.exec(readFileSync(path.join(x.etc, 'entangled/node.key'), 'utf8'))?.[1];
    const [a, b] = hosts as [Host, Host];
    let text = body.replace(/<(alpha|beta)'s publicKey>/g, (_m, n: string) => `@${n}.key@`);
    if (h === b) text = text.replace(/alpha|beta|192\.0\.2\.1|192\.0\.2\.2/g, (m) => ({ alpha: 'beta', beta: 'alpha', '192.0.2.1': '192.0.2.2', '192.0.2.2': '192.0.2.1' })[m]!);
    return text.replace(/@(alpha|beta)\.key@/g, (_m, n: string) => key(n === 'alpha' ? a : b)!);
  }

  /** What an operator would have seen, printed as the test's diagnostics. */
  const transcript: string[] = [];

  async function runLine(h: Host | null, line: string): Promise<string> {
    const out = await runLineOnce(h, line);
    transcript.push(`${h?.name ?? 'build'}# ${line}${out ? `\n${out.trimEnd()}` : ''}`);
    return out;
  }

  async function runLineOnce(h: Host | null, line: string): Promise<string> {
    if (h && (await emulated(h, line))) return '';
    // `cmd  # OK: …`: a monitoring check, re-run until it prints the very line the guide shows.
    const shown = /#\s*((?:OK|WARNING|CRITICAL|UNKNOWN): .*)$/.exec(line)?.[1]?.trim();
    let last = { code: null as number | null, out: '' };
    if (shown) {
      await waitFor(`${h?.name}: \`${line}\` prints the line the guide shows`, async () => {
        last = await run(h, line);
        return last.out.trim() === shown;
      }, 20_000, 200).catch((err: Error) => assert.fail(`${err.message}; last output (exit ${last.code}):\n${last.out}\n${h?.log ?? ''}`));
      return last.out;
    }
    last = await run(h, line, 180_000);
    assert.equal(last.code, 0, `${h?.name ?? 'build'}: \`${line}\` exited ${last.code}:\n${last.out}`);
    return last.out;
  }

  before(() => {
    removeStaleNamespaces();
    tmp = mkdtempSync(path.join(tmpdir(), 'entangled-guide-'));
    chmodSync(tmp, 0o755); // The node's user runs the installed package from here.
    prefix = path.join(tmp, 'prefix');
    // `ip netns exec` binds /etc/netns/NS/X over /etc/X only where /etc/X exists: these are the
    // mount points (left in place, empty: another run beside this one may be using them).
    for (const dir of ['/etc/app', '/etc/entangled', '/var/lib/entangled']) {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    }
    ip('netns', 'add', hosts[0]!.ns);
    ip('netns', 'add', hosts[1]!.ns);
    const dev = `eg${tag}`;
    ip('-n', hosts[0]!.ns, 'link', 'add', `${dev}a`, 'type', 'veth', 'peer', 'name', `${dev}b`, 'netns', hosts[1]!.ns);
    for (const [i, h] of hosts.entries()) {
      ip('-n', h.ns, 'link', 'set', 'lo', 'up');
      ip('-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', `${dev}${'ab'[i]}`);
      ip('-n', h.ns, 'link', 'set', `${dev}${'ab'[i]}`, 'up');
      mkdirSync(path.join(h.etc, 'app'), { recursive: true });
      mkdirSync(path.join(h.etc, 'entangled'), { recursive: true });
      (h as { varLib: string }).varLib = path.join(tmp, `${h.name}-var-lib-entangled`);
      mkdirSync(h.varLib);
      // The application's config as each host had it before entangled: root's, and not the same.
      writeFileSync(path.join(h.etc, 'app/app.conf'), h.name === 'alpha' ? 'listen 80\n' : 'listen 80 # beta, stale\n');
    }
  });

  after(() => {
    for (const h of hosts) h.node?.kill('SIGKILL');
    for (const h of hosts) {
      spawnSync('ip', ['netns', 'del', h.ns]);
      rmSync(h.etc, { recursive: true, force: true });
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('every marked block runs as written, from the tarball to a settled split-brain', async (t) => {
    t.after(() => t.diagnostic(transcript.join('\n')));
    assert.ok(blocks.length >= 10, `only ${blocks.length} marked blocks in the guide`);
    const [alpha, beta] = hosts as [Host, Host];
    // The namespaces really hold their own /etc/app: a host's write lands in its own folder only.
    await runLine(alpha, 'test -f /etc/app/app.conf && grep -q "listen 80$" /etc/app/app.conf');
    for (const b of blocks) {
      if (b.who === 'build') {
        // The checkout is this one, built by `npm test`'s pretest: pack it where the hosts take it from.
        assert.match(b.body, /npm pack/);
        const r = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        continue;
      }
      if (b.file) {
        // A config shown for alpha is written on beta too, as its mirror image.
        assert.equal(b.who, 'alpha', 'a file block is shown for alpha');
        for (const h of hosts) {
          writeFileSync(path.join(h.etc, path.relative('/etc', b.file)), config(h, b.body));
        }
        continue;
      }
      // The install needs the registry, which the namespaces cannot reach; both hosts share /usr, so once.
      if (b.who === 'install') {
        for (const l of lines(b.body)) await runLine(null, l);
        continue;
      }
      for (const h of b.who === 'both' ? hosts : hosts.filter((x) => x.name === b.who)) {
        for (const l of lines(b.body)) {
          const out = await runLine(h, l);
          if (l.startsWith('entangled diff')) assert.match(out, /^-listen 8081$[\s\S]*^\+listen 8080$/m, `the diff shows both sides:\n${out}`);
        }
      }
      if (b.step.startsWith('6.') && b.who === 'alpha') {
        // Aligned after the first start, because step 5 made the copies the same.
        assert.equal(readFileSync(path.join(beta.etc, 'app/app.conf'), 'utf8'), 'listen 80\n');
      }
      if (b.step.startsWith('7.')) {
        await waitFor('beta holds the edit made on alpha with `cmd > file`', () => readFileSync(path.join(beta.etc, 'app/app.conf'), 'utf8') === 'listen 8080\n', 5000);
      }
    }
    // The split-brain was settled the way the guide says: alpha's edit won, and both hold it, owned as before.
    for (const h of hosts) {
      const f = path.join(h.etc, 'app/app.conf');
      assert.equal(readFileSync(f, 'utf8'), 'listen 8081\n', `${h.name}'s copy`);
      const st = statSync(f);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, 0, 0o644], `${h.name}'s copy keeps root:root 0644`);
    }
  });
});
