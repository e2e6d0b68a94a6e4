import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { apiEndpoint, findEndpointClash, type BoundEndpoint } from '../core/endpoints.js';
import { ConfigError } from '../core/errors.js';
import { parseFileMode } from '../core/limits.js';
import { inspectPath } from '../io/link.js';
import { curvePublicKey, isCurveKey } from '../net/curve-keys.js';
import { configSchema, type CurveKeys, type FileSpec, type Settings } from './settings.js';

/** Renders a key path the way it is written in YAML: `peers[0].pub`. */
function keyPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(top level)';
}

function valueAt(raw: unknown, parts: readonly PropertyKey[]): unknown {
  let cur = raw;
  for (const p of parts) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** Turns the first schema issue into one line that names the key. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const at = issue.path.length ? ` in ${keyPath(issue.path)}` : '';
    return `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}${at}`;
  }
  const key = keyPath(issue.path);
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) return `${key}: is required`;
  if (issue.code === 'invalid_union' && issue.path.at(-1) === 'publicKey') {
    // A list with a non-string in it: name the entry (the list branch's issue), else the key.
    const inList = Array.isArray(valueAt(raw, issue.path)) ? issue.errors[1]?.[0] : undefined;
    if (inList) return `${keyPath([...issue.path, ...inList.path])}: must be a 40-character Z85 key (see \`entangled keygen\`)`;
    return `${key}: must be a Z85 key or a list of them`;
  }
  if (issue.code === 'invalid_union') {
    // A file entry in the object form with a bad key inside: name that key (the object branch's issue).
    const value = valueAt(raw, issue.path);
    const inner = typeof value === 'object' && value !== null ? issue.errors.find((branch) => branch[0] && (branch[0].path.length > 0 || branch[0].code === 'unrecognized_keys'))?.[0] : undefined;
    if (inner) return describeIssue({ ...inner, path: [...issue.path, ...inner.path] }, raw);
    return `${key}: must be a path or { path, name }`;
  }
  return `${key}: ${issue.message}`;
}

/**
 * Validates a parsed YAML document against the schema and the contract's rules, resolving
 * relative paths against `baseDir`. Throws ConfigError (one line naming the key or path).
 */
