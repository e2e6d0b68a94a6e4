/**
 * `npm run soak [-- --nodes N --minutes M --seed S --reconcile auto|manual --keep]`: N real nodes
 * (default 2, up to 10) in a full mesh on loopback, for minutes, with random edits on every node
 * to several files (small ones and one over 1 MiB; saves by rename and in place), random
 * partitions (SIGSTOP of a node for longer than peerTimeoutMs, then SIGCONT) and random restarts
 * (SIGKILL or SIGTERM, then start again). Then it lets things settle and checks, for every file
 * and every pair of nodes, that the pair is aligned (both say so, and the copies are the same) or
 * in a split-brain reported by both (and the copies differ); that every copy holds content
 * somebody wrote; and that a file aligned across the whole cluster holds the last content written
 * on one of the nodes. Prints figures; exits 1 on any violation. Not part of npm test.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, defineCluster, md5, NODE_NAMES, RunningNode, waitFor, type NodeDef, type StateDoc } from './helpers/cluster.js';
import { prng } from './helpers/random.js';

const HELP = `usage: npm run soak -- [--nodes N] [--minutes M] [--seed S] [--reconcile auto|manual] [--keep]
  --nodes N       how many nodes, each a peer of every other (default 2, at most 10)
  --minutes M     how long the random phase runs (default 3; fractions allowed)
  --seed S        PRNG seed (default: random; printed, so a run can be replayed)
  --reconcile M   the nodes' reconcile mode (default auto)
  --keep          keep the temp folder (configs, files, node logs) at the end`;

interface Options {
  nodes: number;
  minutes: number;
  seed: number;
  reconcile: 'auto' | 'manual';
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { nodes: 2, minutes: 3, seed: Math.floor(Math.random() * 2 ** 31), reconcile: 'auto', keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--nodes') o.nodes = Number(value());
    else if (a === '--minutes') o.minutes = Number(value());
    else if (a === '--seed') o.seed = Number(value());
    else if (a === '--reconcile') o.reconcile = value() as Options['reconcile'];
    else if (a === '--keep') o.keep = true;
    else if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(Number.isInteger(o.nodes) && o.nodes >= 2 && o.nodes <= NODE_NAMES.length)) throw new Error(`--nodes must be a whole number from 2 to ${NODE_NAMES.length}`);
  if (!(o.minutes > 0)) throw new Error('--minutes must be a positive number');
  if (!Number.isSafeInteger(o.seed)) throw new Error('--seed must be an integer');
  if (o.reconcile !== 'auto' && o.reconcile !== 'manual') throw new Error('--reconcile is auto or manual');
  return o;
}


const PEER_TIMEOUT_MS = 1000;
const SMALL = ['app.conf', 'db.conf', 'users.conf', 'limits.conf'];
const LARGE = 'big.bin';
const FILES = [...SMALL, LARGE];
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Phase = 'up' | 'stopped' | 'down';

interface Slot {
  def: NodeDef;
  node: RunningNode;
  phase: Phase;
  /** The exit this script caused; any other exit is a crash. */
  expectingExit: boolean;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`soak: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const rand = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const violations: string[] = [];
  const fig = {
    edits: 0, editsInPlace: 0, editsLarge: 0, editsTwoNodes: 0, bursts: 0,
    partitions: 0, restarts: 0, kills: 0, terms: 0,
    splitBrainsSeen: 0, splitBrainsResolved: 0, fastForwards: 0,
  };

  const initial: Record<string, string | Buffer> = {};
  for (const f of SMALL) initial[f] = `${f} initial\n`;
  initial[LARGE] = randomBytes(Math.floor(1.5 * MiB));
  const { root, nodes } = await defineCluster({ nodes: opts.nodes, files: Object.fromEntries(SMALL.map((f) => [f, initial[f] as string])), reconcile: opts.reconcile, peerTimeoutMs: PEER_TIMEOUT_MS });
  // The large file is not in the cluster definition (it writes strings): add it to every config.
  for (const def of nodes) {
    writeFileSync(path.join(def.dir, LARGE), initial[LARGE]!);
    const cfg = readFileSync(def.configPath, 'utf8').replace(/^files:\n/m, `files:\n  - ${LARGE}\n`);
    writeFileSync(def.configPath, cfg);
  }
  const logDir = path.join(root, 'logs');
  mkdirSync(logDir);
  // RunningNode copies every node's stdout (its pino lines) to a file here.
  process.env.ENTANGLED_TEST_LOGS = logDir;

  /** Every content ever written by this script (md5), and the last one per node and file. */
  const written = new Set<string>(FILES.map((f) => md5(initial[f]!)));
  const last: Record<string, Record<string, string>> = {};
  for (const def of nodes) last[def.name] = Object.fromEntries(FILES.map((f) => [f, md5(initial[f]!)]));

  function spawnNode(def: NodeDef): RunningNode {
    const proc = spawn(process.execPath, [CLI, 'start', '--config', def.configPath, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new RunningNode(def, proc);
  }

  const slots: Slot[] = [];
  const watchExit = (slot: Slot) => {
    const node = slot.node;
    void node.exited.then(({ code, signal }) => {
      if (!slot.expectingExit && slot.node === node) violations.push(`${slot.def.name} exited on its own (code ${code}, signal ${signal}): ${node.stderr.slice(0, 500)}`);
    });
  };
  const up = async (slot: Slot) => {
    await waitFor(`${slot.def.name} API`, async () => {
      if (slot.node.proc.exitCode !== null) throw new Error(`exited ${slot.node.proc.exitCode}: ${slot.node.stderr}`);
      return (await fetch(`${slot.node.api}/api/1/health`).catch(() => null))?.ok;
    }, 15_000, 20);
    slot.phase = 'up';
  };
  for (const def of nodes) {
    const slot: Slot = { def, node: spawnNode(def), phase: 'down', expectingExit: false };
    slots.push(slot);
    watchExit(slot);
  }
  await Promise.all(slots.map(up));
  const t0 = Date.now();
  console.log(`soak: seed ${opts.seed}, ${opts.nodes} nodes, ${opts.minutes} min, reconcile ${opts.reconcile}, ${FILES.length} files, folder ${root}`);

  const save = (p: string, data: string | Buffer, inPlace: boolean) => {
    if (inPlace) writeFileSync(p, data);
    else {
      writeFileSync(`${p}.soak-new`, data);
      renameSync(`${p}.soak-new`, p);
    }
  };
  let counter = 0;
  const edit = (slot: Slot, file: string) => {
    const large = file === LARGE;
    // A large file is always saved by rename (an in-place write of MiBs is seen half done).
    const inPlace = !large && rand() < 0.3;
    const data = large ? randomBytes(MiB + Math.floor(rand() * 2 * MiB)) : `${slot.def.name} ${file} #${++counter} ${randomBytes(6).toString('hex')}\n`;
    if (inPlace) written.add(md5('')); // an in-place write truncates first: empty is a state it wrote
    save(slot.node.file(file), data, inPlace);
    written.add(md5(data));
    last[slot.def.name]![file] = md5(data);
    fig.edits++;
    if (inPlace) fig.editsInPlace++;
    if (large) fig.editsLarge++;
  };

  const background: Promise<void>[] = [];
  const partition = (slot: Slot) => {
    slot.phase = 'stopped';
    slot.node.proc.kill('SIGSTOP');
    fig.partitions++;
    const ms = PEER_TIMEOUT_MS * (1.5 + rand() * 1.5);
    background.push((async () => {
      await sleep(ms);
      slot.node.proc.kill('SIGCONT');
      slot.phase = 'up';
    })());
  };
  const restart = (slot: Slot) => {
    const term = rand() < 0.5;
    slot.phase = 'down';
    slot.expectingExit = true;
    fig.restarts++;
    if (term) fig.terms++;
    else fig.kills++;
    const downMs = rand() * 1500;
    background.push((async () => {
      const sent = Date.now();
      slot.node.proc.kill(term ? 'SIGTERM' : 'SIGKILL');
      const { code } = await slot.node.exited;
      if (term && (code !== 0 || Date.now() - sent > 2000)) violations.push(`${slot.def.name}: SIGTERM → exit ${code} after ${Date.now() - sent} ms (want 0 within 2 s)`);
      collect(slot.node);
      await sleep(downMs);
      slot.node = spawnNode(slot.def);
      slot.expectingExit = false;
      watchExit(slot);
      await up(slot).catch((err) => {
        violations.push(`${slot.def.name} did not come back: ${(err as Error).message}`);
      });
    })());
  };

  /** Counts from a node's logs, gathered when it exits (and at the end). */
  const collect = (n: RunningNode) => {
    for (const l of n.logs) {
      if (l.msg.startsWith('split-brain:')) fig.splitBrainsSeen++;
      else if (l.msg === 'split-brain resolved') fig.splitBrainsResolved++;
      else if (l.msg.startsWith('fast-forwarded')) fig.fastForwards++;
      if (l.level >= 50) violations.push(`${n.def.name} logged ${l.level === 50 ? 'an error' : 'a fatal line'}: ${JSON.stringify(l).slice(0, 400)}`);
    }
  };

  // ------------------------------------------------------------------ the random phase
  // At most this many nodes frozen at once (one in a pair or a trio, more in a larger mesh).
  const maxFrozen = Math.max(1, Math.floor((slots.length - 1) / 2));
  const until = t0 + opts.minutes * 60_000;
  let nextReport = t0 + 30_000;
  while (Date.now() < until) {
    const r = rand();
    const slot = pick(slots);
    const others = slots.filter((s) => s !== slot);
    // (No draw with two nodes: a two-node seed replays the run it did before --nodes existed.)
    const other = others.length === 1 ? others[0]! : pick(others);
    if (r < 0.62) edit(slot, rand() < 0.12 ? LARGE : pick(SMALL));
    else if (r < 0.72) {
      // A burst: several quick saves of one file; the last one must travel.
      const f = pick(SMALL);
      const n = 2 + Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) edit(slot, f);
      fig.bursts++;
    } else if (r < 0.8) {
      // Two nodes change one file at about the same time.
      const f = pick(SMALL);
      edit(slot, f);
      edit(other, f);
      fig.editsTwoNodes++;
    } else if (r < 0.9) {
      if (slot.phase === 'up' && slots.filter((s) => s.phase === 'stopped').length < maxFrozen) partition(slot);
    } else if (r < 0.96) {
      if (slot.phase === 'up') restart(slot);
    } else {
      // A quiet spell: the nodes catch up.
      await sleep(500 + rand() * 1500);
    }
    await sleep(10 + rand() * 290);
    if (Date.now() > nextReport) {
      nextReport += 30_000;
      console.log(`soak: ${Math.round((Date.now() - t0) / 1000)} s: ${fig.edits} edits, ${fig.partitions} partitions, ${fig.restarts} restarts`);
    }
  }

  // ------------------------------------------------------------------ settle
  await Promise.all(background);
  for (const s of slots) if (s.phase === 'stopped') s.node.proc.kill('SIGCONT');
  const settleStart = Date.now();
  /** One node's view: file → its status, md5 and what it says of each peer. */
  type View = Record<string, { status: string; md5: string | null; peers: Record<string, string> }>;
  const view = async (s: Slot): Promise<View> => {
    const st: StateDoc = await s.node.state();
    return Object.fromEntries(st.files.map((f) => [f.name, { status: f.status, md5: f.md5, peers: Object.fromEntries(Object.entries(f.peers).map(([n, p]) => [n, p.status])) }]));
  };
  const names = slots.map((s) => s.def.name);
  /** Every pair of nodes once, as indexes into `slots`. */
  const pairs: [number, number][] = [];
  for (let i = 0; i < slots.length; i++) for (let j = i + 1; j < slots.length; j++) pairs.push([i, j]);
  const settledStatus = (s: string | undefined) => s === 'aligned' || s === 'split-brain';
  let views: View[] = [];
  let settled = false;
  try {
    let previous = '';
    await waitFor('every file aligned or split-brain with every peer on every node, stable for 2 s', async () => {
      views = await Promise.all(slots.map(view));
      const done = FILES.every((f) => views.every((v, i) => names.every((n, j) => i === j || settledStatus(v[f]?.peers[n]))));
      const snapshot = JSON.stringify(views);
      const stable = done && snapshot === previous;
      previous = snapshot;
      return stable;
    }, 90_000 + 10_000 * slots.length, 2000);
    settled = true;
  } catch (err) {
    violations.push(`did not settle: ${(err as Error).message}; last view ${JSON.stringify(views).slice(0, 4000)}`);
  }
  const settleMs = Date.now() - settleStart;

  // ------------------------------------------------------------------ checks
  let aligned = 0;
  let splitBrains = 0;
  let pairsAligned = 0;
  let pairsSplit = 0;
  let lost = 0;
  for (const f of FILES) {
    const sums = slots.map((s) => {
      try {
        return md5(readFileSync(s.node.file(f)));
      } catch {
        return null;
      }
    });
    for (const [i, sum] of sums.entries()) {
      if (sum === null || !written.has(sum)) {
        lost++;
        violations.push(`LOST: ${names[i]}:${f} holds ${sum === null ? 'nothing (missing)' : `${sum}, which nobody wrote`}`);
      }
    }
    if (!settled) continue;
    // Every pair: aligned on both sides (same copies) or split-brain on both sides (copies differ).
    let allAligned = true;
    let anySplit = false;
    for (const [i, j] of pairs) {
      const si = views[i]![f]?.peers[names[j]!];
      const sj = views[j]![f]?.peers[names[i]!];
      const pair = `${f} ${names[i]}-${names[j]}`;
      if (si === 'aligned' && sj === 'aligned') {
        pairsAligned++;
        if (sums[i] !== sums[j]) violations.push(`${pair}: reported aligned, but the copies differ (${sums[i]} vs ${sums[j]})`);
        continue;
      }
      allAligned = false;
      if (si === 'split-brain' && sj === 'split-brain') {
        pairsSplit++;
        anySplit = true;
        if (sums[i] === sums[j]) violations.push(`${pair}: split-brain reported by both, but both copies are the same (${sums[i]})`);
      } else {
        violations.push(`${pair}: one-sided status (${names[i]} says ${si}, ${names[j]} says ${sj})`);
      }
    }
    if (allAligned) {
      aligned++;
      const lasts = names.map((n) => last[n]![f]);
      if (!lasts.includes(sums[0]!)) violations.push(`STALE: ${f} aligned on ${sums[0]}, which is no node's last write (${lasts.join(', ')})`);
    }
    if (anySplit) splitBrains++;
  }
  for (const s of slots) {
    collect(s.node);
    s.expectingExit = true;
    s.node.proc.kill('SIGKILL');
    await s.node.exited;
  }

  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log('');
  console.log(`soak figures (seed ${opts.seed}, ${slots.length} nodes, reconcile ${opts.reconcile}, random phase ${secs(until - t0)}, settled in ${secs(settleMs)})`);
  console.log(`  edits          ${fig.edits} (in place ${fig.editsInPlace}, large ${fig.editsLarge}, bursts ${fig.bursts}, two nodes at once ${fig.editsTwoNodes})`);
  console.log(`  partitions     ${fig.partitions} (SIGSTOP ${PEER_TIMEOUT_MS * 1.5}-${PEER_TIMEOUT_MS * 3} ms, at most ${maxFrozen} node${maxFrozen === 1 ? '' : 's'} at once)`);
  console.log(`  restarts       ${fig.restarts} (SIGKILL ${fig.kills}, SIGTERM ${fig.terms})`);
  console.log(`  split-brains   ${splitBrains} files at the end (${pairsSplit} file-pairs); ${fig.splitBrainsSeen} reported and ${fig.splitBrainsResolved} resolved during the run; ${fig.fastForwards} fast-forwards`);
  console.log(`  aligned        ${aligned} of ${FILES.length} files on every node; ${pairsAligned} of ${FILES.length * pairs.length} file-pairs (${pairs.length} pair${pairs.length === 1 ? '' : 's'} of nodes)`);
  console.log(`  lost           ${lost}`);
  console.log(`  violations     ${violations.length}`);
  for (const v of violations.slice(0, 30)) console.log(`    - ${v}`);
  if (opts.keep || violations.length > 0) console.log(`  folder kept: ${root} (node logs in logs/)`);
  else rmSync(root, { recursive: true, force: true });
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
