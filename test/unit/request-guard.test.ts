import assert from 'node:assert/strict';
import { lookup } from 'node:dns';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { siteNames } from '../../src/api/guard.js';
import { hostName, judgeBodyType, judgeSite } from '../../src/core/request-guard.js';
import { waitFor } from '../helpers/cluster.js';
import type { Case } from '../helpers/table.js';

// The API's rules against a web page (CONTRACT.md, after the error format): the Host must name
// the API, an Origin must be its own, and a POST body must be labelled JSON.

// The names this API answers in these rows: its address, localhost, and one name from api.hosts.
const OURS = new Set(['127.0.0.1', '::1', 'localhost', 'entangled.example.org']);
const accepts = (name: string) => OURS.has(name);

describe('hostName', () => {
  const cases: Case<string, string | null>[] = [
    { description: 'a name with a port', given: 'localhost:9876', expect: 'localhost' },
    { description: 'a name without a port', given: 'Entangled.Example.ORG', expect: 'entangled.example.org' },
    { description: 'an IPv4 address with a port', given: '127.0.0.1:9876', expect: '127.0.0.1' },
    { description: 'an IPv6 address in brackets', given: '[::1]:9876', expect: '::1' },
    { description: 'an IPv6 address in brackets, no port', given: '[fd00::7]', expect: 'fd00::7' },
    { description: 'an IPv6 address without brackets', given: '::1', expect: null },
    { description: 'user info', given: 'evil@localhost:9876', expect: null },
    { description: 'a path', given: 'localhost:9876/x', expect: null },
    { description: 'a space inside', given: 'local host', expect: null },
    { description: 'empty', given: '', expect: null },
  ];
  for (const c of cases) test(c.description, () => assert.equal(hostName(c.given), c.expect));
});