export function settingsFromRaw(raw: unknown, configPath: string): Settings {
  const baseDir = path.dirname(configPath);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // An unknown key explains the rest (a misspelt key also leaves its real one "required").
    const issues = parsed.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
    throw new ConfigError(issue ? describeIssue(issue, raw) : 'invalid configuration');
  }
  const cfg = parsed.data;
  checkEndpoints(cfg.m2m, cfg.api);

  const peerNames = new Set<string>();
  /** Every listed key → where it is written (`peers[0].publicKey` or `peers[0].publicKey[1]`). */
  const peerKeys = new Map<string, string>();
  const publicKeys = cfg.peers.map((p, i) => {
    if (p.name === cfg.node) throw new ConfigError(`peers[${i}].name: "${p.name}" is this node's own name`);
    if (peerNames.has(p.name)) throw new ConfigError(`peers[${i}].name: two peers are named "${p.name}"`);
    if (cfg.security && p.publicKey === undefined) {
      throw new ConfigError(`peers[${i}].publicKey: is required when security.curve is set`);
    }
    peerNames.add(p.name);
    const keys = p.publicKey === undefined ? [] : typeof p.publicKey === 'string' ? [p.publicKey] : p.publicKey;
    keys.forEach((k, j) => {
      // A key is how a connecting peer is recognised: it must name exactly one peer, once.
      const at = typeof p.publicKey === 'string' ? `peers[${i}].publicKey` : `peers[${i}].publicKey[${j}]`;
      if (k === cfg.security?.curve.publicKey) throw new ConfigError(`${at}: is this node's own key (security.curve.publicKey)`);
      const seen = peerKeys.get(k);
      if (seen?.startsWith(`peers[${i}].`)) throw new ConfigError(`${at}: is listed twice (${seen})`);
      if (seen !== undefined) throw new ConfigError(`${at}: is also ${seen}`);
      peerKeys.set(k, at);
    });
    return Object.freeze([...keys]);
  });
  const curve = cfg.security ? curveKeys(cfg.security.curve, baseDir) : null;

  /** Each entry's resolved path, and a listed link's target: the index of the entry that has it. */
  const byPath = new Map<string, number>();
  const throughLink = new Map<string, string>();
  const byName = new Map<string, number>();
  const files: FileSpec[] = cfg.files.map((entry, i) => {
    const written = typeof entry === 'string' ? entry : entry.path;
    const name = typeof entry === 'string' ? entry : (entry.name ?? entry.path);
    const validate = typeof entry === 'string' ? null : (entry.validate ?? null);
    const onApply = typeof entry === 'string' ? null : (entry.onApply ?? null);
    const settle = typeof entry === 'string' ? null : (entry.settleMs ?? null);
    const createMode = typeof entry === 'string' || entry.createMode === undefined ? null : parseFileMode(entry.createMode);
    const maxBytes = typeof entry === 'string' ? null : (entry.maxBytes ?? null);
    const abs = path.resolve(baseDir, written);
    const seenPath = byPath.get(abs);
    if (seenPath !== undefined) {
      const link = throughLink.get(abs);
      throw new ConfigError(`files[${i}]: ${abs} is listed twice (files[${seenPath}]${link === undefined ? '' : `, through the symbolic link ${link}`})`);
    }
    const target = linkedFile(abs);
    const seenTarget = target === null ? undefined : byPath.get(target);
    if (seenTarget !== undefined) throw new ConfigError(`files[${i}]: ${abs} is a symbolic link to ${target}, which files[${seenTarget}] lists too`);
    const seenName = byName.get(name);
    if (seenName !== undefined) throw new ConfigError(`files[${i}]: name "${name}" is used twice (files[${seenName}])`);
    byPath.set(abs, i);
    if (target !== null) {
      byPath.set(target, i);
      throughLink.set(target, abs);
    }
    byName.set(name, i);
    checkFilePath(abs, i);
    return Object.freeze({ name, path: abs, validate, onApply, settleMs: settle, createMode, maxBytes });
  });

  return Object.freeze({
    configPath,
    node: cfg.node,
    api: Object.freeze(apiSettings(cfg.api, baseDir)),
    m2m: Object.freeze({ ...cfg.m2m }),
    peers: Object.freeze(
      cfg.peers.map((p, i) => Object.freeze({ name: p.name, pub: p.pub, rep: p.rep, publicKeys: publicKeys[i]! })),
    ),
    files: Object.freeze(files),
    stateDir: path.resolve(baseDir, cfg.stateDir),
    reconcile: cfg.reconcile,
    peerTimeoutMs: cfg.peerTimeoutMs,
    settleMs: cfg.settleMs,
    security: curve ? Object.freeze({ curve }) : null,
    backups: cfg.backups,
    maxBytes: cfg.maxBytes,
    hooks: Object.freeze({
      onPeerDown: cfg.hooks.onPeerDown ?? null,
      onPeerUp: cfg.hooks.onPeerUp ?? null,
      onSplitBrain: cfg.hooks.onSplitBrain ?? null,
      timeoutMs: cfg.hooks.timeoutMs,
    }),
  });
}

/**
 * The API's address, the extra names it answers (api.hosts, each once) and its token: api.token, or the one line of api.tokenFile (its trailing newline
 * dropped). The file must be a regular file that others cannot read, and not empty; both keys
 * set is an error. Throws ConfigError naming the key.
 */
