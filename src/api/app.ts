import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isEntangledError } from '../core/errors.js';
import type { ErrorCode } from '../core/types.js';
import type { NodeView } from '../node/view.js';

const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  CONFIG: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PEER_UNREACHABLE: 503,
  IO: 500,
  INTERNAL: 500,
};

/** The management API over a read-only node view. Every error is the contract's JSON shape. */
export function createApp(view: NodeView): Hono {
  const app = new Hono();

  app.get('/api/1/health', (c) => c.json({ status: 'ok', node: view.state().node }));
  app.get('/api/1/state', (c) => c.json(view.state()));

  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    if (isEntangledError(err)) return c.json({ error: { code: err.code, message: err.message } }, STATUS_OF[err.code]);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json({ error: { code: status === 401 ? 'UNAUTHORIZED' : 'BAD_REQUEST', message: err.message } }, status);
    }
    return c.json({ error: { code: 'INTERNAL', message: 'internal error' } }, 500);
  });
  return app;
}
