import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Requires "Authorization: Bearer <token>" on every path not in `open` while `token()` gives one;
 * compares in constant time (both sides hashed to equal length first). 401 with the contract's
 * JSON error otherwise.
 */
export function bearerToken(token: () => string | null, open: (path: string) => boolean): MiddlewareHandler {
  let known: { token: string; digest: Buffer } | null = null;
  return async (c, next) => {
    const current = token();
    // No token (a reload removed it): every route is open again, as without api.token.
    if (current === null || open(c.req.path)) return next();
    if (known?.token !== current) known = { token: current, digest: digest(current) };
    const want = known.digest;
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '');
    if (m?.[1] && timingSafeEqual(digest(m[1].trim()), want)) return next();
    c.header('WWW-Authenticate', 'Bearer realm="entangled"');
    return c.json({ error: { code: 'UNAUTHORIZED', message: m ? 'invalid token' : 'missing "Authorization: Bearer <token>"' } }, 401);
  };
}
