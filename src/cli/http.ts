import { EntangledError } from '../core/errors.js';

export interface ApiTarget {
  readonly url: string;
  readonly token: string | undefined;
}

/** What a 401 adds to the API's message: where the CLI takes the token from. */
export const TOKEN_HINT = "give the node's api.token with --token T or in $ENTANGLED_TOKEN";

/** Thrown when the API answered with an error; `status` is the HTTP status. A 401's message says how to give the token. */
export class ApiError extends EntangledError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    const code = status === 400 ? 'BAD_REQUEST' : status === 401 ? 'UNAUTHORIZED' : status === 404 ? 'NOT_FOUND' : status === 503 ? 'PEER_UNREACHABLE' : status === 502 ? 'PEER_FAULT' : 'INTERNAL';
    super(code, status === 401 ? `${message} (${TOKEN_HINT})` : message);
  }
}

/**
 * Calls the management API and returns its JSON. Throws ApiError for an error answer, or an
 * EntangledError with a one-line message when the API cannot be reached in `timeoutMs`.
 */
export async function callApi<T>(target: ApiTarget, path: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (target.token) headers.Authorization = `Bearer ${target.token}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const url = `${target.url.replace(/\/$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.cause?.message ?? e.name ?? 'error');
    throw new EntangledError('IO', `cannot reach the API at ${target.url} (${why})`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new EntangledError('IO', `the API at ${target.url} answered HTTP ${res.status} without JSON`);
  }
  if (!res.ok) {
    const message = (body as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, message);
  }
  return body as T;
}
