/**
 * One address this node binds: `key` names it as written in the config (`m2m.pub`, `m2m.rep`,
 * `api`), `endpoint` is a ZeroMQ address (the API's as `tcp://host:port`).
 */
export interface BoundEndpoint {
  readonly key: string;
  readonly endpoint: string;
}

/** Two endpoints of this node that cannot both be bound: `later` is the one whose bind fails (EADDRINUSE). */
export interface EndpointClash {
  readonly earlier: BoundEndpoint;
  readonly later: BoundEndpoint;
}

type Parsed = { readonly kind: 'tcp'; readonly host: string; readonly port: string } | { readonly kind: 'other'; readonly address: string };

function parse(endpoint: string): Parsed {
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:]*):(\d+)$/i.exec(endpoint);
  if (!m) return { kind: 'other', address: endpoint };
  return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port: String(Number(m[2])) };
}

const V4_WILDCARDS = new Set(['*', '0.0.0.0']);

/** Whether one TCP host bound on a port keeps the other from binding it too (Linux, no SO_REUSEPORT). */
function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  // `::` binds every address of both families (dual stack, the Linux default).
  if (a === '::' || b === '::') return true;
  // `*` and 0.0.0.0 bind every IPv4 address; an IPv6 literal is another family, a name may be either.
  if (V4_WILDCARDS.has(a)) return !b.includes(':');
  if (V4_WILDCARDS.has(b)) return !a.includes(':');
  return false;
}

/** Whether binding `a` and then `b` fails because they are the same address. */
export function sameAddress(a: string, b: string): boolean {
  const pa = parse(a);
  const pb = parse(b);
  // ipc:// and inproc:// name one socket each; tcp and ipc never meet.
  if (pa.kind === 'other' || pb.kind === 'other') return pa.kind === pb.kind && a === b;
  return pa.port === pb.port && hostsOverlap(pa.host, pb.host);
}

/** The API's host and port as a ZeroMQ-style TCP address, to compare with the m2m endpoints. */
export function apiEndpoint(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}

/** The first two of `bound` (in order) that are the same address, or null when each has its own. */
export function findEndpointClash(bound: readonly BoundEndpoint[]): EndpointClash | null {
  for (let j = 1; j < bound.length; j++) {
    for (let i = 0; i < j; i++) {
      if (sameAddress(bound[i]!.endpoint, bound[j]!.endpoint)) return { earlier: bound[i]!, later: bound[j]! };
    }
  }
  return null;
}