function apiSettings(api: { host: string; port: number; token: string | null; tokenFile: string | null; hosts: string[] }, baseDir: string): Settings['api'] {
  const hosts = Object.freeze([...new Set(api.hosts)]);
  if (api.tokenFile === null) return { host: api.host, port: api.port, token: api.token, tokenFile: null, hosts };
  if (api.token !== null) throw new ConfigError('api.tokenFile: cannot be set together with api.token (keep one)');
  const file = path.resolve(baseDir, api.tokenFile);
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ConfigError(`api.tokenFile: ${file} is not a regular file`);
    if ((st.mode & 0o004) !== 0) throw new ConfigError(`api.tokenFile: ${file} is readable by others (chmod 600 it)`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`api.tokenFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = text.replace(/\r?\n$/, '');
  if (token.trim() === '') throw new ConfigError(`api.tokenFile: ${file} is empty`);
  // A bearer token is one header value: one line, no space around it.
  if (/[\r\n]/.test(token)) throw new ConfigError(`api.tokenFile: ${file} holds more than one line (the token alone, on one line)`);
  if (token !== token.trim()) throw new ConfigError(`api.tokenFile: ${file} has spaces around the token`);
  return { host: api.host, port: api.port, token, tokenFile: file, hosts };
}

/**
 * The addresses this node binds (m2m.pub, m2m.rep, then the API, in start's order) must differ:
 * two that are the same address fail at start with EADDRINUSE. Throws ConfigError naming the later key.
 */
function checkEndpoints(m2m: { pub: string; rep: string }, api: { host: string; port: number }): void {
  const bound: BoundEndpoint[] = [
    { key: 'm2m.pub', endpoint: m2m.pub },
    { key: 'm2m.rep', endpoint: m2m.rep },
    { key: 'api', endpoint: apiEndpoint(api.host, api.port) },
  ];
  const clash = findEndpointClash(bound);
  if (clash === null) return;
  const { earlier, later } = clash;
  const what = later.key === 'api' ? `api.port: ${api.port} on ${api.host} (the API)` : `${later.key}: ${later.endpoint}`;
  throw new ConfigError(`${what} is the same address as ${earlier.key} (${earlier.endpoint}); each address this node binds needs its own`);
}

/** This node's key pair; a secret key file must exist, hold one Z85 key and be unreadable by others. */
function curveKeys(c: { publicKey: string; secretKey?: string | undefined; secretKeyFile?: string | undefined }, baseDir: string): CurveKeys {
  if (c.secretKey !== undefined) return matchingPair(c.publicKey, c.secretKey, 'secretKey');
  const file = path.resolve(baseDir, c.secretKeyFile ?? '');
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ConfigError(`security.curve.secretKeyFile: ${file} is not a regular file`);
    if ((st.mode & 0o004) !== 0) {
      throw new ConfigError(`security.curve.secretKeyFile: ${file} is readable by others (chmod 600 it)`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`security.curve.secretKeyFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // The file holds the key alone, or the `secretKey: …` line that `entangled keygen` prints.
  const keys = text.split('\n').flatMap((line) => /^\s*(?:secretKey:\s*)?["']?([^\s"']+)["']?\s*$/.exec(line)?.[1] ?? []);
  const secretKey = keys.length === 1 ? keys[0] : undefined;
  if (!secretKey || !isCurveKey(secretKey)) {
    throw new ConfigError(`security.curve.secretKeyFile: ${file} does not hold a 40-character Z85 secret key`);
  }
  return matchingPair(c.publicKey, secretKey, `the secret key in ${file}`);
}

/** The key pair, once the secret is known to belong to the public key (X25519); `what` names the secret. */
function matchingPair(publicKey: string, secretKey: string, what: string): CurveKeys {
  if (curvePublicKey(secretKey) !== publicKey) {
    throw new ConfigError(`security.curve: ${what} does not belong to publicKey ${publicKey} (use the two keys one \`entangled keygen\` printed)`);
  }
  return Object.freeze({ publicKey, secretKey });
}

/** The regular file a listed symbolic link resolves to; null for a path that is no link, or a link that reaches no file. */
function linkedFile(abs: string): string | null {
  try {
    const shape = inspectPath(abs);
    return shape.kind === 'link' && shape.reaches === 'file' ? shape.target : null;
  } catch {
    return null;
  }
}

/**
 * A listed path must be in an existing folder and be a regular file or absent; a symbolic
 * link is followed (a link to a folder is a folder), and a dangling one counts as absent:
 * the node reports it as the file's problem.
 */
function checkFilePath(abs: string, i: number): void {
  const dir = path.dirname(abs);
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new ConfigError(`files[${i}]: folder ${dir} does not exist`);
  }
  if (!dirStat.isDirectory()) throw new ConfigError(`files[${i}]: ${dir} is not a folder`);
  try {
    const st = statSync(abs);
    if (st.isDirectory()) throw new ConfigError(`files[${i}]: ${abs} is a directory, not a file`);
    if (!st.isFile()) throw new ConfigError(`files[${i}]: ${abs} is not a regular file`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // Absent: allowed, the node warns and creates it when a peer's version arrives.
  }
}

/** Reads and validates a YAML configuration file. Throws ConfigError naming the file, key or path. */
export function loadSettings(file: string): Settings {
  const configPath = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${configPath}: cannot read (${code})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ConfigError(`${configPath}: not valid YAML: ${first}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${configPath}: must be a YAML mapping with node, peers and files`);
  }
  const settings = settingsFromRaw(raw, configPath);
  checkInlineSecret(raw, configPath);
  return settings;
}

/**
 * A secret key written inline is only as private as the config file: refused, as a key file
 * would be, when others can read the file. Throws ConfigError naming security.curve.secretKey.
 */
function checkInlineSecret(raw: object, configPath: string): void {
  const curve = (raw as { security?: { curve?: { secretKey?: unknown } } }).security?.curve;
  if (curve?.secretKey === undefined) return;
  let mode: number;
  try {
    mode = statSync(configPath).mode;
  } catch (err) {
    throw new ConfigError(`${configPath}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o004) !== 0) {
    throw new ConfigError(`security.curve.secretKey: is written inline in ${configPath}, which others can read (chmod 600 it, or move the key to a secretKeyFile)`);
  }
}
