import { z } from '@hono/zod-openapi';
import { FILE_STATUSES, PEER_STATUSES, RECONCILE_MODES } from '../core/types.js';

const FORCE_DIRECTIONS = ['pull', 'push', 'changed'] as const;

const md5 = z.string().regex(/^[0-9a-f]{32}$/).openapi({ example: 'd41d8cd98f00b204e9800998ecf8427e' });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'BAD_REQUEST' }),
      message: z.string().openapi({ example: '"/etc/x.conf" is not a listed file' }),
    }),
  })
  .openapi('Error');

export const HealthSchema = z.object({ status: z.literal('ok'), node: z.string() }).openapi('Health');

export const PeerSchema = z
  .object({ name: z.string(), connected: z.boolean(), lastSeen: z.string().datetime().nullable() })
  .openapi('Peer');

export const TransferSchema = z
  .object({
    direction: z.enum(['in', 'out']).openapi({ description: 'in: this node pulls the peer\'s version; out: the peer pulls this node\'s' }),
    bytes: z.number().int().openapi({ description: 'Bytes moved so far', example: 123 }),
    total: z.number().int().openapi({ description: 'The version\'s size', example: 456 }),
  })
  .openapi('Transfer', { description: 'A large file moving in chunks; present only while it runs' });

export const FileSchema = z
  .object({
    name: z.string().openapi({ description: 'The cluster-wide name', example: '/etc/app/app.conf' }),
    path: z.string().openapi({ description: 'The absolute local path', example: '/etc/app/app.conf' }),
    target: z
      .string()
      .optional()
      .openapi({ description: 'When path is a symbolic link: the absolute path it resolves to (absent otherwise)', example: '/srv/app/conf/app.conf' }),
    status: z.enum(FILE_STATUSES),
    md5: md5.nullable(),
    size: z.number().int().nullable(),
    mtime: z.string().datetime().nullable(),
    error: z.string().nullable(),
    peers: z
      .record(
        z.string(),
        z.object({
          md5: md5.nullable(),
          status: z.enum(PEER_STATUSES),
          changed: z
            .array(z.string())
            .nullable()
            .optional()
            .openapi({
              description: 'Only on a split-brain: the nodes whose copy changed since the last agreement this node has on record with that peer; null when there is none (the copies differed from the start)',
              example: ['beta'],
            }),
          transfer: TransferSchema.optional(),
          error: z
            .string()
            .optional()
            .openapi({
              description: 'What that peer reported when it could not write or take the version this node holds (absent otherwise); kept until it holds it',
              example: 'validate refused version d41d8cd98f00b204e9800998ecf8427e from alpha: exit 1',
            }),
        }),
      )
      .openapi({ description: 'Every configured peer by name (no limit: a full mesh of 10 nodes lists 9)' }),
  })
  .openapi('File');

export const StateSchema = z
  .object({
    node: z.string(),
    reconcile: z.enum(RECONCILE_MODES),
    peers: z.array(PeerSchema).openapi({ description: 'Every configured peer, in config order (no limit: a full mesh of 10 nodes lists 9)' }),
    files: z.array(FileSchema),
  })
  .openapi('State');

export const ForceBodySchema = z
  .strictObject({
    files: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .openapi({ description: 'Names or absolute local paths; default: every listed file' }),
    peer: z.string().min(1).optional().openapi({ description: 'Default: the only peer (required when there are several)' }),
    direction: z
      .enum(FORCE_DIRECTIONS)
      .default('pull')
      .openapi({
        description:
          'pull: this node takes the peer\'s content; push: the peer takes this node\'s; changed: for each file in split-brain with the peer, the side that alone changed since the last agreement wins (a pull or a push), and a file where both or neither changed is left alone (skipped, with the reason)',
      }),
  })
  .openapi('ForceRequest');

export const ForceReportSchema = z
  .object({
    peer: z.string(),
    direction: z.enum(FORCE_DIRECTIONS),
    results: z.array(
      z.object({
        name: z.string(),
        path: z.string(),
        result: z.enum(['updated', 'unchanged', 'skipped', 'failed']),
        md5: md5.nullable(),
        error: z.string().optional().openapi({ description: 'Why it failed' }),
        reason: z.string().optional().openapi({ description: 'Why it was skipped (left alone)', example: 'both alpha and beta changed since the last agreement' }),
        direction: z.enum(['pull', 'push']).optional().openapi({ description: 'With direction changed: the way the file was settled' }),
      }),
    ),
  })
  .openapi('ForceReport');

export const DiffQuerySchema = z.strictObject({
  file: z.string().min(1).openapi({ description: 'A listed file: name or absolute local path', example: 'app.conf' }),
  peer: z.string().min(1).optional(),
});

export const DiffSchema = z
  .object({
    name: z.string(),
    peer: z.string(),
    local: md5.nullable(),
    remote: md5.nullable(),
    binary: z.boolean(),
    diff: z.string().nullable().openapi({ description: 'Unified diff: local as ---, the peer as +++' }),
    tooLarge: z.boolean().optional().openapi({ description: 'Present (true) when the copies are too large (over 1 MiB) or the diff too slow to compute within the answer\'s 2 s; `diff` is then null' }),
  })
  .openapi('Diff');

export const EventsQuerySchema = z.strictObject({
  settle: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .optional()
    .openapi({ description: 'Milliseconds a change waits for others to go out with it (default 20; 0: at once, on the next turn of the event loop)', example: 0 }),
});

export const BackupsQuerySchema = z.strictObject({
  file: z.string().min(1).openapi({ description: 'A listed file: name or absolute local path', example: 'app.conf' }),
});

export const BackupsSchema = z
  .object({
    name: z.string(),
    versions: z.array(
      z.object({
        md5,
        size: z.number().int(),
        savedAt: z.string().datetime().openapi({ description: 'When a newer version replaced it' }),
      }),
    ),
  })
  .openapi('Backups', { description: 'Kept versions, newest first' });

export const RestoreBodySchema = z
  .strictObject({
    file: z.string().min(1).openapi({ description: 'A listed file: name or absolute local path' }),
    md5: z
      .string()
      .regex(/^[0-9a-fA-F]{1,32}$/, { message: 'must be an md5 or a prefix of one (hex digits)' })
      .optional()
      .openapi({ description: 'The kept version to put back: its md5 or any prefix of it that no other kept version has (400 when several do); default: the newest', example: 'd41d8cd98f' }),
  })
  .openapi('RestoreRequest');

export const RestoreSchema = z.object({ name: z.string(), md5: md5.openapi({ description: 'The whole md5 of the version now in place' }) }).openapi('Restore');
