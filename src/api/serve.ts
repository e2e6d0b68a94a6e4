import { serve, type ServerType } from '@hono/node-server';

import { EntangledError } from '../core/errors.js';

/** A running HTTP server for the API. */
export interface ApiServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Binds the app on host:port; rejects with an IO error (e.g. the port is taken). */
export function serveApi(app: { fetch: (req: Request) => Response | Promise<Response> }, host: string, port: number): Promise<ApiServer> {
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new EntangledError('IO', `cannot listen on api ${host}:${port}: ${err.code ?? err.message}`));
    server = serve({ fetch: (req) => app.fetch(req), hostname: host, port }, () => {
      server.off('error', onError);
      const close = () =>
        new Promise<void>((res) => {
          server.close(() => res());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      resolve({ url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close });
    });
    server.once('error', onError);
    // An idle keep-alive connection is closed by the client first (undici, the CLI's fetch, drops
    // one after 4 s): a server that closed it at Node's default 5 s could do so just as a client
    // whose event loop lagged a second reused it, and that request failed with "other side closed".
    const http = server as unknown as { keepAliveTimeout: number; headersTimeout: number };
    http.keepAliveTimeout = 65_000;
    http.headersTimeout = 66_000;
  });
}
