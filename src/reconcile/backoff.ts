/**
 * Per-key exponential back-off with jitter, as client-go's ItemExponentialFailureRateLimiter
 * with jitter added: the n-th consecutive failure of a key waits about `baseMs * 2^(n-1)`, capped
 * at `maxMs`. Jitter spreads keys that failed together (one HNS outage fails every key at once)
 * so their retries do not arrive as one burst.
 * @module
 */
import { checkNumberOption } from './errors.js';

export interface BackoffOptions {
  /** Delay after the first failure. @default 200 */
  baseMs: number;
  /** Upper bound of any delay, jitter included. @default 60000 */
  maxMs: number;
  /** Fraction in [0, 1): a delay is drawn from [d * (1 - jitter), d]. @default 0.2 */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 60_000, jitter: 0.2 };

export function checkBackoffOptions(options: BackoffOptions): void {
  checkNumberOption('back-off', 'baseMs', options.baseMs, (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
  checkNumberOption('back-off', 'maxMs', options.maxMs, (v) => v >= options.baseMs && Number.isFinite(v), `a finite number >= baseMs (${options.baseMs})`);
  checkNumberOption('back-off', 'jitter', options.jitter, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
}

/**
 * The delay before retry number `failures` (1 for the first failure). `random` is in [0, 1).
 * Jitter only shortens the delay, so `maxMs` is a hard bound and the ranges of consecutive
 * failures never overlap below the cap (the delay grows strictly until it reaches `maxMs`).
 */
export function backoffDelay(failures: number, options: BackoffOptions, random: number): number {
  // 2^exponent overflows to Infinity long after it passed any sane maxMs; cap the exponent anyway.
  const exponent = Math.min(Math.max(failures, 1) - 1, 52);
  const nominal = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return nominal * (1 - options.jitter * random);
}

/** Counts consecutive failures per key; a success (`forget`) starts the key over. */
export class KeyedBackoff {
  readonly #failures = new Map<string, number>();

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    checkBackoffOptions(options);
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return backoffDelay(failures, this.options, this.random());
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Keys with at least one failure not yet followed by a success. */
  get size(): number {
    return this.#failures.size;
  }
}
