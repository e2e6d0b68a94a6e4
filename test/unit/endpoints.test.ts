import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiEndpoint, findEndpointClash, sameAddress } from '../../src/core/endpoints.js';
import type { Case } from '../helpers/table.js';

// Two addresses one node binds that are the same address: the second bind fails (EADDRINUSE),
// so the config is refused before anything is bound (CONTRACT.md, `entangled check`).

describe('sameAddress(a, b)', () => {
  const cases: Case<[string, string], boolean>[] = [
    { description: 'the same tcp address', given: ['tcp://0.0.0.0:9877', 'tcp://0.0.0.0:9877'], expect: true },
    { description: 'the same host, another port', given: ['tcp://0.0.0.0:9877', 'tcp://0.0.0.0:9878'], expect: false },
    { description: 'two loopback addresses on one port', given: ['tcp://127.0.0.1:9877', 'tcp://127.0.0.2:9877'], expect: false },
    { description: 'the IPv4 wildcard and an address on its port', given: ['tcp://0.0.0.0:9877', 'tcp://127.0.0.1:9877'], expect: true },
    { description: 'an address and the wildcard after it', given: ['tcp://192.0.2.1:9877', 'tcp://0.0.0.0:9877'], expect: true },
    { description: '* is the IPv4 wildcard', given: ['tcp://*:9877', 'tcp://0.0.0.0:9877'], expect: true },
    { description: '* and a host name on its port', given: ['tcp://*:9877', 'tcp://localhost:9877'], expect: true },
    { description: 'the IPv4 wildcard and an IPv6 address: two families', given: ['tcp://0.0.0.0:9877', 'tcp://[::1]:9877'], expect: false },
    { description: 'the IPv6 wildcard takes both families', given: ['tcp://[::]:9877', 'tcp://127.0.0.1:9877'], expect: true },
    { description: 'a host name compared as written, case aside', given: ['tcp://Node-A:9877', 'tcp://node-a:9877'], expect: true },
    { description: 'a leading zero in the port is the same port', given: ['tcp://127.0.0.1:09877', 'tcp://127.0.0.1:9877'], expect: true },
    { description: 'one ipc path twice', given: ['ipc:///run/entangled.sock', 'ipc:///run/entangled.sock'], expect: true },
    { description: 'two ipc paths', given: ['ipc:///run/a.sock', 'ipc:///run/b.sock'], expect: false },
    { description: 'ipc and tcp never meet', given: ['ipc://9877', 'tcp://0.0.0.0:9877'], expect: false },
  ];
  for (const c of cases) {
    test(c.description, () => {
      assert.equal(sameAddress(...c.given), c.expect);
      assert.equal(sameAddress(c.given[1], c.given[0]), c.expect, 'the order does not matter');
    });
  }
});

describe('apiEndpoint(host, port)', () => {
  test('an IPv4 address or a name as it is, an IPv6 address in brackets', () => {
    assert.equal(apiEndpoint('127.0.0.1', 9876), 'tcp://127.0.0.1:9876');
    assert.equal(apiEndpoint('localhost', 9876), 'tcp://localhost:9876');
    assert.equal(apiEndpoint('::1', 9876), 'tcp://[::1]:9876');
    assert.equal(sameAddress(apiEndpoint('::', 9876), 'tcp://127.0.0.1:9876'), true);
  });
});

describe('findEndpointClash(bound)', () => {
  const pub = (endpoint: string) => ({ key: 'm2m.pub', endpoint });
  const rep = (endpoint: string) => ({ key: 'm2m.rep', endpoint });
  const api = (endpoint: string) => ({ key: 'api', endpoint });
  const cases: Case<{ key: string; endpoint: string }[], [string, string] | null>[] = [
    { description: 'the defaults: three addresses', given: [pub('tcp://0.0.0.0:9877'), rep('tcp://0.0.0.0:9878'), api('tcp://127.0.0.1:9876')], expect: null },
    { description: 'pub equal to rep: rep is the one refused', given: [pub('tcp://0.0.0.0:9877'), rep('tcp://0.0.0.0:9877'), api('tcp://127.0.0.1:9876')], expect: ['m2m.pub', 'm2m.rep'] },
    { description: 'rep on the API\'s port, through the wildcard', given: [pub('tcp://0.0.0.0:9877'), rep('tcp://0.0.0.0:9876'), api('tcp://127.0.0.1:9876')], expect: ['m2m.rep', 'api'] },
    { description: 'the API on pub\'s address', given: [pub('tcp://127.0.0.1:9877'), rep('tcp://127.0.0.1:9878'), api('tcp://127.0.0.1:9877')], expect: ['m2m.pub', 'api'] },
    { description: 'all three the same: the first pair found', given: [pub('tcp://127.0.0.1:1'), rep('tcp://127.0.0.1:1'), api('tcp://127.0.0.1:1')], expect: ['m2m.pub', 'm2m.rep'] },
  ];
  for (const c of cases) {
    test(c.description, () => {
      const clash = findEndpointClash(c.given);
      assert.deepEqual(clash && [clash.earlier.key, clash.later.key], c.expect);
    });
  }
});
