import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { NodeDef, RunningNode } from './cluster.js';

/**
 * Network namespaces for real partitions. Each side (one letter) gets a namespace; each listed
 * pair of sides gets a cluster link, a veth pair on its own /30, that can be set down at either
 * end on its own; each namespace also gets a veth to the root namespace, on its own /30, that
 * only carries the test's API requests. Nothing forwards: a namespace reaches another only over
 * the link they share, so one link down cuts exactly that pair.
 *
 * Addresses come from one 10.x.y.0/24 that nothing on this host uses: the links' /30s first
 * (ends .4k+1 and .4k+2, in the order the pairs are listed), then one /30 per side for its API
 * link (.4k+1 the root end, .4k+2 the namespace end).
 */

export function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Why network namespaces cannot be used here, or null when they can. */
export function whyNoNetns(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root: creating network namespaces needs CAP_SYS_ADMIN';
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error) return `no ip command (Debian package iproute2): ${v.error.message}`;
  const probe = `entangled-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1');
    return null;
  } catch (err) {
    return `cannot create network namespaces or veth pairs: ${(err as Error).message}`;
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
}

/** Namespaces of earlier runs (and probes) whose test process died without cleaning up. */
export function removeStaleNamespaces(): void {
  let list = '';
  try {
    list = ip('netns', 'list');
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(entangled-(?:probe-(\d+)|(\d+)-[0-9a-f]+-[a-z]))(?:\s|$)/.exec(line);
    if (!m) continue;
    const pid = Number(m[2] ?? m[3]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) spawnSync('ip', ['netns', 'del', m[1]!]);
  }
}

export interface NetnsLink<S extends string> {
  sides: readonly [S, S];
  /** Each side's end: its device (in that side's namespace) and its address. */
  dev: readonly [string, string];
  addr: readonly [string, string];
}

export interface Netns<S extends string> {
  tag: string;
  /** Side → its namespace's name. */
  ns: Record<S, string>;
  /** Side → the address of its API link's end in its namespace (reached from the root namespace). */
  api: Record<S, string>;
  links: NetnsLink<S>[];
  /** The API links' root ends. */
  rootLinks: string[];
}

function usedPrefixes(): string {
  return ip('-4', 'addr') + ip('-4', 'route');
}

/** Builds the namespaces and veth pairs; on any failure undoes what it made and throws. */
function buildOnce<S extends string>(sides: readonly S[], pairs: readonly (readonly [S, S])[]): Netns<S> {
  for (const s of sides) if (!/^[a-m]$/.test(s)) throw new Error(`side ${s}: one letter a-m`);
  if ((pairs.length + sides.length) * 4 > 256) throw new Error('too many links for one /24');
  const tag = randomBytes(2).toString('hex');
  // A /24 in 10.200-254.x that nothing on this host uses yet.
  let prefix = '';
  for (let i = 0; i < 50 && !prefix; i++) {
    const p = `10.${200 + Math.floor(Math.random() * 55)}.${Math.floor(Math.random() * 256)}.`;
    if (!usedPrefixes().includes(p)) prefix = p;
  }
  if (!prefix) throw new Error('no free 10.x.y.0/24 found');
  const subnet = (k: number) => [`${prefix}${4 * k + 1}`, `${prefix}${4 * k + 2}`] as const;
  const record = (f: (s: S, i: number) => string) => Object.fromEntries(sides.map((s, i) => [s, f(s, i)])) as Record<S, string>;
  const net: Netns<S> = {
    tag,
    ns: record((s) => `entangled-${process.pid}-${tag}-${s}`),
    api: record((_s, i) => subnet(pairs.length + i)[1]),
    links: pairs.map(([x, y], k) => ({ sides: [x, y] as const, dev: [`et${tag}${x}${y}`, `et${tag}${y}${x}`] as const, addr: subnet(k) })),
    rootLinks: sides.map((s) => `et${tag}r${s}`),
  };
  try {
    for (const s of sides) {
      ip('netns', 'add', net.ns[s]);
      ip('-n', net.ns[s], 'link', 'set', 'lo', 'up');
    }
    // Each cluster link created inside the first side's namespace, its peer end moved to the second's.
    for (const { sides: [x, y], dev, addr } of net.links) {
      ip('-n', net.ns[x], 'link', 'add', dev[0], 'type', 'veth', 'peer', 'name', dev[1], 'netns', net.ns[y]);
      ip('-n', net.ns[x], 'addr', 'add', `${addr[0]}/30`, 'dev', dev[0]);
      ip('-n', net.ns[y], 'addr', 'add', `${addr[1]}/30`, 'dev', dev[1]);
      ip('-n', net.ns[x], 'link', 'set', dev[0], 'up');
      ip('-n', net.ns[y], 'link', 'set', dev[1], 'up');
    }
    for (const [i, s] of sides.entries()) {
      const [rootAddr, nsAddr] = subnet(pairs.length + i);
      const rootEnd = `et${tag}r${s}`;
      const nsEnd = `et${tag}n${s}`;
      ip('link', 'add', rootEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', net.ns[s]);
      ip('addr', 'add', `${rootAddr}/30`, 'dev', rootEnd);
      ip('link', 'set', rootEnd, 'up');
      ip('-n', net.ns[s], 'addr', 'add', `${nsAddr}/30`, 'dev', nsEnd);
      ip('-n', net.ns[s], 'link', 'set', nsEnd, 'up');
    }
    return net;
  } catch (err) {
    destroyNetns(net);
    throw err;
  }
}

/** buildOnce, up to three times (another test may have taken the prefix or tag meanwhile). */
export function buildNetns<S extends string>(sides: readonly S[], pairs: readonly (readonly [S, S])[]): Netns<S> {
  for (let attempt = 1; ; attempt++) {
    try {
      return buildOnce(sides, pairs);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Removes what buildNetns made (safe to call twice, or on a half-built net). */
/** Kills the nodes still running, then removes the namespaces and the test's folder. */
export async function tearDown<S extends string>(running: readonly RunningNode[], net: Netns<S> | undefined, root: string | undefined): Promise<void> {
  for (const r of running) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await r.exited;
  }
  if (net) destroyNetns(net);
  if (root) rmSync(root, { recursive: true, force: true });
}

export function destroyNetns<S extends string>(net: Netns<S>): void {
  for (const l of net.rootLinks) spawnSync('ip', ['link', 'del', l]);
  for (const ns of Object.values<string>(net.ns)) spawnSync('ip', ['netns', 'del', ns]);
}

/** `side`'s end of its link to `other`: the device in its namespace, its address, and `other`'s address on that link. */
export function linkEnd<S extends string>(net: Netns<S>, side: S, other: S): { dev: string; addr: string; peerAddr: string } {
  for (const { sides: [x, y], dev, addr } of net.links) {
    if (x === side && y === other) return { dev: dev[0], addr: addr[0], peerAddr: addr[1] };
    if (y === side && x === other) return { dev: dev[1], addr: addr[1], peerAddr: addr[0] };
  }
  throw new Error(`no link between ${side} and ${other}`);
}

/**
 * Two nodes across namespaces `a` and `b`, written under `root`: alpha in a, beta in b, each
 * listening on its end of the veth link between them, each API on its namespace's link to the
 * root namespace (where the test runs); `files` (name → content) listed and made on both,
 * `extra` added to both configs (e.g. `reconcile`). peerTimeoutMs 1000.
 */
export function defineNsPair(net: Netns<'a' | 'b'>, root: string, basePort: number, files: Readonly<Record<string, string>>, extra: Readonly<Record<string, unknown>> = {}): [NodeDef, NodeDef] {
  const sides = [
    { name: 'alpha', cluster: linkEnd(net, 'a', 'b').addr, api: net.api.a },
    { name: 'beta', cluster: linkEnd(net, 'b', 'a').addr, api: net.api.b },
  ];
  const ports = { api: basePort, pub: basePort + 1, rep: basePort + 2 };
  const defs = sides.map((s, i) => {
    const other = sides[1 - i]!;
    const dir = path.join(root, s.name);
    mkdirSync(path.join(dir, 'state'), { recursive: true });
    const def: NodeDef = { name: s.name, dir, ports, configPath: path.join(dir, 'entangled.yaml'), apiHost: s.api };
    writeFileSync(def.configPath, stringify({
      node: s.name,
      api: { host: s.api, port: ports.api },
      m2m: { pub: `tcp://${s.cluster}:${ports.pub}`, rep: `tcp://${s.cluster}:${ports.rep}` },
      peers: [{ name: other.name, pub: `tcp://${other.cluster}:${ports.pub}`, rep: `tcp://${other.cluster}:${ports.rep}` }],
      files: Object.keys(files),
      stateDir: 'state',
      peerTimeoutMs: 1000,
      ...extra,
    }));
    for (const [f, c] of Object.entries(files)) writeFileSync(path.join(dir, f), c);
    return def;
  });
  return [defs[0]!, defs[1]!];
}

/** Sets `side`'s end of its link to `other` down or up (the other end is left as it is). */
export function setLinkEnd<S extends string>(net: Netns<S>, side: S, other: S, state: 'up' | 'down'): void {
  ip('-n', net.ns[side], 'link', 'set', linkEnd(net, side, other).dev, state);
}

/** Whether `side`'s namespace has a route to `addr` now (`ip route get`). */
export function routes<S extends string>(net: Netns<S>, side: S, addr: string): boolean {
  return spawnSync('ip', ['-n', net.ns[side], 'route', 'get', addr]).status === 0;
}
