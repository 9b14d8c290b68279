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

/** The part of `process` that emits Node's warnings. */
export interface WarningSource {
  on(event: 'warning', listener: (warning: Error) => void): unknown;
  removeAllListeners(event: 'warning'): unknown;
}

/**
 * Sends Node's process warnings (deprecations, NODE_TLS_REJECT_UNAUTHORIZED=0, experimental
 * features) through `log` as JSON warn lines, and removes Node's default printer, which would
 * write plain text into the JSON log on stderr. Values are cut to a sane length.
 */
export function routeProcessWarnings(log: Logger, source: WarningSource = process): void {
  source.removeAllListeners('warning');
  source.on('warning', (warning) => {
    const code = (warning as Error & { code?: unknown }).code;
    log.warn({ warning: warning.name, ...(typeof code === 'string' ? { code } : {}) }, `node: ${warning.message.slice(0, 500)}`);
  });
}
