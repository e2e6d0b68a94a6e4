import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadSettings } from '../../src/config/load.js';
import type { Settings } from '../../src/config/settings.js';
import type { Clock } from '../../src/node/context.js';
import { EntangledNode } from '../../src/node/node.js';
import type { NodeState } from '../../src/node/view.js';
import { freePorts, tempDir, waitFor, type LogLine } from './cluster.js';
import { FakePeer } from './fake-peer.js';

/** The node's name in every component test; its one peer is the fake `beta`. */
export const NODE = 'alpha';
export const PEER = 'beta';

/**
 * A clock a test can step: `now()` is performance.now() plus `nowShift` (a stall or a monotonic
 * jump), `wall()` is Date.now() plus `wallShift` (an NTP step, `date -s`).
 */
export class TestClock implements Clock {
  nowShift = 0;
  wallShift = 0;

  now(): number {
    return performance.now() + this.nowShift;
  }

  wall(): number {
    return Date.now() + this.wallShift;
  }
}

export interface InProcessOptions {
  /** The node's listed files and their contents (null: listed but absent). Default: app.conf = "v0\n". */
  readonly files?: Record<string, string | null>;
  /** The fake peer's copies; default: the same as the node's. */
  readonly peerFiles?: Record<string, string | null>;
  /** A validate command per file name. */
  readonly validate?: Record<string, string>;
  readonly peerTimeoutMs?: number;
  readonly reconcile?: 'manual' | 'auto';
  /** The top-level settleMs (default: none written, so 0). */
  readonly settleMs?: number;
  readonly clock?: Clock;
}

type FileDoc = NodeState['files'][number];

/** One real node built in this process from its composition root, beside a fake peer. */
export interface InProcess {
  readonly node: EntangledNode;
  readonly settings: Settings;
  readonly beta: FakePeer;
  readonly dir: string;
  /** Every log line of the node (pino at debug), parsed. */
  readonly logs: LogLine[];
  /** The absolute path of a listed file. */
  file(name: string): string;
  /** The file's entry in node.state(). */
  fileState(name?: string): FileDoc;
  /** Waits until the file's entry in node.state() satisfies `pred`; the error shows the last entry. */
  waitFile(what: string, pred: (f: FileDoc) => boolean, timeoutMs?: number, name?: string): Promise<FileDoc>;
  waitLog(what: string, pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Starts the fake's heartbeats; resolves once the connect exchange is done (no peer status unknown). */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds a node in a temp folder (listed files, a YAML config read by loadSettings, free
 * ports on loopback, a pino logger into an array) with a fake peer bound where the config says
 * beta is, starts it, attaches the fake to its sockets, and stops both after the test `t`.
 */
export async function startNodeWithFakePeer(t: TestContext, opts: InProcessOptions = {}): Promise<InProcess> {
  const files = opts.files ?? { 'app.conf': 'v0\n' };
  const dir = tempDir('entangled-component-');
  mkdirSync(path.join(dir, 'state'));
  for (const [name, content] of Object.entries(files)) if (content !== null) writeFileSync(path.join(dir, name), content);
  const [pub, rep, peerPub, peerRep] = (await freePorts(4)) as [number, number, number, number];
  const configPath = path.join(dir, 'entangled.yaml');
  writeFileSync(
    configPath,
    stringify({
      node: NODE,
      m2m: { pub: `tcp://127.0.0.1:${pub}`, rep: `tcp://127.0.0.1:${rep}` },
      peers: [{ name: PEER, pub: `tcp://127.0.0.1:${peerPub}`, rep: `tcp://127.0.0.1:${peerRep}` }],
      files: Object.keys(files).map((name) => (opts.validate?.[name] ? { path: name, validate: opts.validate[name] } : name)),
      stateDir: 'state',
      reconcile: opts.reconcile ?? 'manual',
      peerTimeoutMs: opts.peerTimeoutMs ?? 1000,
      ...(opts.settleMs === undefined ? {} : { settleMs: opts.settleMs }),
    }),
  );
  const settings = loadSettings(configPath);

  const logs: LogLine[] = [];
  const log = pino({ level: 'debug', base: { node: NODE } }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const beta = new FakePeer(PEER, NODE, opts.peerFiles ?? files);
  await beta.bind(peerPub, peerRep);
  const node = new EntangledNode(settings, log, opts.clock);

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    beta.stopHeartbeats();
    await node.stop();
    await beta.close();
    const keep = process.env.ENTANGLED_TEST_LOGS;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      writeFileSync(path.join(keep, `component-${t.name.replace(/\W+/g, '-').slice(0, 80)}-${Date.now()}.log`), logs.map((l) => JSON.stringify(l)).join('\n'));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(close);
  await node.start();
  await beta.attach(pub, rep);

  const fileState = (name = Object.keys(files)[0]!): FileDoc => {
    const f = node.state().files.find((x) => x.name === name);
    if (!f) throw new Error(`${name} is not listed`);
    return f;
  };
  return {
    node,
    settings,
    beta,
    dir,
    logs,
    file: (name) => path.join(dir, name),
    fileState,
    async waitFile(what, pred, timeoutMs = 3000, name) {
      try {
        return await waitFor(what, () => {
          const f = fileState(name);
          return pred(f) ? f : null;
        }, timeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last state: ${JSON.stringify(fileState(name))}`);
      }
    },
    waitLog: (what, pred, timeoutMs = 3000) => waitFor(`the node logs ${what}`, () => logs.find(pred), timeoutMs),
    async connect() {
      beta.startHeartbeats();
      await waitFor('the connect exchange with beta', () => {
        const s = node.state();
        return s.peers.every((p) => p.connected) && s.files.every((f) => Object.values(f.peers).every((p) => p.status !== 'unknown'));
      }, 3000);
    },
    close,
  };
}
