import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEmptyPlan, planReload, type ReloadPlan } from '../../src/config/reload-plan.js';
import type { FileSpec, PeerSpec, Settings } from '../../src/config/settings.js';
import type { Case } from '../helpers/table.js';

// What a reload may change and what it refuses (CONTRACT.md, "Reload (SIGHUP)").

const file = (name: string, extra: Partial<FileSpec> = {}): FileSpec => ({ name, path: `/etc/app/${name}`, validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null, ...extra });
const peer = (name: string, extra: Partial<PeerSpec> = {}): PeerSpec => ({ name, pub: `tcp://10.0.0.2:9877`, rep: `tcp://10.0.0.2:9878`, publicKeys: [], ...extra });

const BASE: Settings = {
  configPath: '/etc/entangled/entangled.yaml',
  node: 'alpha',
  api: { host: '127.0.0.1', port: 9876, token: null, tokenFile: null, hosts: [] },
  m2m: { pub: 'tcp://0.0.0.0:9877', rep: 'tcp://0.0.0.0:9878' },
  peers: [peer('beta')],
  files: [file('a.conf'), file('b.conf')],
  stateDir: '/var/lib/entangled',
  reconcile: 'manual',
  peerTimeoutMs: 3000,
  settleMs: 0,
  security: null,
  backups: 5,
  maxBytes: 1024 ** 3,
  hooks: { onPeerDown: null, onPeerUp: null, onSplitBrain: null, timeoutMs: 30_000 },
};
const CURVE = { curve: { publicKey: 'P'.repeat(40), secretKey: 'S'.repeat(40) } };

type Expect = { refused: string } | { files?: Partial<Record<'added' | 'removed' | 'updated', string[]>>; peers?: Partial<Record<'added' | 'removed' | 'replaced' | 'rekeyed', string[]>>; keysDropped?: true; settings?: string[] };

