import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { isTempFor } from '../../src/io/atomic-write.js';
import { Journal } from '../../src/io/journal.js';

function capture(): { log: pino.Logger; lines: { level: number; msg: string; path?: string }[] } {
  const lines: { level: number; msg: string; path?: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('isTempFor', () => {
  const table: { name: string; base: string; expect: boolean }[] = [
    { name: '.alpha.journal.json.0123456789ab.entangled-tmp', base: 'alpha.journal.json', expect: true },
    { name: '.beta.journal.json.0123456789ab.entangled-tmp', base: 'alpha.journal.json', expect: false },
    { name: '.x.alpha.journal.json.0123456789ab.entangled-tmp', base: 'alpha.journal.json', expect: false },
    { name: '.alpha.journal.json.0123456789ab.entangled-tmp.bak', base: 'alpha.journal.json', expect: false },
    { name: '.alpha.journal.json.0123456789AB.entangled-tmp', base: 'alpha.journal.json', expect: false },
    { name: '.alpha.journal.json.123.entangled-tmp', base: 'alpha.journal.json', expect: false },
    { name: 'alpha.journal.json', base: 'alpha.journal.json', expect: false },
  ];
  for (const { name, base, expect } of table) {
    it(`${name} for ${base}: ${expect}`, () => assert.equal(isTempFor(name, base), expect));
  }
});

describe('Journal.load', () => {
  it('removes its own temp files left by a crash during a save, and leaves other nodes\' alone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'entangled-journal-'));
    try {
      const mine = '.alpha.journal.json.0123456789ab.entangled-tmp';
      const other = '.beta.journal.json.0123456789ab.entangled-tmp';
      for (const n of [mine, other]) writeFileSync(path.join(dir, n), '{"v":1,');
      const { log, lines } = capture();
      const j = new Journal(dir, 'alpha', log);
      await j.load();
      assert.deepEqual(readdirSync(dir).sort(), [other]);
      assert.ok(lines.some((l) => l.msg === 'removed a temp file left by a crash' && l.path === path.join(dir, mine)));
      assert.equal(j.agreed('beta', 'app.conf'), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts empty with a warn line when the journal is corrupt, and saves a valid one again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'entangled-journal-'));
    try {
      const file = path.join(dir, 'alpha.journal.json');
      writeFileSync(file, '{"v":1,"node":"alpha","agr');
      const { log, lines } = capture();
      const j = new Journal(dir, 'alpha', log);
      await j.load();
      const warn = lines.find((l) => l.msg.includes('journal is corrupt'));
      assert.ok(warn);
      assert.equal(warn.level, 40);
      assert.equal(warn.path, file);
      j.record('beta', 'app.conf', 'd41d8cd98f00b204e9800998ecf8427e');
      await j.flush();
      const again = new Journal(dir, 'alpha', log);
      await again.load();
      assert.equal(again.agreed('beta', 'app.conf'), 'd41d8cd98f00b204e9800998ecf8427e');
      assert.ok(existsSync(file));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Journal.durable: what is on disk', () => {
  const M1 = '11111111111111111111111111111111';
  const M2 = '22222222222222222222222222222222';
  it('a record is not durable until its save ends; then it is, and a listener hears of it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'entangled-journal-'));
    try {
      const j = new Journal(dir, 'alpha', capture().log);
      await j.load();
      let saves = 0;
      j.onSaved(() => saves++);
      j.record('beta', 'app.conf', M1);
      assert.equal(j.agreed('beta', 'app.conf'), M1, 'in memory at once');
      assert.equal(j.durable('beta', 'app.conf', M1), false, 'durable before any write');
      await j.flush();
      assert.equal(j.durable('beta', 'app.conf', M1), true);
      assert.equal(j.durable('beta', 'app.conf', M2), false, 'another version');
      assert.equal(j.durable('gamma', 'app.conf', M1), false, 'another peer');
      assert.ok(saves >= 1);
      j.record('beta', 'app.conf', M2);
      assert.equal(j.durable('beta', 'app.conf', M2), false);
      await j.flush();
      assert.equal(j.durable('beta', 'app.conf', M2), true);
      const again = new Journal(dir, 'alpha', capture().log);
      await again.load();
      assert.equal(again.agreed('beta', 'app.conf'), M2, 'what was durable is what a restart reads');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a record whose save failed stays not durable, and the failure is logged', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'entangled-journal-'));
    try {
      const { log, lines } = capture();
      const j = new Journal(dir, 'alpha', log);
      await j.load();
      rmSync(dir, { recursive: true, force: true });
      j.record('beta', 'app.conf', M1);
      await j.flush();
      assert.equal(j.durable('beta', 'app.conf', M1), false);
      assert.ok(lines.some((l) => l.msg === 'journal save failed'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
