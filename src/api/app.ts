import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EntangledError, isEntangledError } from '../core/errors.js';
import type { ErrorCode } from '../core/types.js';
import type { Logger } from '../log.js';
import type { NodeActions, NodeView } from '../node/view.js';
import { bearerToken } from './auth.js';
import { siteGuard, type SiteOptions } from './guard.js';
import { EventHub, MAX_EVENT_CLIENTS, SETTLE_MS } from './events.js';
import { STATUS_PAGE } from './page.js';
import {
  BackupsQuerySchema,
  BackupsSchema,
  DiffQuerySchema,
  DiffSchema,
  ErrorSchema,
  EventsQuerySchema,
  ForceBodySchema,
  ForceReportSchema,
  HealthSchema,
  RestoreBodySchema,
  RestoreSchema,
  StateSchema,
} from './schemas.js';

const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  CONFIG: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PEER_UNREACHABLE: 503,
  PEER_FAULT: 502,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BUSY: 503,
  IO: 500,
  INTERNAL: 500,
};

/** Paths served without a token: health, the OpenAPI document, Swagger UI and its assets, the page. */
const OPEN = (p: string) =>
  p === '/api/1/health' || p === '/api/1/openapi.json' || p === '/api/1/docs' || p.startsWith('/api/1/docs/') || p === '/';

const errorBody = (code: ErrorCode, message: string) => ({ error: { code, message } });

/** The largest request body the API reads; a larger one is refused with 413 as it streams in. */
export const MAX_BODY_BYTES = 1024 * 1024;
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const errors = {
  400: json(ErrorSchema, 'Malformed request, unknown field or value, file not listed, unknown peer'),
  401: json(ErrorSchema, 'Missing or wrong bearer token (when api.token is set)'),
  502: json(ErrorSchema, 'The peer answered with a malformed reply or refused the request'),
  503: json(ErrorSchema, 'The peer cannot be reached'),
};

/** One line from a zod error: the first issue, with the field it is about. */
function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return `${at}${issue.message}`;
}

const SWAGGER_ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);
const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export interface AppOptions {
  /** The bearer token every non-open route needs; a function is asked on each request (a reload may change it). */
  readonly token?: string | null | (() => string | null);
  /** What the Host check accepts: the bound address (default 127.0.0.1) and api.hosts (default none). */
  readonly site?: SiteOptions;
  /** Where the API logs what it does on its own (an events client dropped). */
  readonly log?: Logger;
}

/**
 * The management API over a node's read-only view and its actions. Every route's schema is both
 * its validation and its OpenAPI entry; every error is `{ error: { code, message } }` JSON.
 */
