import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { MiddlewareHandler } from 'hono';
import { judgeBodyType, judgeSite, type Refusal } from '../core/request-guard.js';

export interface SiteOptions {
  /** The address the API is bound to (api.host); 0.0.0.0 or :: stand for every address of the host. */
  readonly bind: string;
  /** Names besides its address and localhost that it answers (api.hosts); asked on each request, as a reload may change them. */
  readonly hosts: () => readonly string[];
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]', '']);

/** Every address of this host's interfaces, lowercased (IPv6 without a zone). */
function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address.toLowerCase().replace(/%.*$/, ''));
  return out;
}

/**
 * Whether a Host name is one this API answers: localhost, its bound address (any of the host's
 * addresses when it binds every address; they are read again when a name is not among them, so
 * an address gained since is found), or a name in api.hosts. An api.host given as a name (such
 * as localhost) also answers to the addresses that name resolved to when the API started.
 */
export function siteNames(opts: SiteOptions): (name: string) => boolean {
  const bind = opts.bind.replace(/^\[|\]$/g, '').toLowerCase();
  const wildcard = WILDCARD.has(bind);
  let addresses = wildcard ? hostAddresses() : new Set([bind]);
  if (!wildcard && isIP(bind) === 0) {
    lookup(bind, { all: true }, (err, found) => {
      if (!err) for (const a of found) addresses.add(a.address.toLowerCase());
    });
  }
  return (name) => {
    if (name === 'localhost' || addresses.has(name)) return true;
    if (opts.hosts().some((h) => h.toLowerCase() === name)) return true;
    if (!wildcard) return false;
    addresses = hostAddresses();
    return addresses.has(name);
  };
}

const STATUS = { host: 403, origin: 403, type: 415 } as const;
const CODE = { host: 'FORBIDDEN', origin: 'FORBIDDEN', type: 'UNSUPPORTED_MEDIA_TYPE' } as const;

/**
 * Refuses what a web page could send: a Host that is not this API's (403, DNS rebinding), an
 * Origin other than its own (403, cross-site requests) and a POST body not labelled JSON (415).
 * Every route, the open ones too: a load balancer's probe names the address it connects to.
 */
export function siteGuard(opts: SiteOptions): MiddlewareHandler {
  const accepts = siteNames(opts);
  return async (c, next) => {
    const req = c.req;
    const length = req.header('content-length');
    const hasBody = (length !== undefined && length.trim() !== '0') || req.header('transfer-encoding') !== undefined;
    // Without a Host header the server takes the URL's host from the request line (an app.request() test has only that).
    const host = req.header('host') ?? new URL(req.url).host;
    const refusal: Refusal | null = judgeSite(host, req.header('origin'), accepts) ?? judgeBodyType(req.method, req.header('content-type'), hasBody);
    if (refusal === null) return next();
    // The rest of a refused body is never read: the connection must not be reused.
    const close = hasBody ? { Connection: 'close' } : undefined;
    return c.json({ error: { code: CODE[refusal.kind], message: refusal.message } }, STATUS[refusal.kind], close);
  };
}
