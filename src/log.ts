import { pino, stdTimeFunctions, type Logger, type DestinationStream } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/** `json`: one JSON object per line (level names, ISO times); `text`: a readable line per event. */
export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  /** Where the lines go; stderr by default, as flanneld logs to stderr. */
  destination?: DestinationStream;
}

/**
 * One logger per process, created in main and passed down; modules take `log.child({...})`.
 * JSON lines carry the level as its name ("warn") and the time as ISO 8601 UTC, so they read
 * without a lookup table; `text` goes through pino-pretty (no colours: logs usually end in files).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const base = { app: 'flannel-win' };
  if (options.format === 'text') {
    const destination = options.destination ?? pino.destination({ fd: 2, sync: false });
    return pino({ level, base }, PinoPretty({ destination, colorize: false, singleLine: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o', ignore: 'pid,hostname,app' }));
  }
  const destination = options.destination ?? pino.destination({ fd: 2, sync: false });
  return pino({ level, base, timestamp: stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, destination);
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
