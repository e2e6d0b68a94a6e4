import { z } from 'zod';
import { RECONCILE_MODES, type ReconcileMode } from '../core/types.js';

/** One listed file: its cluster-wide name and its absolute local path. */
export interface FileSpec {
  readonly name: string;
  readonly path: string;
}

export interface PeerSpec {
  readonly name: string;
  readonly pub: string;
  readonly rep: string;
}

/** The normalized, frozen configuration of one node. */
export interface Settings {
  readonly configPath: string;
  readonly node: string;
  readonly api: { readonly host: string; readonly port: number; readonly token: string | null };
  readonly m2m: { readonly pub: string; readonly rep: string };
  readonly peers: readonly PeerSpec[];
  readonly files: readonly FileSpec[];
  readonly stateDir: string;
  readonly reconcile: ReconcileMode;
  readonly peerTimeoutMs: number;
}

export const DEFAULTS = {
  apiHost: '127.0.0.1',
  apiPort: 9876,
  pub: 'tcp://0.0.0.0:9877',
  rep: 'tcp://0.0.0.0:9878',
  stateDir: '/var/lib/entangled',
  reconcile: 'manual',
  peerTimeoutMs: 3000,
} as const;

const TCP_RE = /^tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
const IPC_RE = /^(ipc|inproc):\/\/.+$/;

/** True for a ZeroMQ endpoint this daemon can bind or connect: tcp://host:port, ipc://, inproc://. */
export function isZmqEndpoint(s: string): boolean {
  const m = TCP_RE.exec(s);
  if (m) {
    const port = Number(m[2]);
    return port >= 1 && port <= 65535;
  }
  return IPC_RE.test(s);
}

const endpoint = z.string().refine(isZmqEndpoint, { message: 'is not a ZeroMQ address (tcp://host:port, ipc://path)' });
const nodeName = z.string().min(1).max(256).regex(/^[A-Za-z0-9_.-]+$/, { message: 'must be letters, digits, _ . -' });
const notYet = (issue: string) =>
  z.any().refine(() => false, { message: `is not supported by this version yet (${issue})` });

const fileEntry = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    name: z.string().min(1).max(4096).optional(),
    validate: notYet('hooks and validation').optional(),
    onApply: notYet('hooks and validation').optional(),
  }),
]);

/** The YAML document's schema; unknown keys are rejected everywhere. */
export const configSchema = z.strictObject({
  node: nodeName,
  api: z
    .strictObject({
      host: z.string().min(1).default(DEFAULTS.apiHost),
      port: z.number().int().min(1).max(65535).default(DEFAULTS.apiPort),
      token: z.string().min(1).nullable().default(null),
    })
    .default({ host: DEFAULTS.apiHost, port: DEFAULTS.apiPort, token: null }),
  m2m: z
    .strictObject({ pub: endpoint.default(DEFAULTS.pub), rep: endpoint.default(DEFAULTS.rep) })
    .default({ pub: DEFAULTS.pub, rep: DEFAULTS.rep }),
  peers: z
    .array(
      z.strictObject({
        name: nodeName,
        pub: endpoint,
        rep: endpoint,
        publicKey: notYet('CURVE security').optional(),
      }),
    )
    .min(1, { message: 'needs at least one peer' }),
  files: z.array(fileEntry).min(1, { message: 'needs at least one file' }),
  stateDir: z.string().min(1).default(DEFAULTS.stateDir),
  reconcile: z.enum(RECONCILE_MODES).default(DEFAULTS.reconcile),
  peerTimeoutMs: z.number().int().min(100).max(3_600_000).default(DEFAULTS.peerTimeoutMs),
  security: notYet('CURVE security').optional(),
  backups: notYet('backups').optional(),
  hooks: notYet('hooks').optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
