import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { defineCluster, md5, md5File, RunningNode, ROOT, tempDir, waitConnected, waitFor, type NodeDef } from '../helpers/cluster.js';

// CONTRACT.md, Set-up: `npm pack` makes entangled-VERSION.tgz holding only what runs (the built
// code, the example configs and systemd unit, the README); installed globally from it, entangled
// works with the checkout out of the way, with its runtime dependencies only; no install-script
// warning of ours. Needs the npm registry (or its cache) for the dependencies.

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DEV_DEPENDENCIES = ['typescript', 'tsx', 'fast-check', 'playwright-core', '@types/node', 'esbuild'];
/** Install-time scripts npm lists (and, by its allowScripts policy, may block) for a package installed from a tarball. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];
/** An environment where `node` is the one running the tests and nothing points into the checkout. */
const ENV = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NODE_PATH: '', npm_config_prefix: '' };

/** Every package folder under a node_modules tree (scoped ones as `@scope/name`). */
function packagesUnder(modules: string): string[] {
  if (!existsSync(modules)) return [];
  const out: string[] = [];
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.')) continue;
    const dirs = name.startsWith('@') ? readdirSync(path.join(modules, name)).map((n) => `${name}/${n}`) : [name];
    for (const d of dirs) {
      out.push(d);
      out.push(...packagesUnder(path.join(modules, d, 'node_modules')));
    }
  }
  return out;
}

describe('the package: npm pack, then npm install -g from the tarball', { timeout: 120_000 }, () => {
  let tmp: string;
  let tarball: string;
  let files: { path: string; size: number }[];
  let size: number;
  let bin: string;
  let installOutput: string;
  const running: RunningNode[] = [];

  before(async () => {
    tmp = tempDir('entangled-package-');
    // dist/ is built (npm test's pretest): pack it as it is, without prepack's rebuild in place,
    // which would pull dist/ from under the tests running beside this one.
    const packed = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, env: ENV });
    const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; files: { path: string; size: number }[] }[];
    tarball = path.join(tmp, info!.filename);
    files = info!.files;
    size = info!.size;
    // Installed from a folder outside the checkout, as an operator would: a copy, not a link.
    const prefix = path.join(tmp, 'prefix');
    const installed = await run(NPM, ['install', '-g', '--ignore-scripts', '--prefix', prefix, tarball, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: tmp, env: ENV });
    installOutput = installed.stdout + installed.stderr;
    bin = path.join(prefix, 'bin', 'entangled');
  });

  after(async () => {
    await Promise.all(running.map((n) => n.stop('SIGKILL')));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it(`is entangled-${VERSION}.tgz holding only the built code, the example configs and unit, and the README`, () => {
    assert.equal(path.basename(tarball), `entangled-${VERSION}.tgz`);
    const paths = files.map((f) => f.path).sort();
    for (const p of paths) assert.match(p, /^(dist\/.+\.js|config\/.+|README\.md|package\.json)$/, `${p} does not belong in the package`);
    assert.ok(!paths.some((p) => /^(test|bench|src|docs)\//.test(p) || /(^|\/)(test|results)\//.test(p)), 'tests or bench results in the package');
    assert.ok(!paths.some((p) => p.endsWith('.map')), 'source maps, whose sources are not shipped');
    // Built from src/ alone: every module has its source (nothing stale, nothing from test/ or bench/).
    for (const p of paths.filter((f) => f.startsWith('dist/'))) {
      const source = path.join(ROOT, 'src', p.slice('dist/'.length).replace(/\.js$/, '.ts'));
      assert.ok(existsSync(source), `${p} has no source in src/ (stale, or built from elsewhere)`);
    }
    for (const p of ['dist/cli/main.js', 'config/entangled.service', 'config/alpha/entangled.yaml', 'config/beta/entangled.yaml', 'README.md']) {
      assert.ok(paths.includes(p), `${p} is missing`);
    }
    assert.ok(size < 400_000, `the tarball is ${size} bytes`);
  });

  it('declares no install-time script of its own (npm would list it, and may block it, on a global install)', () => {
    const manifest = JSON.parse(readFileSync(path.join(path.dirname(realpathSync(bin)), '..', '..', 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const s of INSTALL_SCRIPTS) assert.equal(manifest.scripts?.[s], undefined, `scripts.${s} in the package`);
  });

  it('installs as a copy with its runtime dependencies only, and without an install-script warning', () => {
    // Any warning but one about the machine's own npm config (an .npmrc key) is the package's.
    assert.doesNotMatch(installOutput, /install-scripts|npm warn (?!config\b)/i, installOutput);
    const pkg = path.join(tmp, 'prefix', 'lib', 'node_modules', 'entangled');
    assert.ok(lstatSync(pkg).isDirectory(), `${pkg} is a link into the checkout`);
    assert.ok(realpathSync(bin).startsWith(realpathSync(tmp)), `${bin} leads to ${realpathSync(bin)}`);
    const installed = packagesUnder(path.join(pkg, 'node_modules'));
    assert.ok(installed.includes('zeromq') && installed.includes('hono'), `runtime dependencies missing: ${installed.join(', ')}`);
    for (const dev of DEV_DEPENDENCIES) assert.ok(!installed.includes(dev), `devDependency ${dev} installed`);
  });

  it('in the checkout, every dependency\'s install script is allowed or denied by name in package.json', async () => {
    const ls = await run(NPM, ['install-scripts', 'ls', '--json'], { cwd: ROOT, env: ENV });
    assert.deepEqual((JSON.parse(ls.stdout) as { allowScripts: unknown[] }).allowScripts, [], ls.stdout);
  });

  it('runs from the install, outside the checkout: --version, check, and two nodes replicating', async () => {
    const version = await run(bin, ['--version'], { cwd: tmp, env: ENV });
    assert.equal(version.stdout.trim(), VERSION);

    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    try {
      const check = await run(bin, ['check', '--config', nodes[0]!.configPath], { cwd: tmp, env: ENV });
      assert.match(check.stdout, /OK: node alpha/);
      const [alpha, beta] = await Promise.all(nodes.map((n) => startInstalled(bin, n)));
      running.push(alpha!, beta!);
      await Promise.all([waitConnected(alpha!), waitConnected(beta!)]);
      writeFileSync(alpha!.file('app.conf'), 'from the installed alpha\n');
      await waitFor('beta takes the change', () => md5File(beta!.file('app.conf')) === md5('from the installed alpha\n'), 8000);
      await alpha!.waitStatus('app.conf', 'aligned');
    } finally {
      await Promise.all(running.map((n) => n.stop('SIGKILL')));
      running.length = 0;
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Starts `entangled start` from the installed `bin` (cwd outside the checkout); resolves once its API answers. */
async function startInstalled(bin: string, def: NodeDef): Promise<RunningNode> {
  const proc = spawn(bin, ['start', '--config', def.configPath, '--log-level', 'debug'], { cwd: path.dirname(def.configPath), env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const node = new RunningNode(def, proc);
  await waitFor(`${def.name} API`, async () => {
    if (proc.exitCode !== null) throw new Error(`exited ${proc.exitCode}: ${node.stderr}`);
    return (await fetch(`${node.api}/api/1/health`).catch(() => null))?.ok;
  }, 10000, 20);
  return node;
}
