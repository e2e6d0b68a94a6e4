import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { defineCluster, md5, md5File, patchConfig, runCli, startCluster, startNode, stopAll, waitConnected, waitFor, type RunningNode } from '../helpers/cluster.js';

// The API cannot be driven from a web page (CONTRACT.md, after the error format), each as the
// attack it defends from, against real nodes over real HTTP: a cross-site POST (a form,
// text/plain, JSON with a foreign Origin), DNS rebinding (a foreign Host), a diff that would
// freeze the node, and event clients by the thousand or that never read.

const run = promisify(execFile);

interface Answer {
  status: number;
  body: string;
  json: any;
}

/** One HTTP request with exactly these headers (Host included), as a browser or an attacker would send it. */
function raw(port: number, method: string, route: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: route, headers, setHost: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON: the assertion on it says so
        }
        resolve({ status: res.statusCode!, body: text, json });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${route}: no answer in 10 s`)));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const read = (n: RunningNode, f: string) => readFileSync(n.file(f), 'utf8');

describe('the API against a web page', () => {
  const running: RunningNode[] = [];
  const roots: string[] = [];
  after(async () => {
    await stopAll(running);
    for (const r of roots) await stopAll([], r);
  });

  async function splitBrain(hosts?: string[]): Promise<[RunningNode, RunningNode]> {
    const { root, nodes } = await defineCluster({ contents: { alpha: { 'app.conf': 'alpha says\n' }, beta: { 'app.conf': 'beta says\n' } } });
    roots.push(root);
    if (hosts) patchConfig(nodes[0]!, (cfg) => ((cfg.api as Record<string, unknown>).hosts = hosts));
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    running.push(a, b);
    await a.waitStatus('app.conf', 'split-brain');
    return [a, b];
  }

  it('a cross-site POST (text/plain, a form, JSON with a foreign Origin) is 415 or 403 and changes nothing; the seed\'s bare curl POST still forces', async () => {
    const [a, b] = await splitBrain();
    const port = a.def.ports.api;
    const host = `127.0.0.1:${port}`;
    const pull = '{"direction":"pull"}';
    const evil = 'http://evil.example';
    const attacks: { what: string; headers: Record<string, string>; body?: string; status: number; code: string }[] = [
      { what: 'text/plain from a page', headers: { Host: host, Origin: evil, 'Content-Type': 'text/plain' }, body: pull, status: 403, code: 'FORBIDDEN' },
      { what: 'a form from a page', headers: { Host: host, Origin: evil, 'Content-Type': 'application/x-www-form-urlencoded' }, body: pull, status: 403, code: 'FORBIDDEN' },
      { what: 'an empty form from a page', headers: { Host: host, Origin: evil, 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '0' }, body: '', status: 403, code: 'FORBIDDEN' },
      { what: 'multipart from a page', headers: { Host: host, Origin: evil, 'Content-Type': 'multipart/form-data; boundary=x' }, body: `--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n${pull}\r\n--x--\r\n`, status: 403, code: 'FORBIDDEN' },
      { what: 'JSON with a foreign Origin', headers: { Host: host, Origin: evil, 'Content-Type': 'application/json' }, body: pull, status: 403, code: 'FORBIDDEN' },
      { what: 'JSON with Origin null (a sandboxed frame)', headers: { Host: host, Origin: 'null', 'Content-Type': 'application/json' }, body: pull, status: 403, code: 'FORBIDDEN' },
      { what: 'text/plain, no Origin', headers: { Host: host, 'Content-Type': 'text/plain' }, body: pull, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'a form, no Origin (curl -d)', headers: { Host: host, 'Content-Type': 'application/x-www-form-urlencoded' }, body: pull, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { what: 'a body without a type', headers: { Host: host, 'Content-Length': String(pull.length) }, body: pull, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    ];
    for (const route of ['/api/1/force', '/api/1/restore']) {
      for (const at of attacks) {
        const body = route === '/api/1/restore' && at.body ? '{"file":"app.conf"}' : at.body;
        const r = await raw(port, 'POST', route, at.headers, body);
        assert.equal(r.status, at.status, `${route}, ${at.what}: ${r.body}`);
        assert.equal(r.json?.error?.code, at.code, `${route}, ${at.what}: ${r.body}`);
        assert.doesNotMatch(r.json.error.message, /\n/);
      }
    }
    // Nothing changed: on disk, in the state, in the log.
    assert.equal(read(a, 'app.conf'), 'alpha says\n');
    assert.equal(read(b, 'app.conf'), 'beta says\n');
    assert.equal((await a.state()).files[0]!.status, 'split-brain');
    assert.equal(a.logs.filter((l) => l.msg === 'forced pull').length, 0);

    // The seed's bare curl POST goes through (a pull: alpha takes beta's copy), and so does the
    // status page's own (its Origin is the API's).
    const { stdout } = await run('curl', ['-s', '-X', 'POST', `http://localhost:${port}/api/1/force`]);
    const report = JSON.parse(stdout) as { results: { result: string }[] };
    assert.equal(report.results[0]!.result, 'updated', stdout);
    assert.equal(read(a, 'app.conf'), 'beta says\n');
    const own = await raw(port, 'POST', '/api/1/force', { Host: `localhost:${port}`, Origin: `http://localhost:${port}`, 'Content-Type': 'application/json' }, '{"files":["app.conf"],"direction":"push"}');
    assert.equal(own.status, 200, own.body);
    assert.equal(own.json.results[0].result, 'unchanged');
  });

  it('a foreign Host (DNS rebinding) is 403 on every route and reads nothing; localhost, the address and api.hosts (reloaded too) are answered', async () => {
    const [a] = await splitBrain(['entangled.test']);
    const port = a.def.ports.api;
    const routes = ['/api/1/state', '/api/1/diff?file=app.conf', '/api/1/health', '/api/1/backups?file=app.conf', '/api/1/openapi.json', '/metrics', '/'];
    for (const route of routes) {
      for (const host of [`evil.example:${port}`, `rebind.attacker.test:${port}`, `localhost.evil.example:${port}`, `other.test:${port}`]) {
        const r = await raw(port, 'GET', route, { Host: host });
        assert.equal(r.status, 403, `${host} ${route}: ${r.body}`);
        assert.equal(r.json?.error?.code, 'FORBIDDEN', r.body);
        assert.doesNotMatch(r.body, /alpha says|"files"|"node"/, 'nothing of the node in the refusal');
      }
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `entangled.test:${port}`, `ENTANGLED.test:${port}`]) {
        const r = await raw(port, 'GET', route, { Host: host });
        assert.equal(r.status, 200, `${host} ${route}: ${r.body.slice(0, 200)}`);
      }
    }
    const ev = await raw(port, 'GET', '/api/1/events', { Host: `evil.example:${port}` });
    assert.equal(ev.status, 403);

    // api.hosts takes effect on reload, like api.token.
    patchConfig(a.def, (cfg) => ((cfg.api as Record<string, unknown>).hosts = ['other.test']));
    const line = await a.hup();
    assert.equal(line.msg, 'configuration reloaded', JSON.stringify(line));
    assert.equal((await raw(port, 'GET', '/api/1/state', { Host: `other.test:${port}` })).status, 200);
    assert.equal((await raw(port, 'GET', '/api/1/state', { Host: `entangled.test:${port}` })).status, 403);
  });

  it('bound to 0.0.0.0, any of the host\'s addresses is answered and a foreign name is not', async () => {
    const { root, nodes } = await defineCluster();
    roots.push(root);
    patchConfig(nodes[0]!, (cfg) => ((cfg.api as Record<string, unknown>).host = '0.0.0.0'));
    const a = await startNode(nodes[0]!);
    running.push(a);
    const port = a.def.ports.api;
    const addresses = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((i) => !i.address.startsWith('fe80'));
    assert.ok(addresses.length > 0);
    for (const i of addresses) {
      const host = i.family === 'IPv6' ? `[${i.address}]:${port}` : `${i.address}:${port}`;
      assert.equal((await raw(port, 'GET', '/api/1/health', { Host: host })).status, 200, host);
    }
    assert.equal((await raw(port, 'GET', '/api/1/health', { Host: `localhost:${port}` })).status, 200);
    assert.equal((await raw(port, 'GET', '/api/1/health', { Host: `evil.example:${port}` })).status, 403);
    assert.equal((await raw(port, 'GET', '/api/1/health', { Host: `192.0.2.99:${port}` })).status, 403, 'an address that is not this host\'s');
  });

  it('a 12,000-line split-brain diff answers within 2 s with tooLarge; meanwhile health answers and a 1 KiB change replicates', async () => {
    const lines = (who: string) => Array.from({ length: 12_000 }, (_, i) => `${who} ${String(i).padStart(5, '0')} ${'x'.repeat(4)}`).join('\n') + '\n';
    const mine = lines('alpha');
    const theirs = lines('beta-');
    assert.ok(mine.length >= 200_000 && theirs.length >= 200_000, `${mine.length} bytes a side`);
    const { root, nodes } = await defineCluster({ files: { 'big.conf': 'same\n', 'small.conf': 'small\n' }, contents: { alpha: { 'big.conf': mine }, beta: { 'big.conf': theirs } } });
    roots.push(root);
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    running.push(a, b);
    await a.waitStatus('big.conf', 'split-brain');
    await a.waitStatus('small.conf', 'aligned');

    const started = performance.now();
    const diff = fetch(`${a.api}/api/1/diff?file=big.conf`).then(async (r) => ({ status: r.status, body: (await r.json()) as any, ms: performance.now() - started }));
    // Meanwhile: health within 500 ms each time, and a 1 KiB change of another file reaches beta.
    const change = `${'k'.repeat(1023)}\n`;
    const wrote = performance.now();
    writeFileSync(a.file('small.conf'), change);
    let health = 0;
    let worstHealth = 0;
    let arrived: number | null = null;
    while (performance.now() - started < 2500 && (arrived === null || health < 5)) {
      const t = performance.now();
      const h = await fetch(`${a.api}/api/1/health`, { signal: AbortSignal.timeout(2000) });
      assert.equal(h.status, 200);
      worstHealth = Math.max(worstHealth, performance.now() - t);
      health++;
      if (arrived === null && md5File(b.file('small.conf')) === md5(change)) arrived = performance.now() - wrote;
    }
    const d = await diff;
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.ok(d.ms < 2000, `the diff answered in ${Math.round(d.ms)} ms`);
    assert.equal(d.body.tooLarge, true);
    assert.equal(d.body.diff, null);
    assert.equal(d.body.binary, false);
    assert.equal(d.body.local, md5(mine));
    assert.equal(d.body.remote, md5(theirs));
    assert.ok(worstHealth < 500, `health answered within ${Math.round(worstHealth)} ms while the diff ran`);
    assert.notEqual(arrived, null, 'the 1 KiB change reached beta while the diff ran');
    assert.ok(arrived! < 1000, `the 1 KiB change took ${Math.round(arrived!)} ms`);
    assert.ok(b.logs.every((l) => l.msg !== 'peer lost'), 'beta never lost alpha');
    const cli = await runCli(['diff', '--api', a.api, '--file', 'big.conf']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^big\.conf: too large to diff \(here [0-9a-f]+, beta [0-9a-f]+;/);

    // A small split-brain still gets its diff.
    writeFileSync(a.file('big.conf'), 'one\ntwo\n');
    await a.waitHashed('big.conf', 'one\ntwo\n');
    const small = (await (await fetch(`${a.api}/api/1/diff?file=big.conf`)).json()) as any;
    assert.equal(small.tooLarge, undefined);
    assert.equal(typeof small.diff, 'string');
    assert.match(small.diff, /^\+\+\+ beta:big\.conf/m);
  });
});

