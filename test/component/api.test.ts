import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { EntangledError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/types.js';
import type { ForceReport, ForceRequest, NodeActions, NodeState, NodeView } from '../../src/node/view.js';

/**
 * The management API's routes through `app.request()`: no port is opened. The node behind it is
 * a fake NodeView & NodeActions with canned data; each action may be told to throw.
 */

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const STATE: NodeState = {
  node: 'alpha',
  reconcile: 'manual',
  peers: [{ name: 'beta', connected: true, lastSeen: '2026-11-23T01:02:03.000Z' }],
  files: [
    {
      name: 'app.conf',
      path: '/etc/app/app.conf',
      status: 'aligned',
      md5: MD5,
      size: 0,
      mtime: '2026-11-23T01:00:00.000Z',
      error: null,
      peers: { beta: { md5: MD5, status: 'aligned' } },
    },
  ],
};

class FakeNode implements NodeView, NodeActions {
  /** What the next action does instead of answering: throw this. */
  fail: unknown = null;
  readonly forced: ForceRequest[] = [];
  readonly metrics = { text: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'entangled_up 1\n' }) };

  state(): NodeState {
    return STATE;
  }

  subscribe(): () => void {
    return () => undefined;
  }

  #act<T>(value: T): Promise<T> {
    const fail = this.fail;
    this.fail = null;
    return fail === null ? Promise.resolve(value) : Promise.reject(fail);
  }

  force(req: ForceRequest): Promise<ForceReport> {
    this.forced.push(req);
    return this.#act({ peer: 'beta', direction: req.direction ?? 'pull', results: [{ name: 'app.conf', path: '/etc/app/app.conf', result: 'updated', md5: MD5 }] });
  }

  diff(file: string, peer?: string) {
    return this.#act({ name: file, peer: peer ?? 'beta', local: MD5, remote: MD5, binary: false, diff: '' });
  }

  backups(file: string) {
    return this.#act({ name: file, versions: [{ md5: MD5, size: 0, savedAt: '2026-11-23T01:00:00.000Z' }] });
  }

  restore(file: string, md5?: string) {
    return this.#act({ name: file, md5: md5 ?? MD5 });
  }
}

function setup(token?: string) {
  const node = new FakeNode();
  const app = createApp(node, { token: token ?? null });
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await app.request(path, init);
    const type = res.headers.get('content-type') ?? '';
    const text = await res.text();
    return { status: res.status, type, headers: res.headers, body: type.includes('json') ? (JSON.parse(text) as any) : text };
  };
  const post = (path: string, body?: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) =>
    call(path, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  return { node, app, call, post };
}

function assertError(r: { status: number; type: string; body: any }, status: number, code: ErrorCode, message?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /^application\/json/);
  assert.deepEqual(Object.keys(r.body), ['error']);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
  if (message) assert.match(r.body.error.message, message);
  assert.doesNotMatch(JSON.stringify(r.body), /\bat .+[.:](js|ts)|\n\s+at /, 'a stack trace in an error');
}

