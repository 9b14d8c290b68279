import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { sleep } from './abortable-sleep.js';
import { Backoff, type BackoffPolicy } from './backoff.js';

/** The retry helper's back-off unless told otherwise: 0.5 s doubling to 10 s, up to half off. */
export const DEFAULT_RETRY_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 10_000, jitter: 0.5 };

export interface RetryOptions {
  signal: AbortSignal;
  log: Logger;
  /** What is being attempted, for the log line: "acquire lease", "create HNS network". */
  what: string;
  /** Overrides of DEFAULT_RETRY_BACKOFF. */
  backoff?: Partial<BackoffPolicy>;
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
  const backoff = new Backoff({ ...DEFAULT_RETRY_BACKOFF, ...options.backoff }, options.random);
  for (let attempt = 1; ; attempt++) {
    options.signal.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (options.signal.aborted) throw err;
      if (options.isPermanent?.(err)) throw err;
      if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) throw err;
      const wait = backoff.next();
      options.log.warn({ attempt, retryInMs: wait, err: describeError(err) }, `${options.what} failed; retrying`);
      await sleep(wait, options.signal);
    }
  }
}
