import pino, { type Logger } from 'pino';

export type { Logger };

/** The root logger: pino JSON lines on stdout. Children carry `path` or `peer`. */
export function createLogger(level: string, node: string): Logger {
  return pino({ level, base: { node }, timestamp: pino.stdTimeFunctions.isoTime });
}
