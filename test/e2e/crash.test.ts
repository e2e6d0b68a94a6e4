import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkJournal } from '../../src/io/journal.js';
import { defineCluster, md5, md5File, startCluster, startNode, stopAll, waitConnected, waitFor, type NodeDef, type RunningNode } from '../helpers/cluster.js';
import { prng } from '../helpers/random.js';

const MiB = 1024 * 1024;
const TEMP_RE = /\.entangled-tmp$/;
const KILLS = 12;

function save(p: string, data: Buffer): void {
  writeFileSync(`${p}.new`, data);
  renameSync(`${p}.new`, p);
}

const temps = (dir: string): string[] => readdirSync(dir).filter((n) => TEMP_RE.test(n));

/** The journal as it is on disk right now: absent (null) or a valid document; throws when corrupt. */
function readJournal(def: NodeDef): unknown {
  const file = path.join(def.dir, 'state', `${def.name}.journal.json`);
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`journal is not JSON after a kill: ${String(err)}: ${JSON.stringify(text.slice(0, 200))}`);
  }
  assert.notEqual(checkJournal(doc, def.name), null, `journal has a bad shape: ${text.slice(0, 200)}`);
  return doc;
}

describe('SIGKILL of the receiver during a large apply', () => {
  const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rand = prng(seed);
  let root: string;
  let alpha: RunningNode;
  let beta: RunningNode;
  let betaDef: NodeDef;
  /** Every full version ever written: a reader may see any of them, never anything else. */
  const versions = new Set<string>();
  const readerViolations: string[] = [];
  let reads = 0;
  let reading = true;
  let reader: Promise<void> = Promise.resolve();

  before(async () => {
    const cluster = await defineCluster({ files: { 'big.bin': 'placeholder\n' }, reconcile: 'auto', peerTimeoutMs: 1000 });
    root = cluster.root;
    betaDef = cluster.nodes[1]!;
    const v0 = randomBytes(6 * MiB);
    versions.add(md5(v0));
    for (const n of cluster.nodes) writeFileSync(path.join(n.dir, 'big.bin'), v0);
    [alpha, beta] = (await startCluster(cluster.nodes)) as [RunningNode, RunningNode];
    await alpha.waitStatus('big.bin', 'aligned');
    await beta.waitStatus('big.bin', 'aligned');
    // A reader of beta's copy, all along: the file is always one full version.
    const target = beta.file('big.bin');
    reader = (async () => {
      while (reading) {
        try {
          const got = md5(await readFile(target));
          reads++;
          if (!versions.has(got)) readerViolations.push(`read ${got}, not a full version`);
        } catch (err) {
          readerViolations.push(`read failed: ${String(err)}`);
        }
      }
    })();
  });

  after(async () => {
    reading = false;
    await reader;
    await stopAll([alpha, beta].filter(Boolean), root);
  });

  it(`is killed ${KILLS} times at random moments: never a partial file, no stray temp after restart, journal intact`, { timeout: 90_000 }, async () => {
    const dir = betaDef.dir;
    const stateDir = path.join(dir, 'state');
    let cur = [...versions][0]!;
    let hitMidTransfer = 0;
    let removedAtStart = 0;
    let killedBeforeRename = 0;
    const t0 = Date.now();
    try {
      // One change first, untouched, to learn how long an apply takes here.
      const warm = randomBytes(16 * MiB);
      versions.add(md5(warm));
      const w0 = Date.now();
      save(alpha.file('big.bin'), warm);
      await waitFor('beta takes the warm-up version', () => md5File(beta.file('big.bin')) === md5(warm), 30_000, 2);
      const applyMs = Math.max(20, Date.now() - w0);
      await alpha.waitStatus('big.bin', 'aligned', 15_000);
      cur = md5(warm);

      for (let i = 0; i < KILLS; i++) {
        const next = randomBytes((8 + Math.floor(rand() * 12)) * MiB + Math.floor(rand() * 4096));
        const nextMd5 = md5(next);
        versions.add(nextMd5);
        const inode = statSync(beta.file('big.bin')).ino;
        save(alpha.file('big.bin'), next);
        if (i % 2 === 0) {
          // A random moment after the change was made (it may be before, during or after the apply).
          await new Promise((r) => setTimeout(r, Math.floor(rand() * applyMs * 1.2)));
        } else {
          // A random moment once the transfer is under way (its temp file exists).
          await waitFor('the transfer starts', () => temps(dir).length > 0 || statSync(beta.file('big.bin')).ino !== inode, 20_000, 1);
          await new Promise((r) => setTimeout(r, Math.floor(rand() * applyMs * 0.3)));
        }
        beta.proc.kill('SIGKILL');
        await beta.exited;

        const held = md5File(beta.file('big.bin'));
        assert.ok(held === cur || held === nextMd5, `kill ${i}: beta holds ${held}, neither the old nor the new version`);
        if (held === cur) killedBeforeRename++;
        readJournal(betaDef);
        const stray = [...temps(dir), ...temps(stateDir).map((n) => path.join('state', n))];
        if (temps(dir).length > 0) hitMidTransfer++;

        beta = await startNode(betaDef);
        for (const t of stray) assert.equal(existsSync(path.join(dir, t)), false, `kill ${i}: ${t} is still there after the restart`);
        if (stray.length > 0) {
          const logged = beta.logs.filter((l) => l.msg === 'removed a temp file left by a crash').map((l) => path.relative(dir, l.path!));
          assert.deepEqual(logged.sort(), stray.sort(), `kill ${i}: every stray temp file is logged as removed`);
          removedAtStart += stray.length;
        }
        // reconcile: auto: beta's copy is still the agreed one, so it takes alpha's (or already has it).
        await waitFor(`kill ${i}: beta holds the new version after its restart`, () => md5File(beta.file('big.bin')) === nextMd5, 30_000, 5);
        await waitConnected(beta, 15_000);
        await beta.waitStatus('big.bin', 'aligned', 15_000);
        await alpha.waitStatus('big.bin', 'aligned', 15_000);
        assert.deepEqual(temps(dir), [], `kill ${i}: no temp file once aligned`);
        // The journal is saved off the main thread just after the apply: its temp file may exist for a moment, never for long.
        await waitFor(`kill ${i}: no journal temp file left once aligned`, () => temps(stateDir).length === 0, 5000, 5);
        await waitFor(`kill ${i}: the journal records the new version`, () => {
          const doc = readJournal(betaDef) as { agreed: Record<string, Record<string, string>> } | null;
          return doc?.agreed.alpha?.['big.bin'] === nextMd5;
        }, 5000);
        cur = nextMd5;
        assert.deepEqual(readerViolations, [], `kill ${i}: a reader saw a partial file`);
      }
      assert.ok(reads > KILLS, `the reader read ${reads} times`);
      // The point of the test: some kills must land while a temp file was being written.
      assert.ok(hitMidTransfer >= 1, 'no kill landed during a transfer');
      assert.equal(alpha.proc.exitCode, null);
    } catch (err) {
      throw new Error(`${(err as Error).message} (CRASH_SEED=${seed})`, { cause: err });
    } finally {
      console.log(
        `crash: seed ${seed}, ${KILLS} kills, ${hitMidTransfer} mid-transfer, ${killedBeforeRename} before the rename, ` +
          `${removedAtStart} temp files removed at start, ${reads} reads, ${Date.now() - t0} ms`,
      );
    }
  });
});