/** Opens GET /api/1/events on a raw socket; resolves with its status line's code once the headers are in. */
function openEvents(port: number): Promise<{ socket: Socket; status: number; text: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buf = '';
    let done = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (!done && m && buf.includes('\r\n\r\n')) {
        done = true;
        resolve({ socket, status: Number(m[1]), text: () => buf });
      }
    });
    socket.on('error', (err) => (done ? undefined : reject(err)));
    socket.write(`GET /api/1/events?settle=0 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

/** The resident memory of a process, in bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describe('event clients', () => {
  const running: RunningNode[] = [];
  const roots: string[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    await stopAll(running);
    for (const r of roots) await stopAll([], r);
  });

  it('2,000 clients: 64 follow, the others get 503 at once, and a change is as fast with them as without', async () => {
    const { root, nodes } = await defineCluster();
    roots.push(root);
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    running.push(a, b);
    const port = a.def.ports.api;
    const open: Socket[] = [];
    let refused = 0;
    for (let i = 0; i < 2000; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => openEvents(port)));
      for (const c of batch) {
        if (c.status === 200) {
          open.push(c.socket);
          sockets.push(c.socket);
        } else {
          assert.equal(c.status, 503, c.text());
          assert.match(c.text(), /"code":"BUSY"/);
          refused++;
          c.socket.destroy();
        }
      }
    }
    assert.equal(open.length, 64);
    assert.equal(refused, 2000 - 64);

    // A change's latency (alpha's write until beta holds it), alternated with the 64 following and without.
    let n = 0;
    const latency = async () => {
      const content = `round ${n++}\n`;
      const t = performance.now();
      writeFileSync(a.file('app.conf'), content);
      await waitFor('beta has it', () => md5File(b.file('app.conf')) === md5(content), 5000, 2);
      return performance.now() - t;
    };
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const withThem: number[] = [];
    for (let i = 0; i < 5; i++) withThem.push(await latency());
    for (const s of open) s.destroy();
    await waitFor('the followers are gone', async () => (await openEvents(port).then((c) => (c.socket.destroy(), c.status))) === 200);
    const without: number[] = [];
    for (let i = 0; i < 5; i++) without.push(await latency());
    assert.ok(median(withThem) < median(without) + 100, `with 64 followers ${withThem.map(Math.round)} ms, without ${without.map(Math.round)} ms`);
    await waitConnected(a);
  });

  it('a client that never reads is dropped while changes flow; memory stays bounded and a reading client gets every change', async () => {
    // Long paths make each file event a few KiB, so a few hundred changes fill what a stuck client holds.
    const { root, nodes } = await defineCluster({ files: { 'seed.conf': 'seed\n' } });
    roots.push(root);
    const deep = (dir: string) => path.join(dir, ...Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(240)}`));
    const names = Array.from({ length: 20 }, (_, i) => `f${i}.conf`);
    for (const n of nodes) {
      mkdirSync(deep(n.dir), { recursive: true });
      for (const f of names) writeFileSync(path.join(deep(n.dir), f), 'v0\n');
      patchConfig(n, (cfg) => (cfg.files = ['seed.conf', ...names.map((f) => ({ path: path.join(deep(n.dir), f), name: f }))]));
    }
    const [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
    running.push(a, b);
    const port = a.def.ports.api;

    const stuck = await openEvents(port);
    assert.equal(stuck.status, 200);
    stuck.socket.pause(); // never reads again
    sockets.push(stuck.socket);
    const reader = await openEvents(port);
    assert.equal(reader.status, 200);
    sockets.push(reader.socket);

    const before = rss(a.proc.pid!);
    let round = 0;
    const dropped = () => a.logs.some((l) => /dropped an events client that does not read/.test(l.msg));
    while (!dropped() && round < 150) {
      round++;
      for (const f of names) writeFileSync(path.join(deep(a.def.dir), f), `round ${round}\n`);
      await waitFor(`round ${round} at beta`, () => md5File(path.join(deep(b.def.dir), names.at(-1)!)) === md5(`round ${round}\n`), 5000, 5);
    }
    assert.ok(dropped(), `the stuck client was dropped (${round} rounds of ${names.length} changes)`);
    const grew = rss(a.proc.pid!) - before;
    assert.ok(grew < 64 * 1024 * 1024, `alpha's memory grew by ${Math.round(grew / 1048576)} MiB`);

    // The reading client heard the last round; the stuck one, once it reads, finds its stream ended.
    await waitFor('the reader has the last round', () => names.every((f) => reader.text().includes(`"name":"${f}"`)) && reader.text().includes(`"md5":"${md5(`round ${round}\n`)}"`));
    const end = new Promise<void>((resolve) => stuck.socket.once('end', resolve));
    stuck.socket.resume();
    await Promise.race([end, new Promise((_, reject) => setTimeout(() => reject(new Error('the stuck client\'s stream was never closed')), 10_000))]);
    assert.ok(stuck.text().split('event: file').length < reader.text().split('event: file').length, 'the stuck client was cut off before the end');
  });
});

