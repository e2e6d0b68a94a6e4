import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchChromium } from '../helpers/browser.js';
import { defineCluster, patchConfig, runCli, startCluster, startNode, stopAll, waitFor, type RunningNode } from '../helpers/cluster.js';

const MiB = 1024 * 1024;

/**
 * POSTs to `url` with raw node:http: `chunked` sends no Content-Length. Writes `send` bytes, then
 * waits for the answer *without ending the request* (the rest of `total` is never sent), so an
 * answer proves the server did not wait for the whole body.
 */
function postPartly(url: string, opts: { chunked: boolean; total: number; send: number }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (!opts.chunked) headers['Content-Length'] = opts.total;
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    const piece = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = 0; sent < opts.send; sent += piece.length) req.write(piece);
    setTimeout(() => reject(new Error('no answer within 5 s while the body was still open')), 5000).unref();
  });
}

describe('the API refuses a body over 1 MiB, serves its docs at /api/1/docs/ and exposes process metrics', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;

  before(async () => {
    const c = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    root = c.root;
    [a, b] = (await startCluster(c.nodes)) as [RunningNode, RunningNode];
    await a.waitStatus('app.conf', 'aligned');
  });
  after(async () => stopAll([a, b], root));

  it('every counter is there from the start at 0; build info, process metrics and a per file and peer gauge', async () => {
    const text = await (await fetch(`${a.api}/metrics`)).text();
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const line = (re: RegExp) => assert.match(text, re, `no line ${re}`);
    line(new RegExp(`^entangled_build_info\\{version="${version.replaceAll('.', '\\.')}"\\} 1$`, 'm'));
    for (const m of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      line(new RegExp(`^${m} \\d`, 'm'));
    }
    for (const reason of ['malformed', 'wrong_sender', 'not_listed', 'md5_mismatch', 'other']) line(new RegExp(`^entangled_frames_dropped_total\\{reason="${reason}"\\} 0$`, 'm'));
    // No change was made: none sent or received yet, and still a series for each kind.
    for (const kind of ['change', 'have', 'hb']) {
      line(new RegExp(`^entangled_frames_sent_total\\{kind="${kind}"\\} \\d+$`, 'm'));
      line(new RegExp(`^entangled_frames_received_total\\{kind="${kind}"\\} \\d+$`, 'm'));
    }
    line(/^entangled_frames_sent_total\{kind="change"\} 0$/m);
    line(/^entangled_bytes_replicated_total\{direction="received"\} 0$/m);
    line(/^entangled_file_not_aligned\{file="app\.conf",peer="beta",status="aligned"\} 0$/m);
    line(/^entangled_file_error\{file="app\.conf"\} 0$/m);
  });

  it('entangled_file_not_aligned names the file, the peer and its status when a peer is down', async () => {
    b.proc.kill('SIGSTOP');
    try {
      await waitFor('alpha loses beta', async () => !(await a.state()).peers[0]!.connected, 5000);
      const text = await (await fetch(`${a.api}/metrics`)).text();
      assert.match(text, /^entangled_file_not_aligned\{file="app\.conf",peer="beta",status="unknown"\} 1$/m);
      assert.doesNotMatch(text, /^entangled_file_not_aligned\{[^}]*status="aligned"/m, 'one series per file and peer: the aligned one is gone');
    } finally {
      b.proc.kill('SIGCONT');
    }
    await a.waitStatus('app.conf', 'aligned');
  });

  for (const chunked of [false, true]) {
    it(`a 2 MiB body ${chunked ? 'sent chunked (no Content-Length)' : 'with its Content-Length'} gets 413 before it is sent in full`, async () => {
      const r = await postPartly(`${a.api}/api/1/force`, { chunked, total: 2 * MiB, send: chunked ? MiB + 128 * 1024 : 64 * 1024 });
      assert.equal(r.status, 413, r.body);
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
      assert.match(body.error.message, /1 MiB/);
      // The node is unharmed.
      assert.equal((await fetch(`${a.api}/api/1/health`)).status, 200);
    });
  }

  it('a 200 MB chunked body gets 413 at under 10 MiB of the node\'s RSS growth (issue 20: 90 → 670 MB before)', async () => {
    const rss = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${a.proc.pid}/status`, 'utf8'))![1]) * 1024;
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => (sent >= 200e6 ? resolve(0) : reject(err)));
      const piece = Buffer.alloc(256 * 1024, 0x20);
      // As fast as the node takes it, until it answers or 200 MB are out.
      const pump = () => {
        while (sent < 200e6 && !req.destroyed) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        if (!req.destroyed) req.end();
      };
      pump();
    });
    clearInterval(sampler);
    assert.equal(status, 413, `answered ${status} after ${sent} bytes`);
    assert.ok(peak - before < 10 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
    assert.equal((await fetch(`${a.api}/api/1/health`)).status, 200);
  });

  it('a whole 2 MiB body sent by fetch gets 413; one just under 1 MiB is read', async () => {
    const big = await fetch(`${a.api}/api/1/restore`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: ' '.repeat(2 * MiB) }).catch((err: unknown) => err);
    // The server may answer and close before the client has written everything; either way no 2xx.
    if (big instanceof Response) {
      assert.equal(big.status, 413);
      assert.equal(big.headers.get('connection'), 'close', 'the unread rest of the body must not be taken for the next request');
      assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    }
    // fetch keeps its connections: the next requests must not meet a socket the server gave up.
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${a.api}/api/1/health`)).status, 200);
    const json = JSON.stringify({ files: ['app.conf'] });
    const near = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: json + ' '.repeat(MiB - json.length - 16) });
    assert.equal(near.status, 200, await near.clone().text());
    assert.equal(((await near.json()) as { results: { result: string }[] }).results[0]!.result, 'unchanged');
  });

  it('Swagger UI at /api/1/docs/ (trailing slash) too, showing "Bearer <token>" as written', async () => {
    for (const p of ['/api/1/docs', '/api/1/docs/']) {
      const r = await fetch(`${a.api}${p}`);
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    }
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${a.api}/api/1/docs/`);
      await page.locator('.swagger-ui .info .description').waitFor({ timeout: 10_000 });
      assert.match(await page.locator('.swagger-ui .info .description').innerText(), /Authorization: Bearer <token>/);
    } finally {
      await browser.close();
    }
  });
});

describe('api.tokenFile', () => {
  it('a 0600 file gives the token (a reload re-reads it); a file others can read is refused at start and by check, exit 2', async () => {
    const { root, nodes } = await defineCluster({ files: { 'app.conf': 'v0\n' } });
    const [da, db] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const tokenFile = path.join(da.dir, 'api.token');
    writeFileSync(tokenFile, 'first-token\n', { mode: 0o600 });
    patchConfig(da, (cfg) => void ((cfg.api as Record<string, unknown>).tokenFile = 'api.token'));
    const running: RunningNode[] = [];
    try {
      // beta has no token: the helpers' bearer header is ignored there.
      running.push(...(await startCluster([da, db], { token: 'first-token' })));
      const a = running[0]!;
      const state = (token: string) => fetch(`${a.api}/api/1/state`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);
      assert.equal(await state('first-token'), 200);
      assert.equal((await fetch(`${a.api}/api/1/state`)).status, 401);
      assert.equal((await runCli(['status', '--check', '--api', a.api, '--token', 'first-token'])).code, 0);

      writeFileSync(tokenFile, 'second-token\n');
      assert.equal((await a.hup()).msg, 'configuration reloaded');
      assert.equal(await state('second-token'), 200);
      assert.equal(await state('first-token'), 401);

      // Readable by others: a reload is refused (the token stays), start and check exit 2 naming the key.
      chmodSync(tokenFile, 0o644);
      const refused = await a.hup();
      assert.match(refused.msg, /^reload refused/);
      assert.match(JSON.stringify(refused), /api\.tokenFile.*readable by others/);
      assert.equal(await state('second-token'), 200);
      await a.stop();
      const again = await startNode(da, { waitApi: false });
      running.push(again);
      const exit = await again.exited;
      assert.equal(exit.code, 2);
      assert.equal(again.stderr.trimEnd().split('\n').length, 1, again.stderr);
      assert.match(again.stderr, new RegExp(`api\\.tokenFile: ${tokenFile.replaceAll('.', '\\.')} is readable by others`));
      const chk = await runCli(['check', '--config', da.configPath]);
      assert.equal(chk.code, 2);
      assert.match(chk.stderr, /api\.tokenFile/);
    } finally {
      await stopAll(running, root);
    }
  });
});
