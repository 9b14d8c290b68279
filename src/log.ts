import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where the JSON lines go; stderr by default, as flanneld logs to stderr. */
  destination?: DestinationStream;
}

/** One logger per process, created in main and passed down; modules take `log.child({...})`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: false });
  return pino({ level: options.level ?? 'info', base: { app: 'flannel-win' } }, destination);
}

/** A logger that discards everything, for unit tests that do not assert on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
