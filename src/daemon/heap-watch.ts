/**
 * Tells the operator how much heap V8 may use and warns before the watched state outgrows it.
 * The DaemonSet caps the heap (`--max-old-space-size`) to keep the node's memory small; a
 * cluster that grows past what the cap was sized for would otherwise only show up as a crash
 * ("heap out of memory") at the next relist.
 * @module
 */
import { getHeapStatistics } from 'node:v8';
import type { Logger } from '../log.js';

/** The figures read from V8 (v8.getHeapStatistics, in bytes). */
export interface HeapFigures {
  readonly usedBytes: number;
  readonly limitBytes: number;
}

export interface HeapWatchOptions {
  log: Logger;
  signal: AbortSignal;
  /** How many peers the daemon holds, for the warning (asked only when a line is logged). */
  peers?: () => number;
  /** Warn above this share of the limit. @default 0.8 */
  warnShare?: number;
  /** @default 15 s: one call to getHeapStatistics, negligible. */
  intervalMs?: number;
  /** @default V8's own figures */
  read?: () => HeapFigures;
  /** The options node was started with (the DaemonSet's V8 sizing), logged with the limit. @default process.execArgv */
  nodeFlags?: readonly string[];
}

function readV8(): HeapFigures {
  const stats = getHeapStatistics();
  return { usedBytes: stats.used_heap_size, limitBytes: stats.heap_size_limit };
}

const MiB = 1024 * 1024;
const mib = (bytes: number): number => Math.round(bytes / MiB);

/**
 * Logs the heap limit now, then checks heap use every `intervalMs` until `signal` aborts: one
 * warning when it rises above `warnShare` of the limit, one info line when it is back below
 * (three quarters of the threshold, so a value hovering at the threshold does not flood the log).
 */
export function watchHeap(options: HeapWatchOptions): void {
  const read = options.read ?? readV8;
  const warnShare = options.warnShare ?? 0.8;
  const { log, signal } = options;
  const start = read();
  const nodeFlags = options.nodeFlags ?? process.execArgv;
  log.info({ heapLimitMiB: mib(start.limitBytes), heapUsedMiB: mib(start.usedBytes), nodeFlags }, 'V8 heap limit');
  let warned = false;
  const check = (): void => {
    const { usedBytes, limitBytes } = read();
    const share = usedBytes / limitBytes;
    // Built only when a line is logged.
    const context = () => ({ heapUsedMiB: mib(usedBytes), heapLimitMiB: mib(limitBytes), peers: options.peers?.() });
    if (!warned && share > warnShare) {
      warned = true;
      log.warn(context(), `V8 heap above ${Math.round(warnShare * 100)} % of its limit: raise --max-old-space-size in the DaemonSet before a relist runs out of memory`);
    } else if (warned && share < warnShare * 0.75) {
      warned = false;
      log.info(context(), 'V8 heap use back well below its limit');
    }
  };
  const timer = setInterval(check, options.intervalMs ?? 15_000);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
