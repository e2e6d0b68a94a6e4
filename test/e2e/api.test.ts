import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  defineCluster,
  diverge,
  md5,
  md5File,
  runCli,
  startCluster,
  stopAll,
  waitFor,
  type NodeDef,
  type RunningNode,
} from '../helpers/cluster.js';

interface ErrorBody {
  error: { code: string; message: string };
}

async function call(node: RunningNode, path: string, init: RequestInit = {}): Promise<{ status: number; body: any; type: string }> {
  const res = await fetch(`${node.api}${path}`, { ...init, headers: { ...node.headers(), ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.includes('json') ? JSON.parse(text) : text, type };
}

const force = (node: RunningNode, body?: unknown) =>
  call(node, '/api/1/force', body === undefined ? { method: 'POST' } : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

function assertError(r: { status: number; body: ErrorBody; type: string }, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /application\/json/);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
  if (message) assert.match(r.body.error.message, message);
  assert.doesNotMatch(JSON.stringify(r.body), /\bat .+\.(js|ts):\d+/, 'stack trace in an error');
}

describe('management API between two real nodes', () => {
  let root: string;
  let nodes: NodeDef[];
  let a: RunningNode;
  let b: RunningNode;
  const FILES = { 'app.conf': 'v0\n', 'other.conf': 'o0\n', 'bin.dat': 'b0\n', 'only-alpha.conf': 'a\n' };

  before(async () => {
    ({ root, nodes } = await defineCluster({ files: FILES, contents: { beta: { 'only-alpha.conf': null } } }));
    [a, b] = (await startCluster(nodes)) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  it('GET /api/1/health', async () => {
    const r = await call(a, '/api/1/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', node: 'alpha' });
  });

  it('a bare POST /api/1/force (no body) pulls every file from the only peer', async () => {
    const r = await force(a);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.peer, 'beta');
    assert.equal(r.body.direction, 'pull');
    assert.deepEqual(r.body.results.map((x: { name: string }) => x.name).sort(), Object.keys(FILES).sort());
    const byName = Object.fromEntries(r.body.results.map((x: { name: string }) => [x.name, x]));
    assert.equal(byName['app.conf'].result, 'unchanged');
    assert.equal(byName['app.conf'].path, a.file('app.conf'));
    assert.equal(byName['app.conf'].md5, md5('v0\n'));
    assert.equal(byName['only-alpha.conf'].result, 'failed');
    assert.match(byName['only-alpha.conf'].error, /no such file/);
  });

  it('force pull resolves a split-brain: this node takes the peer\'s bytes, keeps its mode, both aligned', async () => {
    chmodSync(a.file('app.conf'), 0o640);
    await diverge(a, b, 'app.conf', 'alpha side\n', 'beta side\n');
    await a.waitStatus('app.conf', 'split-brain');
    await b.waitStatus('app.conf', 'split-brain');

    const d = await call(a, '/api/1/diff?file=app.conf');
    assert.equal(d.status, 200);
    assert.deepEqual({ ...d.body, diff: undefined }, { name: 'app.conf', peer: 'beta', local: md5('alpha side\n'), remote: md5('beta side\n'), binary: false, diff: undefined });
    assert.match(d.body.diff, /^--- alpha:app\.conf/m);
    assert.match(d.body.diff, /^\+\+\+ beta:app\.conf/m);
    assert.match(d.body.diff, /^-alpha side$/m);
    assert.match(d.body.diff, /^\+beta side$/m);

    const r = await force(a, { files: [a.file('app.conf')], direction: 'pull' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.results, [{ name: 'app.conf', path: a.file('app.conf'), result: 'updated', md5: md5('beta side\n') }]);
    assert.equal(readFileSync(a.file('app.conf'), 'utf8'), 'beta side\n');
    assert.equal(statSync(a.file('app.conf')).mode & 0o777, 0o640);
    await a.waitStatus('app.conf', 'aligned');
    await b.waitStatus('app.conf', 'aligned');
    // The journal is saved right after, asynchronously.
    await waitFor('the journal records the forced version', () => {
      const journal = JSON.parse(readFileSync(`${a.def.dir}/state/alpha.journal.json`, 'utf8'));
      return journal.agreed.beta['app.conf'] === md5('beta side\n');
    });
  });

  it('force push: the peer takes this node\'s copy', async () => {
    writeFileSync(b.file('other.conf'), 'beta edit\n');
    await waitFor('alpha gets it', () => md5File(a.file('other.conf')) === md5('beta edit\n'));
    const r = await force(b, { files: ['other.conf'], direction: 'push', peer: 'alpha' });
    assert.equal(r.status, 200);
    assert.equal(r.body.results[0].result, 'unchanged');
  });

  it('diff of binary content: binary true, diff null', async () => {
    writeFileSync(a.file('bin.dat'), Buffer.from([0, 1, 2, 255]));
    await waitFor('beta gets it', () => md5File(b.file('bin.dat')) === md5(Buffer.from([0, 1, 2, 255])));
    const d = await call(a, '/api/1/diff?file=bin.dat&peer=beta');
    assert.equal(d.status, 200);
    assert.equal(d.body.binary, true);
    assert.equal(d.body.diff, null);
  });

  it('400 for malformed bodies, unknown fields or values, unlisted files, unknown peers', async () => {
    assertError(await force(a, '{not json'), 400, 'BAD_REQUEST', /JSON/);
    assertError(await force(a, { bogus: 1 }), 400, 'BAD_REQUEST', /bogus/);
    assertError(await force(a, { direction: 'sideways' }), 400, 'BAD_REQUEST', /direction/);
    assertError(await force(a, { files: 'app.conf' }), 400, 'BAD_REQUEST', /files/);
    assertError(await force(a, { files: [] }), 400, 'BAD_REQUEST', /files/);
    assertError(await force(a, [1, 2]), 400, 'BAD_REQUEST');
    assertError(await force(a, { files: ['/etc/passwd'] }), 400, 'BAD_REQUEST', /not a listed file/);
    assertError(await force(a, { files: ['../beta/app.conf'] }), 400, 'BAD_REQUEST', /not a listed file/);
    assertError(await force(a, { peer: 'mallory' }), 400, 'BAD_REQUEST', /unknown peer/);
    assertError(await call(a, '/api/1/diff'), 400, 'BAD_REQUEST', /file/);
    assertError(await call(a, '/api/1/diff?file=nope.conf'), 400, 'BAD_REQUEST', /not a listed file/);
    assertError(await call(a, '/api/1/diff?file=app.conf&peer=mallory'), 400, 'BAD_REQUEST', /unknown peer/);
    assertError(await call(a, '/api/1/diff?file=app.conf&extra=1'), 400, 'BAD_REQUEST', /extra/);
    // A JSON body sent with curl's default form content type is refused: a web page may post a form anywhere.
    const r = await call(a, '/api/1/force', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '{"files":["nope"]}' });
    assertError(r, 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/);
  });

  it('unknown routes are 404 JSON', async () => {
    assertError(await call(a, '/api/1/nope'), 404, 'NOT_FOUND');
    assertError(await call(a, '/api/2/state'), 404, 'NOT_FOUND');
    assertError(await call(a, '/api/1/state', { method: 'DELETE' }), 404, 'NOT_FOUND');
  });

  it('the OpenAPI document lists every route; Swagger UI is served from local assets only', async () => {
    const doc = await call(a, '/api/1/openapi.json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    for (const p of ['/api/1/health', '/api/1/state', '/api/1/force', '/api/1/diff', '/api/1/events', '/metrics']) assert.ok(doc.body.paths[p], p);
    assert.ok(doc.body.paths['/api/1/force'].post.requestBody.content['application/json'].schema);
    const ui = await call(a, '/api/1/docs');
    assert.equal(ui.status, 200);
    assert.match(ui.type, /text\/html/);
    const urls = [...String(ui.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(urls.length >= 2);
    for (const u of urls) {
      assert.ok(u.startsWith('/'), `outside asset ${u}`);
      assert.equal((await fetch(`${a.api}${u}`)).status, 200, u);
    }
  });

  it('GET /api/1/events streams the state, then file events as changes happen', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${a.api}/api/1/events`, { signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    const seen = async (re: RegExp) =>
      waitFor(`event ${re}`, async () => {
        if (re.test(text)) return true;
        const { value } = await reader.read();
        text += dec.decode(value);
        return re.test(text);
      });
    await seen(/event: state\ndata: \{"node":"alpha"/);
    writeFileSync(b.file('other.conf'), 'for the events\n');
    await seen(new RegExp(`event: file\\ndata: \\{"name":"other\\.conf".*"md5":"${md5('for the events\n')}"`));
    ctl.abort();
  });

  it('GET /metrics counts changes, frames and propagation latency', async () => {
    writeFileSync(a.file('other.conf'), 'for the metrics\n');
    await waitFor('beta gets it', () => md5File(b.file('other.conf')) === md5('for the metrics\n'), 10_000);
    await a.waitStatus('other.conf', 'aligned');
    const m = await call(a, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type, /text\/plain/);
    const value = (re: RegExp) => Number(re.exec(m.body)?.[1] ?? NaN);
    assert.ok(value(/^entangled_frames_sent_total\{kind="change"\} (\d+)/m) >= 1);
    assert.ok(value(/^entangled_frames_received_total\{kind="have"\} (\d+)/m) >= 1);
    assert.ok(value(/^entangled_change_propagation_seconds_count\{peer="beta"\} (\d+)/m) >= 1);
    assert.ok(value(/^entangled_bytes_replicated_total\{direction="sent"\} (\d+)/m) >= 'for the metrics\n'.length);
    assert.equal(value(/^entangled_peer_up\{peer="beta"\} (\d+)/m), 1);
    assert.equal(value(/^entangled_files\{status="aligned"\} (\d+)/m) >= 1, true);
  });

  it('503 within a few seconds when the peer cannot be reached', async () => {
    b.proc.kill('SIGSTOP');
    try {
      const t0 = Date.now();
      // The error names the peer that did not answer, and what to check.
      assertError(await force(a, { files: ['app.conf'] }), 503, 'PEER_UNREACHABLE', /^peer "beta": no reply in time \(\d+ ms\); is it running, and is tcp:\/\/\S+ reachable from here\?$/);
      assert.ok(Date.now() - t0 < 6000, `took ${Date.now() - t0} ms`);
      // So does `entangled force` (it prints the API's message): no reply, or lost by then.
      const cli = await runCli(['force', '--api', a.api, '--file', 'app.conf']);
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, /^entangled: peer "beta"(: no reply in time| is not in reach)/);
      assertError(await call(a, '/api/1/diff?file=app.conf'), 503, 'PEER_UNREACHABLE');
      await waitFor('alpha loses beta', async () => !(await a.state()).peers[0]!.connected, 5000);
      const t1 = Date.now();
      assertError(await force(a), 503, 'PEER_UNREACHABLE');
      assert.ok(Date.now() - t1 < 500, 'a lost peer is refused at once');
    } finally {
      b.proc.kill('SIGCONT');
    }
  });
});

describe('api.token', () => {
  let root: string;
  let a: RunningNode;
  let b: RunningNode;
  const token = 's3cret-token';

  before(async () => {
    const c = await defineCluster({ files: { 'app.conf': 'v0\n' }, token });
    root = c.root;
    [a, b] = (await startCluster(c.nodes, { token })) as [RunningNode, RunningNode];
  });
  after(async () => stopAll([a, b], root));

  it('is required everywhere except health, the OpenAPI document and the docs', async () => {
    for (const [path, init] of [
      ['/api/1/state', {}],
      ['/api/1/force', { method: 'POST' }],
      ['/api/1/diff?file=app.conf', {}],
      ['/api/1/events', {}],
      ['/metrics', {}],
    ] as [string, RequestInit][]) {
      for (const auth of [undefined, 'Bearer wrong', 'Basic czNjcmV0LXRva2Vu', `Bearer ${token}x`]) {
        const res = await fetch(`${a.api}${path}`, { ...init, headers: auth ? { Authorization: auth } : {} });
        assert.equal(res.status, 401, `${path} with ${auth}`);
        const body = (await res.json()) as ErrorBody;
        assert.equal(body.error.code, 'UNAUTHORIZED');
      }
    }
    for (const path of ['/api/1/health', '/api/1/openapi.json', '/api/1/docs']) {
      assert.equal((await fetch(`${a.api}${path}`)).status, 200, path);
    }
    const ok = await fetch(`${a.api}/api/1/state`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const forced = await fetch(`${a.api}/api/1/force`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    assert.equal(forced.status, 200);
  });
});

describe('three nodes', () => {
  it('replicate a change to both peers; the state lists every peer; force without a peer name is 400 naming them', async () => {
    const { root, nodes } = await defineCluster({ nodes: 3, files: { 'app.conf': 'v0\n' } });
    const running = (await startCluster(nodes)) as [RunningNode, RunningNode, RunningNode];
    try {
      const [a, b, g] = running;
      writeFileSync(b.file('app.conf'), 'from beta\n');
      for (const n of [a, g]) await waitFor(`${n.def.name} gets it`, () => md5File(n.file('app.conf')) === md5('from beta\n'));
      for (const n of running) await n.waitStatus('app.conf', 'aligned');
      for (const n of running) {
        const s = await n.state();
        const others = running.filter((o) => o !== n).map((o) => o.def.name);
        assert.deepEqual(s.peers.map((p) => p.name), others, `${n.def.name}'s peers`);
        assert.deepEqual(Object.keys(s.files[0]!.peers), others, `${n.def.name}'s view of app.conf`);
      }
      // No peer named: a 400 that names the peers to choose from, whatever else the body says.
      for (const body of [undefined, {}, { direction: 'push' }, { files: ['app.conf'] }]) {
        const r = await force(a, body);
        assertError(r, 400, 'BAD_REQUEST', /several peers/);
        assert.match(r.body.error.message, /\bbeta\b/, JSON.stringify(body));
        assert.match(r.body.error.message, /\bgamma\b/, JSON.stringify(body));
      }
      const cli = await runCli(['force', '--api', a.api, '--push']);
      assert.equal(cli.code, 2, cli.stderr);
      assert.match(cli.stderr, /several peers.*\bbeta\b.*\bgamma\b/);
      assert.equal(md5File(b.file('app.conf')), md5('from beta\n'), 'nothing was pushed');
      const r = await force(a, { peer: 'gamma' });
      assert.equal(r.status, 200);
      assert.equal(r.body.results[0].result, 'unchanged');
    } finally {
      await stopAll(running, root);
    }
  });
});
