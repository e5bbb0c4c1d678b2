/**
 * Structured logs: one JSON object per line on stderr, so a cluster's log pipeline can index them,
 * written by pino behind the small Logger interface the rest of the controller uses. Lines carry
 * `level` as a name (`"info"`), `time` as ISO 8601 and `msg`, as they did before pino.
 * Callers pass fields, never pre-formatted strings, and never secrets.
 */
import { pino, type Logger as Pino } from 'pino';
import { DEFAULT_LOG_LEVEL, type LogLevel } from './defaults.js';

export type { LogLevel };
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line, e.g. the Image's namespace/name. */
  with(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lowest level written. @default 'info' */
  level?: LogLevel;
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void;
  /** Time source, injectable for tests. @default () => new Date() */
  now?: () => Date;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const now = options.now ?? (() => new Date());
  const destination = options.write ? { write: options.write } : pino.destination({ dest: 2, sync: true });
  return wrap(
    pino(
      {
        level: options.level ?? DEFAULT_LOG_LEVEL,
        base: undefined,
        timestamp: () => `,"time":"${now().toISOString()}"`,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    ),
  );
}

function wrap(logger: Pino): Logger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    with: (fields) => wrap(logger.child(fields)),
  };
}
