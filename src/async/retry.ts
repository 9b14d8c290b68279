import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from './abortable-sleep.js';

export interface RetryOptions {
  signal: AbortSignal;
  log: Logger;
  /** What is being attempted, for the log line: "acquire lease", "create HNS network". */
  what: string;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many attempts (default: never, until the signal aborts). */
  maxAttempts?: number;
  /** Errors for which retrying is pointless (bad config): rethrown at once. */
  isPermanent?: (err: unknown) => boolean;
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, backing off exponentially with jitter. Used across the planned
 * outage when HNS creates the vSwitch and the host loses its network for seconds: store calls
 * in that window fail and must be retried, never turned into an exit.
 */
export async function retryWithBackoff<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    options.signal.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (options.signal.aborted) throw err;
      if (options.isPermanent?.(err)) throw err;
      if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) throw err;
      const base = Math.min(max, initial * 2 ** (attempt - 1));
      const wait = Math.round(base / 2 + (random() * base) / 2);
      options.log.warn({ attempt, retryInMs: wait, err: describeError(err) }, `${options.what} failed; retrying`);
      await sleep(wait, options.signal);
    }
  }
}
