/**
 * The API's rules against being driven from a web page (CONTRACT.md, after the error format):
 * the `Host` header must name this API (defeats DNS rebinding), an `Origin` must be the API's
 * own (defeats cross-site requests), and a POST body must be labelled JSON (a form or text/plain
 * body is what a page may send without asking the browser's leave first).
 */

/** Why a request is refused: `host` and `origin` are 403s, `type` a 415. */
export type Refusal = { readonly kind: 'host' | 'origin' | 'type'; readonly message: string };

/**
 * The name a `Host` header names, lowercased, without its port and an IPv6 address without its
 * brackets; null when the header is not a host name or address with an optional port.
 */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
  if (v6) return v6[1]!;
  const named = /^([a-z0-9_.-]+)(?::\d{1,5})?$/.exec(h);
  return named ? named[1]! : null;
}

/**
 * Judges a request's `Host` and `Origin` headers. `accepts` says whether a host name (as
 * `hostName` gives it) is one this API answers to: its address, `localhost`, or one of
 * api.hosts. An Origin passes only when it is `http(s)://` plus exactly the host and port the
 * Host header names; no Origin at all (curl, the CLI, a same-origin GET) passes.
 */
export function judgeSite(host: string | undefined, origin: string | undefined, accepts: (name: string) => boolean): Refusal | null {
  // Known: nothing yet; HTTP/1.1 requires a Host header, and without one no name can be checked.
  if (host === undefined || host.trim() === '') return { kind: 'host', message: 'the request has no Host header' };
  const name = hostName(host);
  // Known: a Host header; it must name this API, or a rebinding page could read it under its own name.
  if (name === null || !accepts(name)) {
    return { kind: 'host', message: `Host "${host.slice(0, 100)}" is not this API's address, localhost, or a name in api.hosts` };
  }
  // Known: the Host is ours. Without an Origin the request does not come from another page's script.
  if (origin === undefined) return null;
  const foreign: Refusal = { kind: 'origin', message: `Origin "${origin.slice(0, 100)}" is not this API's own (http://${host.slice(0, 100)})` };
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    // "null" (a sandboxed frame, a file:// page) and anything else that is no origin.
    return foreign;
  }
  if ((o.protocol !== 'http:' && o.protocol !== 'https:') || o.origin !== origin.toLowerCase()) return foreign;
  let self: URL;
  try {
    self = new URL(`${o.protocol}//${host.trim()}`);
  } catch {
    return foreign;
  }
  // Known: a well-formed origin; it is ours only with the very host and port the Host header names.
  return o.host === self.host ? null : foreign;
}

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Judges a request's body label: a POST whose Content-Type is anything but JSON is refused, and
 * so is a POST with a body and no Content-Type. A POST with neither (`curl -X POST`) passes.
 */
export function judgeBodyType(method: string, contentType: string | undefined, hasBody: boolean): Refusal | null {
  // Known: only a POST carries a body this API reads.
  if (method !== 'POST') return null;
  if (contentType === undefined || contentType.trim() === '') {
    return hasBody ? { kind: 'type', message: 'a request body needs "Content-Type: application/json"' } : null;
  }
  // Known: a label; a form or text/plain is what a page may post anywhere, so only JSON is read.
  return JSON_TYPE.test(contentType.trim())
    ? null
    : { kind: 'type', message: `Content-Type "${contentType.slice(0, 100)}" is not accepted: send the body as JSON with "Content-Type: application/json"` };
}