describe('a corrupt journal', () => {
  it('is a clear warn line at start, not a crash, and is rewritten once the node agrees with its peer', { timeout: 60_000 }, async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'listen 80\n' }, reconcile: 'auto' });
    let alpha: RunningNode | undefined;
    let beta: RunningNode | undefined;
    try {
      [alpha, beta] = (await startCluster(nodes)) as [RunningNode, RunningNode];
      const betaDef = nodes[1]!;
      const journal = path.join(betaDef.dir, 'state', 'beta.journal.json');
      await waitFor('beta journals the agreement', () => existsSync(journal));
      const good = readFileSync(journal, 'utf8');
      const garbage: [string, string | Buffer][] = [
        ['text', 'this is not json {{{'],
        ['empty', ''],
        ['binary', randomBytes(512)],
        ['truncated', good.slice(0, Math.floor(good.length / 2))],
        ['an array', '[1,2,3]'],
        ['another node', good.replace('"node":"beta"', '"node":"gamma"')],
        ['a bad md5', JSON.stringify({ v: 1, node: 'beta', agreed: { alpha: { 'app.conf': '../../etc/passwd' } } })],
        ['a newer version', JSON.stringify({ v: 99, node: 'beta', agreed: {} })],
      ];
      for (const [what, content] of garbage) {
        await beta.stop('SIGKILL');
        writeFileSync(journal, content);
        // As a kill during a journal save leaves it: the journal's own temp file, removed at start.
        const stray = path.join(betaDef.dir, 'state', `.beta.journal.json.${randomBytes(6).toString('hex')}.entangled-tmp`);
        writeFileSync(stray, good.slice(0, 10));
        beta = await startNode(betaDef);
        assert.equal(existsSync(stray), false, `${what}: the journal's stray temp file is removed at start`);
        const warn = await beta.waitLog((l) => l.msg.includes('journal is corrupt'), `a corrupt-journal warning (${what})`);
        assert.equal(warn.level, 40, `${what}: a warn line`);
        assert.equal(warn.path, journal, `${what}: the line names the journal`);
        assert.equal((await fetch(`${beta.api}/api/1/health`)).status, 200, `${what}: the node serves`);
        await beta.waitStatus('app.conf', 'aligned');
        await waitFor(`${what}: the journal is rewritten`, () => {
          try {
            return checkJournal(JSON.parse(readFileSync(journal, 'utf8')), 'beta')?.alpha?.['app.conf'] === md5('listen 80\n');
          } catch {
            return false;
          }
        }, 5000);
        assert.equal(beta.proc.exitCode, null);
        assert.equal(beta.stderr, '', `${what}: nothing on stderr`);
      }
    } finally {
      await stopAll([alpha, beta].filter((r): r is RunningNode => r !== undefined), root);
    }
  });
});
