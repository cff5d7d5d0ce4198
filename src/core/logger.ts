import { pino } from 'pino';

/** The slice of pino's logger Offload uses; any pino logger fits. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's: whether a line at this level would be written (lets a line per job cost nothing when it would not). */
  isLevelEnabled?(level: string): boolean;
}

/** Offload's default logger: JSON lines on stderr, level from OFFLOAD_LOG_LEVEL (default warn). */
export function defaultLogger(level = process.env.OFFLOAD_LOG_LEVEL ?? 'warn'): Logger {
  return pino({ name: 'offload', level }, pino.destination({ fd: 2, sync: false }));
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