describe('API routes (app.request, no port)', () => {
  it('GET /api/1/state is the view\'s state document, as JSON', async () => {
    const { call } = setup();
    const r = await call('/api/1/state');
    assert.equal(r.status, 200);
    assert.match(r.type, /^application\/json/);
    assert.deepEqual(r.body, STATE);
  });

  it('GET /api/1/health names the node', async () => {
    const { call } = setup();
    const r = await call('/api/1/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', node: 'alpha' });
  });

  it('with api.token: 401 without or with a wrong token, 200 with it; health and the OpenAPI document stay open', async () => {
    const { call, post } = setup('s3cret');
    const missing = await call('/api/1/state');
    assertError(missing, 401, 'UNAUTHORIZED', /missing/);
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
    assertError(await call('/api/1/state', { headers: { Authorization: 'Bearer wrong' } }), 401, 'UNAUTHORIZED', /invalid token/);
    assertError(await call('/api/1/state', { headers: { Authorization: 's3cret' } }), 401, 'UNAUTHORIZED');
    assertError(await post('/api/1/force', '{}'), 401, 'UNAUTHORIZED');
    assertError(await call('/metrics'), 401, 'UNAUTHORIZED');
    const ok = await call('/api/1/state', { headers: { Authorization: 'Bearer s3cret' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, STATE);
    assert.equal((await call('/api/1/health')).status, 200);
    const doc = await call('/api/1/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.0.3');
    assert.ok(doc.body.paths['/api/1/force'], 'force is documented');
  });

  it('without api.token every route is open', async () => {
    const { call } = setup();
    assert.equal((await call('/api/1/state')).status, 200);
    const m = await call('/metrics');
    assert.equal(m.status, 200);
    assert.equal(m.body, 'entangled_up 1\n');
  });

  it('POST /api/1/force hands the body to the node (a bare POST: every file, the only peer, pull)', async () => {
    const { node, post } = setup();
    const r = await post('/api/1/force', JSON.stringify({ files: ['app.conf'], peer: 'beta', direction: 'push' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.direction, 'push');
    assert.equal(r.body.results[0].result, 'updated');
    assert.equal((await post('/api/1/force', undefined, {})).status, 200);
    // `curl -d '{…}'` labels JSON as a form, which a web page may post anywhere: 415, and the node is not asked.
    assertError(await post('/api/1/force', '{"peer":"beta"}', { 'Content-Type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/);
    assert.deepEqual(node.forced, [{ files: ['app.conf'], peer: 'beta', direction: 'push' }, { direction: 'pull' }]);
  });

  const mapping: { thrown: unknown; status: number; code: ErrorCode }[] = [
    { thrown: new EntangledError('BAD_REQUEST', 'unknown peer "gamma"'), status: 400, code: 'BAD_REQUEST' },
    { thrown: new EntangledError('NOT_FOUND', 'no kept version'), status: 404, code: 'NOT_FOUND' },
    { thrown: new EntangledError('CONFLICT', 'changed meanwhile'), status: 409, code: 'CONFLICT' },
    { thrown: new EntangledError('PEER_FAULT', 'malformed reply from the peer'), status: 502, code: 'PEER_FAULT' },
    { thrown: new EntangledError('PEER_UNREACHABLE', 'peer "beta" is not in reach'), status: 503, code: 'PEER_UNREACHABLE' },
    { thrown: new EntangledError('IO', 'EACCES: cannot write'), status: 500, code: 'IO' },
  ];
  for (const { thrown, status, code } of mapping) {
    it(`an action throwing EntangledError ${code} is ${status} with that code and message`, async () => {
      const { node, post } = setup();
      node.fail = thrown;
      assertError(await post('/api/1/force', '{}'), status, code, new RegExp((thrown as Error).message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    });
  }

  it('any other thrown error is a 500 JSON "internal error", without its message or stack', async () => {
    const { node, post, call } = setup();
    node.fail = new TypeError('secret detail at /srv/app/src/node/x.ts:12:3');
    const r = await post('/api/1/force', '{}');
    assertError(r, 500, 'INTERNAL');
    assert.deepEqual(r.body, { error: { code: 'INTERNAL', message: 'internal error' } });
    node.fail = new RangeError('Maximum call stack size exceeded');
    const g = await call('/api/1/backups?file=app.conf');
    assertError(g, 500, 'INTERNAL');
    assert.deepEqual(g.body, { error: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('the other actions map errors the same way (restore 404, diff 503)', async () => {
    const { node, post, call } = setup();
    node.fail = new EntangledError('NOT_FOUND', 'no kept version of app.conf');
    assertError(await post('/api/1/restore', '{"file":"app.conf"}'), 404, 'NOT_FOUND');
    node.fail = new EntangledError('PEER_UNREACHABLE', 'not in reach');
    assertError(await call('/api/1/diff?file=app.conf'), 503, 'PEER_UNREACHABLE');
    const ok = await call('/api/1/backups?file=app.conf');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.versions[0].md5, MD5);
  });

  it('an unknown route is a JSON 404', async () => {
    const { call, post } = setup();
    assertError(await call('/api/1/nope'), 404, 'NOT_FOUND', /no route GET \/api\/1\/nope/);
    assertError(await post('/api/2/force', '{}'), 404, 'NOT_FOUND');
  });

  it('a malformed body, an unknown field or a bad value is a JSON 400, and the node is not asked', async () => {
    const { node, post, call } = setup();
    // A body labelled JSON that does not parse is a 400 (a form or text is a 415 before it is read).
    for (const type of ['application/json', 'application/json; charset=utf-8']) {
      assertError(await post('/api/1/force', '{"peer": "beta"', { 'Content-Type': type }), 400, 'BAD_REQUEST', /JSON/);
      assertError(await post('/api/1/restore', '[1, 2', { 'Content-Type': type }), 400, 'BAD_REQUEST', /JSON/);
    }
    assertError(await post('/api/1/force', '{"peer": 1}'), 400, 'BAD_REQUEST', /peer/);
    assertError(await post('/api/1/force', '{"peers": "beta"}'), 400, 'BAD_REQUEST', /unknown field "peers"/);
    assertError(await post('/api/1/force', '{"direction": "sideways"}'), 400, 'BAD_REQUEST', /direction/);
    assertError(await post('/api/1/force', '{"files": []}'), 400, 'BAD_REQUEST', /files/);
    assertError(await post('/api/1/restore', undefined, {}), 400, 'BAD_REQUEST');
    assertError(await post('/api/1/restore', ''), 400, 'BAD_REQUEST');
    assertError(await post('/api/1/restore', '{"file": "app.conf", "md5": "nope"}'), 400, 'BAD_REQUEST', /md5/);
    assertError(await call('/api/1/backups'), 400, 'BAD_REQUEST');
    assert.deepEqual(node.forced, []);
  });
});
