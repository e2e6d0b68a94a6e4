import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings, settingsFromRaw } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { curveKeyPair } from 'zeromq';
import type { Case } from '../helpers/table.js';


// Shared fixtures: every test gets a fresh temp folder holding conf/app.conf (a regular file)
// and conf/sub/ (a folder). `$DIR` in YAML text and expectations stands for that folder.
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'entangled-config-'));
  made.push(dir);
  mkdirSync(path.join(dir, 'conf', 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'conf', 'app.conf'), 'listen 80;\n');
  return dir;
}

/** Writes `yaml` (with $DIR expanded) as config.yaml (mode 0600, as one holding a secret must be) in a fresh folder. */
function writeConfig(yaml: string, name = 'config.yaml', mode = 0o600): { dir: string; file: string } {
  const dir = freshDir();
  const file = path.join(dir, name);
  writeFileSync(file, yaml.replaceAll('$DIR', dir), { mode });
  chmodSync(file, mode);
  return { dir, file };
}

const PEER_BETA = `  - name: beta
    pub: tcp://192.0.2.2:9877
    rep: tcp://192.0.2.2:9878
`;
const PEERS = `peers:\n${PEER_BETA}`;
const FILES = 'files:\n  - conf/app.conf\n';
const MINIMAL = `node: alpha\n${PEERS}${FILES}`;

/** Asserts a ConfigError with a one-line message containing every fragment; returns the message. */
function assertConfigError(run: () => unknown, fragments: readonly string[], dir = ''): string {
  let message = '';
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG');
    message = err.message;
    return true;
  });
  assert.ok(message.length > 0, 'message is empty');
  assert.doesNotMatch(message, /[\r\n]/, `message is not one line: ${JSON.stringify(message)}`);
  for (const f of fragments) {
    const want = f.replaceAll('$DIR', dir);
    assert.ok(message.includes(want), `message ${JSON.stringify(message)} does not name ${JSON.stringify(want)}`);
  }
  return message;
}