export function createApp(view: NodeView & NodeActions, opts: AppOptions = {}): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) return c.json(errorBody('BAD_REQUEST', describe(result.error)), 400);
    },
  });
  // Around everything: a request whose body no route read (a 404, a refusal before the body): the rest of it is
  // still on the connection, so the answer closes it and no client reuses it (the node drops
  // such a connection soon after, and a client's next request on it would fail).
  app.use('*', async (c, next) => {
    await next();
    if (c.req.raw.body !== null && !c.req.raw.bodyUsed) c.res.headers.set('Connection', 'close');
  });
  // Then, first of all: a request a web page made (a foreign Host or Origin, a form or text body) is
  // refused before anything reads it, token or not.
  app.use('*', siteGuard(opts.site ?? { bind: '127.0.0.1', hosts: () => [] }));
  const events = new EventHub(view, opts.log);
  const token = opts.token;
  if (typeof token === 'function') app.use('*', bearerToken(token, OPEN));
  else if (token) app.use('*', bearerToken(() => token, OPEN));
  // Counts the bytes as they arrive (a Content-Length over the limit is refused at once, a
  // chunked body once it passes it), so no body over 1 MiB is ever held in full. The rest of
  // the body is never read, so the connection closes after the answer: a client must not reuse it.
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(errorBody('PAYLOAD_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes (1 MiB)`), 413, { Connection: 'close' }),
    }),
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/1/health', tags: ['node'], summary: 'Liveness', responses: { 200: json(HealthSchema, 'The node answers') } }),
    (c) => c.json({ status: 'ok' as const, node: view.state().node }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/1/state',
      tags: ['node'],
      summary: 'This node, its peers and every listed file with its status',
      responses: { 200: json(StateSchema, 'The state'), 401: errors[401] },
    }),
    (c) => c.json(view.state() as z.infer<typeof StateSchema>, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/1/force',
      tags: ['operations'],
      summary: 'Make this node take the peer\'s content (pull), the peer take this node\'s (push), or in each split-brain the side that alone changed win (changed)',
      request: { body: { content: { 'application/json': { schema: ForceBodySchema } }, required: false } },
      responses: { 200: json(ForceReportSchema, 'What happened to each file'), 400: errors[400], 401: errors[401], 502: errors[502], 503: errors[503] },
    }),
    async (c) => {
      const body = await readJsonBody(c, ForceBodySchema, {});
      return c.json((await view.force(body)) as z.infer<typeof ForceReportSchema>, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/1/backups',
      tags: ['operations'],
      summary: 'The versions of a file this node kept before a peer\'s version or a force replaced them',
      request: { query: BackupsQuerySchema },
      responses: { 200: json(BackupsSchema, 'Kept versions, newest first'), 400: errors[400], 401: errors[401] },
    }),
    async (c) => c.json((await view.backups(c.req.valid('query').file)) as z.infer<typeof BackupsSchema>, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/1/restore',
      tags: ['operations'],
      summary: 'Write a kept version back (atomically); it then replicates like any local change',
      request: { body: { content: { 'application/json': { schema: RestoreBodySchema } }, required: true } },
      responses: {
        200: json(RestoreSchema, 'The version now in place'),
        400: errors[400],
        401: errors[401],
        404: json(ErrorSchema, 'No such version is kept'),
        409: json(ErrorSchema, 'The file changed while it was being restored'),
      },
    }),
    async (c) => {
      const body = await readJsonBody(c, RestoreBodySchema, undefined);
      return c.json(await view.restore(body.file, body.md5), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/1/diff',
      tags: ['operations'],
      summary: 'Unified diff between this node\'s copy (---) and the peer\'s (+++)',
      request: { query: DiffQuerySchema },
      responses: { 200: json(DiffSchema, 'Both sides'), 400: errors[400], 401: errors[401], 502: errors[502], 503: errors[503] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json(await view.diff(q.file, q.peer), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/1/events',
      tags: ['node'],
      summary: `Server-sent events: \`state\` on connect, then \`file\` and \`peer\` changes (at most ${MAX_EVENT_CLIENTS} clients at once; one that does not read is dropped)`,
      request: { query: EventsQuerySchema },
      responses: {
        200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'An event stream' },
        400: errors[400],
        401: errors[401],
        503: json(ErrorSchema, `${MAX_EVENT_CLIENTS} clients follow the events already`),
      },
    }),
    (c) => {
      const res = events.open(c.req.valid('query').settle ?? SETTLE_MS);
      if (!res) throw new EntangledError('BUSY', `${MAX_EVENT_CLIENTS} clients follow the events already; try again when one leaves`);
      return res as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['node'],
      summary: 'Prometheus metrics',
      responses: { 200: { content: { 'text/plain': { schema: z.string() } }, description: 'Prometheus text format' }, 401: errors[401] },
    }),
    async (c) => {
      const m = await view.metrics.text();
      return c.body(m.body, 200, { 'Content-Type': m.contentType }) as never;
    },
  );

  app.doc('/api/1/openapi.json', {
    openapi: '3.0.3',
    info: {
      title: 'entangled management API',
      version: '1',
      // Markdown: in backticks, Swagger UI shows `<token>` as written instead of taking it for a tag.
      description:
        'State, force, diff and events of one entangled node. When api.token (or api.tokenFile) is set, every route except /api/1/health, /api/1/openapi.json and /api/1/docs needs `Authorization: Bearer <token>`. A request body over 1 MiB is refused with 413.',
    },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'The node\'s api.token, sent as `Authorization: Bearer <token>`' });

  const docs = swaggerUI({ url: '/api/1/openapi.json', baseUrl: '/api/1/docs/assets', title: 'entangled API' });
  app.get('/api/1/docs', docs);
  app.get('/api/1/docs/', docs);
  app.get('/api/1/docs/assets/swagger-ui-dist/:file', (c) => {
    const file = c.req.param('file');
    if (!SWAGGER_ASSETS.has(file)) throw new EntangledError('NOT_FOUND', `no asset ${file}`);
    const type = file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    return c.body(readFileSync(path.join(swaggerDir, file)), 200, { 'Content-Type': type, 'Cache-Control': 'max-age=3600' });
  });
  app.get('/', (c) => c.html(STATUS_PAGE));

  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (isEntangledError(err)) return c.json(errorBody(err.code, err.message), STATUS_OF[err.code]);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json(errorBody(status === 401 ? 'UNAUTHORIZED' : 'BAD_REQUEST', err.message || 'bad request'), status);
    }
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  });
  return app;
}

/**
 * Reads a JSON body against `schema`. An empty body stands for `empty` (the force body is
 * optional: a bare `curl -X POST` means every file, the only peer, pull); undefined makes it required.
 */
async function readJsonBody<T extends z.ZodType>(c: Context, schema: T, empty: unknown): Promise<z.infer<T>> {
  const text = await c.req.text();
  let raw: unknown = empty;
  if (text.trim() === '') {
    if (empty === undefined) throw new EntangledError('BAD_REQUEST', 'a JSON body is required');
  } else {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new EntangledError('BAD_REQUEST', 'body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new EntangledError('BAD_REQUEST', describe(parsed.error));
  return parsed.data;
}