const cases: Case<{ cur?: Partial<Settings>; next: Partial<Settings> }, Expect>[] = [
  { description: 'the same config changes nothing', given: { next: {} }, expect: {} },
  // Refused: what the node is bound to or is.
  { description: 'another node name', given: { next: { node: 'gamma' } }, expect: { refused: 'node' } },
  { description: 'another m2m.pub', given: { next: { m2m: { pub: 'tcp://0.0.0.0:9977', rep: BASE.m2m.rep } } }, expect: { refused: 'm2m.pub' } },
  { description: 'another m2m.rep', given: { next: { m2m: { pub: BASE.m2m.pub, rep: 'tcp://0.0.0.0:9978' } } }, expect: { refused: 'm2m.rep' } },
  { description: 'another stateDir', given: { next: { stateDir: '/srv/entangled' } }, expect: { refused: 'stateDir' } },
  { description: 'another api.host', given: { next: { api: { ...BASE.api, host: '0.0.0.0' } } }, expect: { refused: 'api.host' } },
  { description: 'another api.port', given: { next: { api: { ...BASE.api, port: 9000 } } }, expect: { refused: 'api.port' } },
  { description: 'CURVE turned on', given: { next: { security: CURVE } }, expect: { refused: 'security.curve' } },
  { description: 'CURVE turned off', given: { cur: { security: CURVE }, next: { security: null } }, expect: { refused: 'security.curve' } },
  { description: 'another own public key', given: { cur: { security: CURVE }, next: { security: { curve: { ...CURVE.curve, publicKey: 'Q'.repeat(40) } } } }, expect: { refused: 'security.curve.publicKey' } },
  { description: 'another own secret key', given: { cur: { security: CURVE }, next: { security: { curve: { ...CURVE.curve, secretKey: 'T'.repeat(40) } } } }, expect: { refused: 'security.curve.secretKey' } },
  { description: 'a fixed key refused even with allowed changes beside it', given: { next: { node: 'gamma', files: [file('a.conf')] } }, expect: { refused: 'node' } },
  // Files, by name and path.
  { description: 'a file added', given: { next: { files: [...BASE.files, file('c.conf')] } }, expect: { files: { added: ['c.conf'] } } },
  { description: 'a file removed', given: { next: { files: [file('a.conf')] } }, expect: { files: { removed: ['b.conf'] } } },
  { description: 'a name listed under another path is removed and added', given: { next: { files: [file('a.conf'), file('b.conf', { path: '/srv/b.conf' })] } }, expect: { files: { added: ['b.conf'], removed: ['b.conf'] } } },
  { description: 'a validate command changed', given: { next: { files: [file('a.conf', { validate: 'true' }), file('b.conf')] } }, expect: { files: { updated: ['a.conf'] } } },
  { description: 'a file\'s own settleMs set', given: { next: { files: [file('a.conf', { settleMs: 500 }), file('b.conf')] } }, expect: { files: { updated: ['a.conf'] } } },
  { description: 'a file\'s own createMode set', given: { next: { files: [file('a.conf', { createMode: 0o600 }), file('b.conf')] } }, expect: { files: { updated: ['a.conf'] } } },
  { description: 'a file\'s own maxBytes set', given: { next: { files: [file('a.conf'), file('b.conf', { maxBytes: 4096 })] } }, expect: { files: { updated: ['b.conf'] } } },
  { description: 'a file\'s own settleMs changed', given: { cur: { files: [file('a.conf', { settleMs: 500 }), file('b.conf')] }, next: { files: [file('a.conf', { settleMs: 0 }), file('b.conf')] } }, expect: { files: { updated: ['a.conf'] } } },
  { description: 'an onApply command changed', given: { next: { files: [file('a.conf'), file('b.conf', { onApply: 'true' })] } }, expect: { files: { updated: ['b.conf'] } } },
  { description: 'the order of the files alone changes nothing', given: { next: { files: [file('b.conf'), file('a.conf')] } }, expect: {} },
  // Peers, by name.
  { description: 'a peer added', given: { next: { peers: [peer('beta'), peer('gamma')] } }, expect: { peers: { added: ['gamma'] } } },
  { description: 'a peer removed', given: { cur: { peers: [peer('beta'), peer('gamma')] }, next: { peers: [peer('beta')] } }, expect: { peers: { removed: ['gamma'] }, keysDropped: true } },
  { description: 'a peer\'s endpoint changed: its sockets are made anew', given: { next: { peers: [peer('beta', { pub: 'tcp://10.0.0.3:9877' })] } }, expect: { peers: { replaced: ['beta'] }, keysDropped: true } },
  { description: 'a peer\'s rep endpoint changed', given: { next: { peers: [peer('beta', { rep: 'tcp://10.0.0.3:9878' })] } }, expect: { peers: { replaced: ['beta'] }, keysDropped: true } },
  { description: 'a key added to a peer\'s list: nothing admitted is dropped', given: { next: { peers: [peer('beta', { publicKeys: ['K'.repeat(40)] })] } }, expect: { peers: { rekeyed: ['beta'] } } },
  { description: 'a key taken from a peer\'s list', given: { cur: { peers: [peer('beta', { publicKeys: ['K'.repeat(40), 'L'.repeat(40)] })] }, next: { peers: [peer('beta', { publicKeys: ['L'.repeat(40)] })] } }, expect: { peers: { rekeyed: ['beta'] }, keysDropped: true } },
  { description: 'a peer\'s old key replaced by a new one', given: { cur: { peers: [peer('beta', { publicKeys: ['K'.repeat(40)] })] }, next: { peers: [peer('beta', { publicKeys: ['L'.repeat(40)] })] } }, expect: { peers: { rekeyed: ['beta'] }, keysDropped: true } },
  { description: 'a peer\'s keys reordered', given: { cur: { peers: [peer('beta', { publicKeys: ['K'.repeat(40), 'L'.repeat(40)] })] }, next: { peers: [peer('beta', { publicKeys: ['L'.repeat(40), 'K'.repeat(40)] })] } }, expect: { peers: { rekeyed: ['beta'] } } },
  // The other keys.
  { description: 'api.token set', given: { next: { api: { ...BASE.api, token: 'secret' } } }, expect: { settings: ['api.token'] } },
  { description: 'a name added to api.hosts', given: { next: { api: { ...BASE.api, hosts: ['entangled.example.org'] } } }, expect: { settings: ['api.hosts'] } },
  { description: 'the same api.hosts', given: { cur: { api: { ...BASE.api, hosts: ['a.example'] } }, next: { api: { ...BASE.api, hosts: ['a.example'] } } }, expect: {} },
  { description: 'reconcile and peerTimeoutMs', given: { next: { reconcile: 'auto', peerTimeoutMs: 5000 } }, expect: { settings: ['reconcile', 'peerTimeoutMs'] } },
  { description: 'the top-level maxBytes', given: { next: { maxBytes: 4096 } }, expect: { settings: ['maxBytes'] } },
  { description: 'the top-level settleMs', given: { next: { settleMs: 500 } }, expect: { settings: ['settleMs'] } },
  { description: 'backups', given: { next: { backups: 0 } }, expect: { settings: ['backups'] } },
  { description: 'a hook', given: { next: { hooks: { ...BASE.hooks, onPeerDown: 'logger down' } } }, expect: { settings: ['hooks'] } },
];

function summarize(plan: ReloadPlan): Expect {
  if (plan.kind === 'refused') return { refused: plan.key };
  const out: { files?: Record<string, string[]>; peers?: Record<string, string[]>; keysDropped?: true; settings?: string[] } = {};
  for (const [k, v] of Object.entries(plan.files)) if (v.length) (out.files ??= {})[k] = v.map((s) => s.name);
  for (const [k, v] of Object.entries(plan.peers)) if (v.length) (out.peers ??= {})[k] = v.map((s) => s.name);
  if (plan.keysDropped) out.keysDropped = true;
  if (plan.settings.length) out.settings = [...plan.settings];
  return out;
}

describe('planReload', () => {
  for (const c of cases) {
    test(c.description, () => {
      const cur = { ...BASE, ...c.given.cur };
      const next = { ...cur, ...c.given.next };
      const plan = planReload(cur, next);
      assert.deepEqual(summarize(plan), c.expect);
      if (plan.kind === 'apply') assert.equal(isEmptyPlan(plan), Object.keys(c.expect).length === 0);
    });
  }
});
