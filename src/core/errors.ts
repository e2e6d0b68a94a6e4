import type { ErrorCode } from './types.js';

/** An error that carries one of the shared codes; its message is one line, fit for a user. */
export class EntangledError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EntangledError';
    this.code = code;
  }
}

/** A configuration problem: one line naming the key or path; the CLI exits 2. */
export class ConfigError extends EntangledError {
  constructor(message: string) {
    super('CONFIG', message);
    this.name = 'ConfigError';
  }
}

export function isEntangledError(x: unknown): x is EntangledError {
  return x instanceof EntangledError;
}

/** One line describing any thrown value, with its errno code when it has one. */
export function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const message = String(e?.message ?? err);
  return typeof e?.code === 'string' && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}