describe('judgeSite', () => {
  type Given = { host?: string; origin?: string };
  const cases: Case<Given, null | 'host' | 'origin'>[] = [
    // What the CLI, curl and the status page send.
    { description: 'localhost, no Origin (curl, the CLI)', given: { host: 'localhost:9876' }, expect: null },
    { description: 'the bound address, no Origin', given: { host: '127.0.0.1:9876' }, expect: null },
    { description: 'IPv6 loopback, no Origin', given: { host: '[::1]:9876' }, expect: null },
    { description: 'a name from api.hosts, any case', given: { host: 'ENTANGLED.example.org:9876' }, expect: null },
    { description: 'the status page\'s own POST', given: { host: 'localhost:9876', origin: 'http://localhost:9876' }, expect: null },
    { description: 'the page through a TLS proxy named in api.hosts', given: { host: 'entangled.example.org', origin: 'https://entangled.example.org' }, expect: null },
    { description: 'IPv6 page', given: { host: '[::1]:9876', origin: 'http://[::1]:9876' }, expect: null },
    // DNS rebinding: a page's name that now resolves to us.
    { description: 'a foreign Host (rebinding)', given: { host: 'evil.example:9876' }, expect: 'host' },
    { description: 'a foreign Host that ends like ours', given: { host: 'localhost.evil.example:9876' }, expect: 'host' },
    { description: 'a foreign Host with our Origin', given: { host: 'evil.example:9876', origin: 'http://localhost:9876' }, expect: 'host' },
    { description: 'no Host at all', given: {}, expect: 'host' },
    { description: 'a malformed Host', given: { host: 'localhost:9876/../x' }, expect: 'host' },
    // Cross-site requests: our Host, someone else's page.
    { description: 'a foreign Origin', given: { host: 'localhost:9876', origin: 'http://evil.example' }, expect: 'origin' },
    { description: 'our name on another port', given: { host: 'localhost:9876', origin: 'http://localhost:8080' }, expect: 'origin' },
    { description: 'our address under another name', given: { host: 'localhost:9876', origin: 'http://127.0.0.1:9876' }, expect: 'origin' },
    { description: 'Origin null (a sandboxed frame, a file:// page)', given: { host: 'localhost:9876', origin: 'null' }, expect: 'origin' },
    { description: 'another scheme', given: { host: 'localhost:9876', origin: 'ftp://localhost:9876' }, expect: 'origin' },
    { description: 'an Origin with a path', given: { host: 'localhost:9876', origin: 'http://localhost:9876/x' }, expect: 'origin' },
    { description: 'an Origin that is not a URL', given: { host: 'localhost:9876', origin: 'localhost:9876' }, expect: 'origin' },
  ];
  for (const c of cases) {
    test(c.description, () => assert.equal(judgeSite(c.given.host, c.given.origin, accepts)?.kind ?? null, c.expect));
  }

  test('a refusal says what was refused in one line', () => {
    const r = judgeSite('evil.example:9876', undefined, accepts);
    assert.match(r!.message, /^Host "evil\.example:9876" is not this API's address, localhost, or a name in api\.hosts$/);
    const o = judgeSite('localhost:9876', 'http://evil.example', accepts);
    assert.match(o!.message, /^Origin "http:\/\/evil\.example" is not this API's own/);
  });
});

describe('judgeBodyType', () => {
  type Given = { method: string; type?: string; body: boolean };
  const cases: Case<Given, boolean>[] = [
    { description: 'a bare POST (curl -X POST)', given: { method: 'POST', body: false }, expect: true },
    { description: 'a JSON POST', given: { method: 'POST', type: 'application/json', body: true }, expect: true },
    { description: 'a JSON POST with a charset', given: { method: 'POST', type: 'application/json; charset=utf-8', body: true }, expect: true },
    { description: 'a +json type', given: { method: 'POST', type: 'application/vnd.x+json', body: true }, expect: true },
    { description: 'a GET with any type', given: { method: 'GET', type: 'text/plain', body: false }, expect: true },
    // What a page may post anywhere without the browser asking first.
    { description: 'text/plain', given: { method: 'POST', type: 'text/plain', body: true }, expect: false },
    { description: 'a form', given: { method: 'POST', type: 'application/x-www-form-urlencoded', body: true }, expect: false },
    { description: 'an empty form (a <form> without fields)', given: { method: 'POST', type: 'application/x-www-form-urlencoded', body: false }, expect: false },
    { description: 'multipart', given: { method: 'POST', type: 'multipart/form-data; boundary=x', body: true }, expect: false },
    { description: 'a body without a type', given: { method: 'POST', body: true }, expect: false },
    { description: 'a look-alike type', given: { method: 'POST', type: 'application/jsonp', body: true }, expect: false },
    { description: 'text/json', given: { method: 'POST', type: 'text/json', body: true }, expect: false },
  ];
  for (const c of cases) {
    test(c.description, () => assert.equal(judgeBodyType(c.given.method, c.given.type, c.given.body) === null, c.expect));
  }
});

describe('siteNames (the names a bound API answers)', () => {
  test('bound to an address: that address, localhost and api.hosts, read on each call', () => {
    let hosts = ['a.example'];
    const accepts = siteNames({ bind: '127.0.0.1', hosts: () => hosts });
    for (const n of ['127.0.0.1', 'localhost', 'a.example']) assert.equal(accepts(n), true, n);
    for (const n of ['10.0.0.1', 'b.example', 'evil.example']) assert.equal(accepts(n), false, n);
    hosts = ['b.example'];
    assert.equal(accepts('b.example'), true, 'a reload\'s api.hosts');
    assert.equal(accepts('a.example'), false);
  });

  test('bound to every address: each address of the host', () => {
    const accepts = siteNames({ bind: '0.0.0.0', hosts: () => [] });
    const mine = Object.values(networkInterfaces()).flatMap((l) => l ?? []).map((i) => i.address.toLowerCase());
    for (const a of mine) assert.equal(accepts(a), true, a);
    assert.equal(accepts('192.0.2.99'), false);
  });

  test('bound to a name: the addresses it resolves to as well', async () => {
    const accepts = siteNames({ bind: 'localhost', hosts: () => [] });
    const resolved = await new Promise<string[]>((resolve, reject) => lookup('localhost', { all: true }, (err, found) => (err ? reject(err) : resolve(found.map((f) => f.address)))));
    await waitFor('the name resolved', () => resolved.every((a) => accepts(a)));
    assert.equal(accepts('192.0.2.99'), false);
  });
});
