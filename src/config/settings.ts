import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { DEFAULT_MAX_BYTES, parseFileMode } from '../core/limits.js';
import { RECONCILE_MODES, type ReconcileMode } from '../core/types.js';
import { isCurveKey } from '../net/curve-keys.js';
import { templateProblem } from '../core/validate-template.js';

/** One listed file: its cluster-wide name and its absolute local path. */
export interface FileSpec {
  readonly name: string;
  readonly path: string;
  /** Shell command run on the staged temp file (`{}` is its path) before it replaces the file. */
  readonly validate: string | null;
  /** Shell command run after a peer's version or a force was written. */
  readonly onApply: string | null;
  /** This file's own settleMs (see Settings.settleMs); null: the top-level one applies. */
  readonly settleMs: number | null;
  /** The permission bits the file gets when this node creates it (a peer's version of a missing file); null: 0644. */
  readonly createMode: number | null;
  /** This file's own maxBytes (see Settings.maxBytes); null: the top-level one applies. */
  readonly maxBytes: number | null;
}

export interface PeerSpec {
  readonly name: string;
  readonly pub: string;
  readonly rep: string;
  /**
   * The peer's CURVE public keys (Z85), one or more when security.curve is set (more during a key
   * rotation: each is admitted as this peer), none otherwise.
   */
  readonly publicKeys: readonly string[];
}

/** This node's CURVE key pair (Z85 text), the secret read from its file at load time. */
export interface CurveKeys {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** Cluster-level alert commands. */
export interface Hooks {
  readonly onPeerDown: string | null;
  readonly onPeerUp: string | null;
  readonly onSplitBrain: string | null;
  /** How long any hook (these and the files' validate/onApply) may run before it is killed. */
  readonly timeoutMs: number;
}

/** The normalized, frozen configuration of one node. */
export interface Settings {
  readonly configPath: string;
  readonly node: string;
  /**
   * `token`: from api.token, or read from `tokenFile` (its absolute path) when that is set.
   * `hosts`: names besides its own address and localhost that the API answers (lowercase, IPv6 without brackets).
   */
  readonly api: { readonly host: string; readonly port: number; readonly token: string | null; readonly tokenFile: string | null; readonly hosts: readonly string[] };
  readonly m2m: { readonly pub: string; readonly rep: string };
  readonly peers: readonly PeerSpec[];
  readonly files: readonly FileSpec[];
  readonly stateDir: string;
  readonly reconcile: ReconcileMode;
  readonly peerTimeoutMs: number;
  /** A local change is sent only once the file has been quiet this long (ms; 0: at once). A file's own settleMs overrides it. */
  readonly settleMs: number;
  /** CURVE on every ZeroMQ link, or null for unauthenticated links. */
  readonly security: { readonly curve: CurveKeys } | null;
  /** Previous versions kept per file in stateDir (0: none). */
  readonly backups: number;
  /** The largest file (bytes) this node sends or takes; a file's own maxBytes overrides it. */
  readonly maxBytes: number;
  readonly hooks: Hooks;
}

export const DEFAULTS = {
  apiHost: '127.0.0.1',
  apiPort: 9876,
  pub: 'tcp://0.0.0.0:9877',
  rep: 'tcp://0.0.0.0:9878',
  stateDir: '/var/lib/entangled',
  reconcile: 'manual',
  peerTimeoutMs: 3000,
  settleMs: 0,
  backups: 5,
  maxBytes: DEFAULT_MAX_BYTES,
  hookTimeoutMs: 30_000,
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
/** A CURVE key in Z85 text: 40 characters that decode to 32 bytes. */
const curveKey = z.string().refine(isCurveKey, { message: 'must be a 40-character Z85 key (see `entangled keygen`)' });
const command = z.string().trim().min(1, { message: 'must be a shell command' });
/** How long a file must be quiet before a change of it is sent (ms): a minute at most, since work on the file waits for it. */
const settleMs = z.number({ message: 'must be a number of milliseconds' }).int({ message: 'must be a whole number of milliseconds' }).min(0, { message: 'must be 0 or more (milliseconds)' }).max(60_000, { message: 'must be at most 60000 (milliseconds)' });

/** A file's size cap in bytes (at most what a frame may announce, 1 TiB). */
const maxBytes = z.number({ message: 'must be a number of bytes' }).int({ message: 'must be a whole number of bytes' }).min(1, { message: 'must be a positive number of bytes' }).max(2 ** 40, { message: 'must be at most 1099511627776 (1 TiB)' });
/** A created file's mode: a quoted string of octal digits; an unquoted 0600 is the YAML number 600, not a mode. */
const createMode = z
  .string({ message: 'must be a quoted string of octal digits, such as "0600" (unquoted, YAML reads 0600 as the number 600)' })
  .refine((s) => parseFileMode(s) !== null, { message: 'must be three or four octal digits of permission bits, such as "0600" (no set-id or sticky bits)' });

const fileEntry = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    name: z.string().min(1).max(4096).optional(),
    validate: command
      .superRefine((t, ctx) => {
        const problem = templateProblem(t);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    onApply: command.optional(),
    settleMs: settleMs.optional(),
    createMode: createMode.optional(),
    maxBytes: maxBytes.optional(),
  }),
]);