describe('loadSettings: accepted configurations', () => {
  test('applies the contract defaults to a minimal file', () => {
    const { dir, file } = writeConfig(MINIMAL);
    const s = loadSettings(file);
    assert.equal(s.configPath, file);
    assert.equal(s.node, 'alpha');
    assert.deepEqual(s.api, { host: '127.0.0.1', port: 9876, token: null, tokenFile: null, hosts: [] });
    assert.deepEqual(s.m2m, { pub: 'tcp://0.0.0.0:9877', rep: 'tcp://0.0.0.0:9878' });
    assert.equal(s.stateDir, '/var/lib/entangled');
    assert.equal(s.reconcile, 'manual');
    assert.equal(s.peerTimeoutMs, 3000);
    assert.equal(s.settleMs, 0);
    assert.deepEqual(s.peers, [{ name: 'beta', pub: 'tcp://192.0.2.2:9877', rep: 'tcp://192.0.2.2:9878', publicKeys: [] }]);
    assert.equal(s.security, null);
    assert.equal(s.backups, 5);
    assert.deepEqual(s.hooks, { onPeerDown: null, onPeerUp: null, onSplitBrain: null, timeoutMs: 30_000 });
    assert.deepEqual(s.files, [{ name: 'conf/app.conf', path: path.join(dir, 'conf', 'app.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null }]);
  });

  test('returns frozen settings', () => {
    const s = loadSettings(writeConfig(MINIMAL).file);
    assert.ok(Object.isFrozen(s));
    assert.ok(Object.isFrozen(s.api));
    assert.ok(Object.isFrozen(s.m2m));
    assert.ok(Object.isFrozen(s.peers));
    assert.ok(Object.isFrozen(s.files));
    assert.ok(Object.isFrozen(s.files[0]));
  });

  test('takes explicit values over the defaults', () => {
    const { file } = writeConfig(
      `node: alpha
api: { host: 0.0.0.0, port: 7000, token: s3cret, hosts: [Entangled.Example.org, 10.0.0.7, "[fd00::7]", entangled.example.org] }
m2m: { pub: "tcp://*:7001", rep: "ipc:///tmp/alpha.rep" }
${PEERS}${FILES}stateDir: /srv/entangled
reconcile: auto
peerTimeoutMs: 5000
settleMs: 200
`,
    );
    const s = loadSettings(file);
    assert.deepEqual(s.api, { host: '0.0.0.0', port: 7000, token: 's3cret', tokenFile: null, hosts: ['entangled.example.org', '10.0.0.7', 'fd00::7'] });
    assert.deepEqual(s.m2m, { pub: 'tcp://*:7001', rep: 'ipc:///tmp/alpha.rep' });
    assert.equal(s.stateDir, '/srv/entangled');
    assert.equal(s.reconcile, 'auto');
    assert.equal(s.peerTimeoutMs, 5000);
    assert.equal(s.settleMs, 200);
  });

  test('takes a file\'s own settleMs beside the top-level one (null where the file has none)', () => {
    const { file } = writeConfig(`node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    settleMs: 500\n  - conf/other.conf\nsettleMs: 100\n`);
    const s = loadSettings(file);
    assert.equal(s.settleMs, 100);
    assert.deepEqual(s.files.map((f) => f.settleMs), [500, null]);
  });

  test('takes createMode as octal permission bits, and maxBytes per file beside the top-level one (default 1 GiB)', () => {
    const { file } = writeConfig(`node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    createMode: "0600"\n    maxBytes: 4096\n  - path: conf/other.conf\n    createMode: "640"\n  - conf/third.conf\n`);
    const s = loadSettings(file);
    assert.deepEqual(s.files.map((f) => [f.createMode, f.maxBytes]), [[0o600, 4096], [0o640, null], [null, null]]);
    assert.equal(s.maxBytes, 1024 ** 3);
    assert.equal(loadSettings(writeConfig(`${MINIMAL}maxBytes: 1048576\n`).file).maxBytes, 1048576);
  });

  test('resolves relative paths against the config file folder; the name is the entry as written', () => {
    const { dir, file } = writeConfig(
      `node: alpha
${PEERS}files:
  - conf/app.conf
  - ./conf/plain.conf
  - path: conf/site.conf
    name: site.conf
  - path: conf/sub/../other.conf
  - $DIR/conf/abs.conf
stateDir: state
`,
      'nested-config.yaml',
    );
    // Run from another folder so resolving against the process cwd would show.
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      const s = loadSettings(file);
      assert.deepEqual(s.files, [
        { name: 'conf/app.conf', path: path.join(dir, 'conf', 'app.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
        { name: './conf/plain.conf', path: path.join(dir, 'conf', 'plain.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
        { name: 'site.conf', path: path.join(dir, 'conf', 'site.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
        { name: 'conf/sub/../other.conf', path: path.join(dir, 'conf', 'other.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
        { name: path.join(dir, 'conf', 'abs.conf'), path: path.join(dir, 'conf', 'abs.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
      ]);
      assert.equal(s.stateDir, path.join(dir, 'state'));
    } finally {
      process.chdir(cwd);
    }
  });

  test('a relative config path is made absolute against the current folder', () => {
    const { dir, file } = writeConfig(MINIMAL);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const s = loadSettings(path.basename(file));
      assert.equal(s.configPath, file);
      assert.equal(s.files[0]?.path, path.join(dir, 'conf', 'app.conf'));
    } finally {
      process.chdir(cwd);
    }
  });

  test('accepts a listed file that does not exist when its folder does', () => {
    const { dir, file } = writeConfig(`node: alpha\n${PEERS}files:\n  - conf/not-yet.conf\n`);
    const s = loadSettings(file);
    assert.deepEqual(s.files, [{ name: 'conf/not-yet.conf', path: path.join(dir, 'conf', 'not-yet.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null }]);
  });

  const endpoints: Case<string, string>[] = [
    { description: 'tcp with a wildcard host', given: 'tcp://*:5555', expect: 'tcp://*:5555' },
    { description: 'tcp with a hostname', given: 'tcp://node-b.example:1', expect: 'tcp://node-b.example:1' },
    { description: 'tcp with an IPv6 literal', given: 'tcp://[::1]:65535', expect: 'tcp://[::1]:65535' },
    { description: 'ipc', given: 'ipc:///run/entangled/beta.pub', expect: 'ipc:///run/entangled/beta.pub' },
  ];
  for (const c of endpoints) {
    test(`accepts a ZeroMQ endpoint: ${c.description}`, () => {
      const { file } = writeConfig(`node: alpha\npeers:\n  - name: beta\n    pub: "${c.given}"\n    rep: tcp://192.0.2.2:9878\n${FILES}`);
      assert.equal(loadSettings(file).peers[0]?.pub, c.expect);
    });
  }
});

// Two valid Z85 keys (generated with `entangled keygen`; they are only test data).
const PUB_A = 'lkdR}QD:EAS=ZAY>NJ9jcIApSX}8XqR$xi.t2YU>';
const SEC_A = 'R%c@y8:=OqmxXWJ!5HmczYb=IHvLyXU:9OxM}f#M';
const PUB_B = 'Qr.1v</VaGkDsEADdXh4GV^tRKdS*1FoswP4ww[I';

describe('loadSettings: security and operations keys', () => {
  test('reads security.curve with an inline secret key and every peer key', () => {
    const { file } = writeConfig(
      `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
    );
    const s = loadSettings(file);
    assert.deepEqual(s.security, { curve: { publicKey: PUB_A, secretKey: SEC_A } });
    assert.deepEqual(s.peers[0]?.publicKeys, [PUB_B]);
    assert.ok(Object.isFrozen(s.security));
  });

  for (const [what, content] of [
    ['the bare key', `${SEC_A}\n`],
    ['the keygen output', `publicKey: "${PUB_A}"\nsecretKey: "${SEC_A}"\n`],
  ] as const) {
    test(`reads a secretKeyFile (mode 0600) holding ${what}, relative to the config folder`, () => {
      const { dir, file } = writeConfig(
        `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKeyFile: alpha.key\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
      );
      writeFileSync(path.join(dir, 'alpha.key'), content, { mode: 0o600 });
      assert.equal(loadSettings(file).security?.curve.secretKey, SEC_A);
    });
  }

  test('refuses a secretKeyFile whose key does not belong to publicKey, naming the file', () => {
    const { dir, file } = writeConfig(
      `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_B}"\n    secretKeyFile: alpha.key\n${PEERS}    publicKey: "${PUB_A}"\n${FILES}`,
    );
    writeFileSync(path.join(dir, 'alpha.key'), SEC_A, { mode: 0o600 });
    assertConfigError(() => loadSettings(file), ['security.curve', '$DIR/alpha.key', 'does not belong to publicKey'], dir);
  });

  test('refuses a secretKeyFile readable by others, naming it', () => {
    const { dir, file } = writeConfig(
      `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKeyFile: alpha.key\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
    );
    writeFileSync(path.join(dir, 'alpha.key'), SEC_A);
    chmodSync(path.join(dir, 'alpha.key'), 0o644);
    assertConfigError(() => loadSettings(file), ['security.curve.secretKeyFile', '$DIR/alpha.key', 'readable by others'], dir);
  });

  const inline = `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`;
  for (const mode of [0o600, 0o640]) {
    test(`reads an inline secretKey from a config file of mode 0${mode.toString(8)} (others cannot read it)`, () => {
      assert.equal(loadSettings(writeConfig(inline, 'config.yaml', mode).file).security?.curve.secretKey, SEC_A);
    });
  }

  test('refuses an inline secretKey in a config file others can read (0644), naming the key and the file', () => {
    const { dir, file } = writeConfig(inline, 'config.yaml', 0o644);
    assertConfigError(() => loadSettings(file), ['security.curve.secretKey', 'inline', '$DIR/config.yaml', 'others can read', 'chmod 600'], dir);
  });

  test('a 0644 config file is fine when its secret is in a key file', () => {
    const { dir, file } = writeConfig(
      `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKeyFile: alpha.key\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
      'config.yaml',
      0o644,
    );
    writeFileSync(path.join(dir, 'alpha.key'), SEC_A, { mode: 0o600 });
    assert.equal(loadSettings(file).security?.curve.secretKey, SEC_A);
  });

  test('reads per-file validate and onApply, backups and the cluster hooks', () => {
    const { dir, file } = writeConfig(
      `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    validate: "grep -q listen {}"\n    onApply: "echo applied"\n  - conf/other.conf\nbackups: 2\nhooks:\n  onPeerDown: "echo down"\n  onSplitBrain: "echo split"\n  timeoutMs: 500\n`,
    );
    const s = loadSettings(file);
    assert.deepEqual(s.files, [
      { name: 'conf/app.conf', path: path.join(dir, 'conf', 'app.conf'), validate: 'grep -q listen {}', onApply: 'echo applied', settleMs: null, createMode: null, maxBytes: null },
      { name: 'conf/other.conf', path: path.join(dir, 'conf', 'other.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
    ]);
    assert.equal(s.backups, 2);
    assert.deepEqual(s.hooks, { onPeerDown: 'echo down', onPeerUp: null, onSplitBrain: 'echo split', timeoutMs: 500 });
  });

  const rejected: Case<string, string[]>[] = [
    {
      description: 'a peer without publicKey when security.curve is set',
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n${PEERS}${FILES}`,
      expect: ['peers[0].publicKey', 'required'],
    },
    {
      description: 'security.curve with both secretKey and secretKeyFile',
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n    secretKeyFile: a.key\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
      expect: ['security.curve', 'exactly one'],
    },
    {
      description: 'security.curve without a secret key',
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
      expect: ['security.curve', 'exactly one'],
    },
    {
      description: 'a key that is not Z85',
      given: `node: alpha\n${PEERS}    publicKey: "not a key"\n${FILES}`,
      expect: ['peers[0].publicKey', 'Z85'],
    },
    {
      description: 'a missing secretKeyFile',
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKeyFile: absent.key\n${PEERS}    publicKey: "${PUB_B}"\n${FILES}`,
      expect: ['security.curve.secretKeyFile', '$DIR/absent.key', 'ENOENT'],
    },
    {
      description: 'a secretKey that does not belong to publicKey',
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_B}"\n    secretKey: "${SEC_A}"\n${PEERS}    publicKey: "${PUB_A}"\n${FILES}`,
      expect: ['security.curve', 'secretKey', 'does not belong to publicKey'],
    },
    {
      description: 'a 40-character key whose Z85 groups overflow 32 bits',
      given: `node: alpha\n${PEERS}    publicKey: "${'#'.repeat(40)}"\n${FILES}`,
      expect: ['peers[0].publicKey', 'Z85'],
    },
    {
      description: "a peer listed with this node's own public key",
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n${PEERS}    publicKey: "${PUB_A}"\n${FILES}`,
      expect: ['peers[0].publicKey', 'own key'],
    },
    {
      description: 'two peers with one public key',
      given: `node: alpha\nsecurity:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n${PEERS}    publicKey: "${PUB_B}"\n  - name: gamma\n    pub: tcp://192.0.2.3:9877\n    rep: tcp://192.0.2.3:9878\n    publicKey: "${PUB_B}"\n${FILES}`,
      expect: ['peers[1].publicKey', 'peers[0].publicKey'],
    },
    { description: 'an unknown key in security', given: `${MINIMAL}security:\n  tls: true\n`, expect: ['tls', 'security'] },
    { description: 'negative backups', given: `${MINIMAL}backups: -1\n`, expect: ['backups'] },
    { description: 'an unknown hook', given: `${MINIMAL}hooks:\n  onCoffee: "make coffee"\n`, expect: ['onCoffee', 'hooks'] },
    { description: 'an empty hook command', given: `${MINIMAL}hooks:\n  onPeerUp: "  "\n`, expect: ['hooks.onPeerUp'] },
    {
      description: 'a validate command that is not a string',
      given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    validate: 3\n`,
      expect: ['files[0]'],
    },
  ];
  for (const c of rejected) {
    test(`rejects ${c.description}`, () => {
      const { dir, file } = writeConfig(c.given);
      assertConfigError(() => loadSettings(file), c.expect, dir);
    });
  }
});

describe('loadSettings: a peer\'s publicKey as a list (key rotation)', () => {
  const PUB_C = curveKeyPair().publicKey;
  const PUB_D = curveKeyPair().publicKey;
  const curve = `security:\n  curve:\n    publicKey: "${PUB_A}"\n    secretKey: "${SEC_A}"\n`;
  /** A config whose first peer (beta) lists `keys` as its publicKey (YAML text after `publicKey:`). */
  const withKeys = (keys: string, more = ''): string => `node: alpha\n${curve}${PEERS}    publicKey: ${keys}\n${more}${FILES}`;
  const GAMMA = `  - name: gamma\n    pub: tcp://192.0.2.3:9877\n    rep: tcp://192.0.2.3:9878\n`;

  const accepted: Case<string, { beta: string[]; gamma?: string[] }>[] = [
    { description: 'one key, as before', given: withKeys(`"${PUB_B}"`), expect: { beta: [PUB_B] } },
    { description: 'a list of one key', given: withKeys(`["${PUB_B}"]`), expect: { beta: [PUB_B] } },
    { description: 'a list of two keys, in the order written', given: withKeys(`["${PUB_C}", "${PUB_B}"]`), expect: { beta: [PUB_C, PUB_B] } },
    {
      description: 'two peers with lists of their own keys',
      given: withKeys(`["${PUB_B}", "${PUB_C}"]`, `${GAMMA}    publicKey:\n      - "${PUB_D}"\n`),
      expect: { beta: [PUB_B, PUB_C], gamma: [PUB_D] },
    },
  ];
  for (const c of accepted) {
    test(`reads ${c.description}`, () => {
      const s = loadSettings(writeConfig(c.given).file);
      assert.deepEqual(s.peers[0]?.publicKeys, c.expect.beta);
      if (c.expect.gamma) assert.deepEqual(s.peers[1]?.publicKeys, c.expect.gamma);
      assert.ok(Object.isFrozen(s.peers[0]?.publicKeys));
    });
  }

  const rejected: Case<string, string>[] = [
    { description: 'an empty list', given: withKeys('[]'), expect: 'peers[0].publicKey: needs at least one key' },
    { description: 'a key twice in one list', given: withKeys(`["${PUB_B}", "${PUB_C}", "${PUB_B}"]`), expect: 'peers[0].publicKey[2]: is listed twice (peers[0].publicKey[0])' },
    {
      description: 'a key in the lists of two peers',
      given: withKeys(`["${PUB_B}", "${PUB_C}"]`, `${GAMMA}    publicKey: ["${PUB_D}", "${PUB_C}"]\n`),
      expect: 'peers[1].publicKey[1]: is also peers[0].publicKey[1]',
    },
    {
      description: 'a key in one peer\'s list and another\'s single key',
      given: withKeys(`"${PUB_C}"`, `${GAMMA}    publicKey: ["${PUB_D}", "${PUB_C}"]\n`),
      expect: 'peers[1].publicKey[1]: is also peers[0].publicKey',
    },
    { description: 'this node\'s own key in a list', given: withKeys(`["${PUB_B}", "${PUB_A}"]`), expect: 'peers[0].publicKey[1]: is this node\'s own key (security.curve.publicKey)' },
    { description: 'a non-key in a list', given: withKeys(`["${PUB_B}", "not a key"]`), expect: 'peers[0].publicKey[1]: must be a 40-character Z85 key (see `entangled keygen`)' },
    { description: 'a number in a list', given: withKeys(`["${PUB_B}", 42]`), expect: 'peers[0].publicKey[1]: must be a 40-character Z85 key (see `entangled keygen`)' },
    { description: 'a publicKey that is neither a key nor a list', given: withKeys('42'), expect: 'peers[0].publicKey: must be a Z85 key or a list of them' },
    { description: 'a mapping as publicKey', given: withKeys(`{ key: "${PUB_B}" }`), expect: 'peers[0].publicKey: must be a Z85 key or a list of them' },
  ];
  for (const c of rejected) {
    test(`rejects ${c.description} with exactly: ${c.expect}`, () => {
      const { dir, file } = writeConfig(c.given);
      assert.equal(assertConfigError(() => loadSettings(file), [], dir), c.expect);
    });
  }
});

describe('settingsFromRaw(raw, configPath)', () => {
  test('applies defaults and resolves against the folder of configPath', () => {
    const dir = freshDir();
    const s = settingsFromRaw(
      {
        node: 'alpha',
        peers: [{ name: 'beta', pub: 'tcp://192.0.2.2:9877', rep: 'tcp://192.0.2.2:9878' }],
        files: ['conf/app.conf', { path: 'conf/site.conf', name: 'site' }],
      },
      path.join(dir, 'never-written.yaml'),
    );
    assert.deepEqual(s.api, { host: '127.0.0.1', port: 9876, token: null, tokenFile: null, hosts: [] });
    assert.deepEqual(s.m2m, { pub: 'tcp://0.0.0.0:9877', rep: 'tcp://0.0.0.0:9878' });
    assert.equal(s.stateDir, '/var/lib/entangled');
    assert.equal(s.reconcile, 'manual');
    assert.equal(s.peerTimeoutMs, 3000);
    assert.deepEqual(s.files, [
      { name: 'conf/app.conf', path: path.join(dir, 'conf', 'app.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
      { name: 'site', path: path.join(dir, 'conf', 'site.conf'), validate: null, onApply: null, settleMs: null, createMode: null, maxBytes: null },
    ]);
  });

  const rejections: Case<unknown, string[]>[] = [
    { description: 'not an object', given: 'node: alpha', expect: [] },
    {
      description: 'an unknown top-level key',
      given: { node: 'alpha', peers: [{ name: 'beta', pub: 'tcp://h:1', rep: 'tcp://h:2' }], files: ['conf/app.conf'], extra: 1 },
      expect: ['extra'],
    },
    {
      description: 'a peer named like the node',
      given: { node: 'alpha', peers: [{ name: 'alpha', pub: 'tcp://h:1', rep: 'tcp://h:2' }], files: ['conf/app.conf'] },
      expect: ['peers[0].name', 'alpha'],
    },
  ];
  for (const c of rejections) {
    test(`rejects ${c.description}`, () => {
      const dir = freshDir();
      assertConfigError(() => settingsFromRaw(c.given, path.join(dir, 'config.yaml')), c.expect, dir);
    });
  }
});

describe('loadSettings: two addresses this node binds that are the same address', () => {
  const withM2m = (m2m: string, api = '') => `${MINIMAL}m2m: ${m2m}\n${api}`;
  const rejected: Case<string, string>[] = [
    { description: 'm2m.pub equal to m2m.rep', given: withM2m('{ pub: "tcp://0.0.0.0:9877", rep: "tcp://0.0.0.0:9877" }'), expect: 'm2m.rep: tcp://0.0.0.0:9877 is the same address as m2m.pub (tcp://0.0.0.0:9877); each address this node binds needs its own' },
    { description: 'm2m.rep on an address the wildcard m2m.pub takes', given: withM2m('{ pub: "tcp://*:9877", rep: "tcp://127.0.0.1:9877" }'), expect: 'm2m.rep: tcp://127.0.0.1:9877 is the same address as m2m.pub (tcp://*:9877); each address this node binds needs its own' },
    { description: 'one ipc path for both', given: withM2m('{ pub: "ipc:///tmp/a", rep: "ipc:///tmp/a" }'), expect: 'm2m.rep: ipc:///tmp/a is the same address as m2m.pub (ipc:///tmp/a); each address this node binds needs its own' },
    { description: 'the API on m2m.rep\'s address', given: withM2m('{ rep: "tcp://127.0.0.1:9000" }', 'api: { port: 9000 }\n'), expect: 'api.port: 9000 on 127.0.0.1 (the API) is the same address as m2m.rep (tcp://127.0.0.1:9000); each address this node binds needs its own' },
    { description: 'the API on the default m2m.pub port', given: withM2m('{ rep: "tcp://0.0.0.0:9000" }', 'api: { port: 9877 }\n'), expect: 'api.port: 9877 on 127.0.0.1 (the API) is the same address as m2m.pub (tcp://0.0.0.0:9877); each address this node binds needs its own' },
  ];
  for (const c of rejected) {
    test(`rejects ${c.description}`, () => {
      const { dir, file } = writeConfig(c.given);
      assert.equal(assertConfigError(() => loadSettings(file), [], dir), c.expect);
    });
  }
  test('accepts one port on two addresses, and the API beside them', () => {
    const s = loadSettings(writeConfig(withM2m('{ pub: "tcp://127.0.0.1:9877", rep: "tcp://127.0.0.2:9877" }', 'api: { port: 9878 }\n')).file);
    assert.deepEqual(s.m2m, { pub: 'tcp://127.0.0.1:9877', rep: 'tcp://127.0.0.2:9877' });
  });
});

describe('loadSettings: rejected configurations throw a one-line ConfigError naming the key or path', () => {
  const cases: Case<string, string[]>[] = [
    {
      description: 'an unknown top-level key',
      given: `${MINIMAL}colour: blue\n`, expect: ['colour'] },
    { description: 'an unknown key in api', given: `${MINIMAL}api:\n  hots: 0.0.0.0\n`, expect: ['hots', 'api'] },
    { description: 'an unknown key in m2m', given: `${MINIMAL}m2m:\n  sub: tcp://h:1\n`, expect: ['sub', 'm2m'] },
    { description: 'an unknown key in a peer', given: `node: alpha\n${PEERS}    address: 192.0.2.2\n${FILES}`, expect: ['address', 'peers[0]'] },
    {
      description: 'an unknown key in a file entry',
      given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    mode: 0644\n`,
      expect: ['mode', 'files[0]'],
    },
    { description: 'a missing node', given: `${PEERS}${FILES}`, expect: ['node'] },
    { description: 'a missing peers', given: `node: alpha\n${FILES}`, expect: ['peers'] },
    { description: 'a missing files', given: `node: alpha\n${PEERS}`, expect: ['files'] },
    { description: 'an empty peers list', given: `node: alpha\npeers: []\n${FILES}`, expect: ['peers'] },
    { description: 'an empty files list', given: `node: alpha\n${PEERS}files: []\n`, expect: ['files'] },
    {
      description: 'the same file listed twice',
      given: `node: alpha\n${PEERS}files:\n  - conf/app.conf\n  - conf/app.conf\n`,
      expect: ['files[1]', '$DIR/conf/app.conf'],
    },
    {
      description: 'the same file listed twice under different spellings',
      given: `node: alpha\n${PEERS}files:\n  - conf/app.conf\n  - ./conf/sub/../app.conf\n`,
      expect: ['files[1]', '$DIR/conf/app.conf'],
    },
    {
      description: 'the same file listed twice, relative and absolute, with distinct names',
      given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    name: one\n  - path: $DIR/conf/app.conf\n    name: two\n`,
      expect: ['files[1]', '$DIR/conf/app.conf'],
    },
    {
      description: 'two files with one name',
      given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    name: app\n  - path: conf/other.conf\n    name: app\n`,
      expect: ['files[1]', 'app'],
    },
    {
      description: 'a name that collides with another entry as written',
      given: `node: alpha\n${PEERS}files:\n  - conf/app.conf\n  - path: conf/other.conf\n    name: conf/app.conf\n`,
      expect: ['files[1]', 'conf/app.conf'],
    },
    { description: 'a path that is a directory', given: `node: alpha\n${PEERS}files:\n  - conf/sub\n`, expect: ['files[0]', '$DIR/conf/sub', 'directory'] },
    {
      description: 'a file whose parent folder does not exist',
      given: `node: alpha\n${PEERS}files:\n  - conf/app.conf\n  - nowhere/app.conf\n`,
      expect: ['files[1]', '$DIR/nowhere'],
    },
    {
      description: 'a file whose parent is a regular file',
      given: `node: alpha\n${PEERS}files:\n  - conf/app.conf/inner.conf\n`,
      expect: ['files[0]', '$DIR/conf/app.conf'],
    },
    { description: 'an http endpoint', given: `${MINIMAL}m2m:\n  pub: http://x\n`, expect: ['m2m.pub'] },
    { description: 'a tcp endpoint without a port', given: `${MINIMAL}m2m:\n  rep: tcp://host\n`, expect: ['m2m.rep'] },
    {
      description: 'a tcp endpoint with a port over 65535',
      given: `node: alpha\npeers:\n  - name: beta\n    pub: tcp://h:99999\n    rep: tcp://h:9878\n${FILES}`,
      expect: ['peers[0].pub'],
    },
    {
      description: 'a tcp endpoint with port 0',
      given: `node: alpha\npeers:\n  - name: beta\n    pub: tcp://h:9877\n    rep: tcp://h:0\n${FILES}`,
      expect: ['peers[0].rep'],
    },
    {
      description: 'a bare host:port endpoint',
      given: `node: alpha\npeers:\n  - name: beta\n    pub: 192.0.2.2:9877\n    rep: tcp://h:9878\n${FILES}`,
      expect: ['peers[0].pub'],
    },
    { description: 'two peers with one name', given: `node: alpha\n${PEERS}${PEER_BETA}${FILES}`, expect: ['peers[1].name', 'beta'] },
    {
      description: 'a peer named like the node',
      given: `node: alpha\n${PEERS}  - name: alpha\n    pub: tcp://h:1\n    rep: tcp://h:2\n${FILES}`,
      expect: ['peers[1].name', 'alpha'],
    },
    { description: 'an unknown reconcile mode', given: `${MINIMAL}reconcile: sometimes\n`, expect: ['reconcile'] },
    { description: 'a peerTimeoutMs that is not a number', given: `${MINIMAL}peerTimeoutMs: fast\n`, expect: ['peerTimeoutMs'] },
    { description: 'a negative settleMs', given: `${MINIMAL}settleMs: -1\n`, expect: ['settleMs: must be 0 or more'] },
    { description: 'a settleMs that is not a number', given: `${MINIMAL}settleMs: slow\n`, expect: ['settleMs: must be a number of milliseconds'] },
    { description: 'a settleMs in fractions of a millisecond', given: `${MINIMAL}settleMs: 2.5\n`, expect: ['settleMs: must be a whole number'] },
    { description: 'a settleMs over a minute', given: `${MINIMAL}settleMs: 60001\n`, expect: ['settleMs: must be at most 60000'] },
    { description: 'a file\'s settleMs that is not a number', given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    settleMs: slow\n`, expect: ['files[0].settleMs: must be a number of milliseconds'] },
    { description: 'a file\'s negative settleMs', given: `node: alpha\n${PEERS}files:\n  - conf/app.conf\n  - path: conf/other.conf\n    settleMs: -5\n`, expect: ['files[1].settleMs: must be 0 or more'] },
    { description: 'an unquoted createMode (YAML reads 0600 as the number 600)', given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    createMode: 0600\n`, expect: ['files[0].createMode: must be a quoted string of octal digits, such as "0600"'] },
    { description: 'a createMode with a digit that is not octal', given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    createMode: "0680"\n`, expect: ['files[0].createMode: must be three or four octal digits'] },
    { description: 'a createMode with the set-uid bit', given: `node: alpha\n${PEERS}files:\n  - conf/app.conf\n  - path: conf/other.conf\n    createMode: "4755"\n`, expect: ['files[1].createMode: must be three or four octal digits of permission bits', 'no set-id'] },
    { description: 'a createMode written as a word', given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    createMode: "rw-------"\n`, expect: ['files[0].createMode'] },
    { description: 'a maxBytes of 0', given: `${MINIMAL}maxBytes: 0\n`, expect: ['maxBytes: must be a positive number of bytes'] },
    { description: 'a maxBytes that is not a number', given: `${MINIMAL}maxBytes: 1G\n`, expect: ['maxBytes: must be a number of bytes'] },
    { description: 'a maxBytes in fractions of a byte', given: `${MINIMAL}maxBytes: 10.5\n`, expect: ['maxBytes: must be a whole number of bytes'] },
    { description: 'a maxBytes over 1 TiB', given: `${MINIMAL}maxBytes: 1099511627777\n`, expect: ['maxBytes: must be at most 1099511627776'] },
    { description: 'a file\'s negative maxBytes', given: `node: alpha\n${PEERS}files:\n  - path: conf/app.conf\n    maxBytes: -1\n`, expect: ['files[0].maxBytes: must be a positive number of bytes'] },
    { description: 'an api port out of range', given: `${MINIMAL}api:\n  port: 70000\n`, expect: ['api.port'] },
    { description: 'an api.hosts entry with a port', given: `${MINIMAL}api:\n  hosts: [entangled.example.org:9876]\n`, expect: ['api.hosts[0]', 'without a scheme or port'] },
    { description: 'an api.hosts entry with a scheme', given: `${MINIMAL}api:\n  hosts: [ok.example, "http://entangled.example.org"]\n`, expect: ['api.hosts[1]', 'without a scheme or port'] },
    { description: 'api.hosts that is not a list', given: `${MINIMAL}api:\n  hosts: entangled.example.org\n`, expect: ['api.hosts'] },
    { description: 'a file entry that is not a string or object', given: `node: alpha\n${PEERS}files:\n  - 42\n`, expect: ['files[0]'] },
    { description: 'text that is not YAML', given: 'node: alpha\npeers: [\n  - {name: beta\n', expect: ['$DIR/config.yaml'] },
    { description: 'YAML with a key given twice', given: `${MINIMAL}node: beta\n`, expect: ['$DIR/config.yaml'] },
    { description: 'YAML that is a scalar, not a mapping', given: 'just some words\n', expect: ['$DIR/config.yaml'] },
    { description: 'YAML that is a list', given: '- node: alpha\n', expect: ['$DIR/config.yaml'] },
    { description: 'an empty file', given: '', expect: ['$DIR/config.yaml'] },
  ];
  for (const c of cases) {
    test(`rejects ${c.description}`, () => {
      const { dir, file } = writeConfig(c.given);
      assertConfigError(() => loadSettings(file), c.expect, dir);
    });
  }

  test('rejects a missing config file, naming it', () => {
    const dir = freshDir();
    const missing = path.join(dir, 'absent.yaml');
    const message = assertConfigError(() => loadSettings(missing), [missing], dir);
    assert.match(message, /ENOENT/);
  });

  test('rejects a config path that is a folder, naming it', () => {
    const dir = freshDir();
    assertConfigError(() => loadSettings(path.join(dir, 'conf')), [path.join(dir, 'conf')], dir);
  });
});

describe('loadSettings: api.tokenFile', () => {
  /** A config whose api reads its token from `token.txt` (written with `content` and `mode`) beside it. */
  function withTokenFile(content: string, mode = 0o600, api = 'tokenFile: token.txt') {
    const { dir, file } = writeConfig(`node: alpha\napi: { ${api} }\n${PEERS}${FILES}`);
    writeFileSync(path.join(dir, 'token.txt'), content, { mode });
    chmodSync(path.join(dir, 'token.txt'), mode);
    return { dir, file };
  }

  const accepted: Case<{ content: string; mode: number }, string>[] = [
    { description: 'a 0600 file: its line, the trailing newline dropped', given: { content: 's3cret\n', mode: 0o600 }, expect: 's3cret' },
    { description: 'a CRLF line ending is dropped too', given: { content: 's3cret\r\n', mode: 0o600 }, expect: 's3cret' },
    { description: 'no trailing newline', given: { content: 's3cret', mode: 0o600 }, expect: 's3cret' },
    { description: 'readable by its group (0640): operators of that group may read it for the CLI', given: { content: 's3cret\n', mode: 0o640 }, expect: 's3cret' },
  ];
  for (const c of accepted) {
    test(`reads ${c.description}`, () => {
      const { dir, file } = withTokenFile(c.given.content, c.given.mode);
      assert.deepEqual(loadSettings(file).api, { host: '127.0.0.1', port: 9876, token: c.expect, tokenFile: path.join(dir, 'token.txt'), hosts: [] });
    });
  }

  const refused: Case<{ content: string; mode?: number; api?: string }, string[]>[] = [
    { description: 'readable by others (0644)', given: { content: 's3cret\n', mode: 0o644 }, expect: ['api.tokenFile', '$DIR/token.txt', 'readable by others'] },
    { description: 'empty', given: { content: '' }, expect: ['api.tokenFile', '$DIR/token.txt', 'is empty'] },
    { description: 'a newline alone', given: { content: '\n' }, expect: ['api.tokenFile', '$DIR/token.txt', 'is empty'] },
    { description: 'two lines', given: { content: 'one\ntwo\n' }, expect: ['api.tokenFile', '$DIR/token.txt', 'more than one line'] },
    { description: 'spaces around the token', given: { content: ' s3cret \n' }, expect: ['api.tokenFile', '$DIR/token.txt', 'spaces'] },
    { description: 'set together with api.token', given: { content: 's3cret\n', api: 'token: other, tokenFile: token.txt' }, expect: ['api.tokenFile', 'api.token'] },
  ];
  for (const c of refused) {
    test(`refuses a token file ${c.description}, in one line naming the key`, () => {
      const { dir, file } = withTokenFile(c.given.content, c.given.mode, c.given.api);
      assertConfigError(() => loadSettings(file), c.expect, dir);
    });
  }

  test('refuses a token file that does not exist, and one that is a folder', () => {
    const { dir, file } = writeConfig(`node: alpha\napi: { tokenFile: token.txt }\n${PEERS}${FILES}`);
    assertConfigError(() => loadSettings(file), ['api.tokenFile', '$DIR/token.txt', 'ENOENT'], dir);
    mkdirSync(path.join(dir, 'token.txt'));
    assertConfigError(() => loadSettings(file), ['api.tokenFile', '$DIR/token.txt', 'not a regular file'], dir);
  });
});
