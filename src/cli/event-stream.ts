import { EntangledError } from '../core/errors.js';
import { ApiError, type ApiTarget } from './http.js';

/** One server-sent event; `at` is performance.now() when the bytes that completed it were read. */
export interface ServerEvent {
  readonly event: string;
  readonly data: string;
  readonly at: number;
}

const CONNECT_MS = 10_000;

/**
 * A node's `GET /api/1/events` followed as it arrives (no polling). `open` resolves once the
 * stream answered; it throws ApiError for an error answer and an EntangledError ('IO') when
 * the API cannot be reached. `ended` resolves with a one-line reason when the stream ends, or
 * with null when close() ended it.
 */
export class EventStream {
  readonly ended: Promise<string | null>;
  readonly #ctl: AbortController;
  #closed = false;

  private constructor(ctl: AbortController, body: ReadableStream<Uint8Array>, target: ApiTarget, onEvent: (e: ServerEvent) => void) {
    this.#ctl = ctl;
    this.ended = this.#read(body, target, onEvent);
  }

  static async open(target: ApiTarget, path: string, onEvent: (e: ServerEvent) => void): Promise<EventStream> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (target.token) headers.Authorization = `Bearer ${target.token}`;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error('no answer in time')), CONNECT_MS);
    let res: Response;
    try {
      res = await fetch(`${target.url.replace(/\/$/, '')}${path}`, { headers, signal: ctl.signal });
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string; message?: string } };
      const why = ctl.signal.aborted ? 'no answer in time' : (e.cause?.code ?? e.cause?.message ?? e.name ?? 'error');
      throw new EntangledError('IO', `cannot reach the API at ${target.url} (${why})`);
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new ApiError(res.status, `the API at ${target.url}: ${body?.error?.message ?? `HTTP ${res.status}`}`);
    }
    return new EventStream(ctl, res.body, target, onEvent);
  }

  close(): void {
    this.#closed = true;
    this.#ctl.abort();
  }

  async #read(body: ReadableStream<Uint8Array>, target: ApiTarget, onEvent: (e: ServerEvent) => void): Promise<string | null> {
    const decoder = new TextDecoder();
    const reader = body.getReader();
    let buf = '';
    let event = '';
    let data: string[] = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        const at = performance.now();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line === '') {
            // A blank line ends an event (a comment-only block, such as a ping, has no data).
            if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n'), at });
            event = '';
            data = [];
          } else if (line.startsWith('event:')) {
            event = line.slice(6).trim();
          } else if (line.startsWith('data:')) {
            data.push(line.slice(line[5] === ' ' ? 6 : 5));
          }
        }
      }
    } catch (err) {
      if (this.#closed) return null;
      return `the event stream of ${target.url} failed (${(err as Error).message})`;
    }
    return this.#closed ? null : `the API at ${target.url} closed its event stream`;
  }
}