const curveSchema = z
  .strictObject({
    publicKey: curveKey,
    secretKey: curveKey.optional(),
    secretKeyFile: z.string().min(1).optional(),
  })
  .refine((c) => (c.secretKey === undefined) !== (c.secretKeyFile === undefined), {
    message: 'needs exactly one of secretKey and secretKeyFile',
  });

/** A name in api.hosts: a host name or an IP address as a Host header names it, with no port or scheme. */
const apiHostName = z
  .string()
  .refine((h) => /^[A-Za-z0-9_.-]+$/.test(h) || isIPv6(h.replace(/^\[(.*)\]$/, '$1')), {
    message: 'must be a host name or an address, without a scheme or port (e.g. entangled.example.org)',
  })
  .transform((h) => h.replace(/^\[(.*)\]$/, '$1').toLowerCase());

/** The YAML document's schema; unknown keys are rejected everywhere. */
export const configSchema = z.strictObject({
  node: nodeName,
  api: z
    .strictObject({
      host: z.string().min(1).default(DEFAULTS.apiHost),
      port: z.number().int().min(1).max(65535).default(DEFAULTS.apiPort),
      token: z.string().min(1).nullable().default(null),
      tokenFile: z.string().min(1).nullable().default(null),
      hosts: z.array(apiHostName).default([]),
    })
    .default({ host: DEFAULTS.apiHost, port: DEFAULTS.apiPort, token: null, tokenFile: null, hosts: [] }),
  m2m: z
    .strictObject({ pub: endpoint.default(DEFAULTS.pub), rep: endpoint.default(DEFAULTS.rep) })
    .default({ pub: DEFAULTS.pub, rep: DEFAULTS.rep }),
  peers: z
    .array(
      z.strictObject({
        name: nodeName,
        pub: endpoint,
        rep: endpoint,
        // One key, or a list of them during a key rotation.
        publicKey: z.union([curveKey, z.array(curveKey).min(1, { message: 'needs at least one key' })]).optional(),
      }),
    )
    .min(1, { message: 'needs at least one peer' }),
  files: z.array(fileEntry).min(1, { message: 'needs at least one file' }),
  stateDir: z.string().min(1).default(DEFAULTS.stateDir),
  reconcile: z.enum(RECONCILE_MODES).default(DEFAULTS.reconcile),
  peerTimeoutMs: z.number().int().min(100).max(3_600_000).default(DEFAULTS.peerTimeoutMs),
  settleMs: settleMs.default(DEFAULTS.settleMs),
  security: z.strictObject({ curve: curveSchema }).optional(),
  backups: z.number().int().min(0).max(1000).default(DEFAULTS.backups),
  maxBytes: maxBytes.default(DEFAULTS.maxBytes),
  hooks: z
    .strictObject({
      onPeerDown: command.optional(),
      onPeerUp: command.optional(),
      onSplitBrain: command.optional(),
      timeoutMs: z.number().int().min(100).max(3_600_000).default(DEFAULTS.hookTimeoutMs),
    })
    .default({ timeoutMs: DEFAULTS.hookTimeoutMs }),
});

export type RawConfig = z.infer<typeof configSchema>;
