/**
 * A global rate limit on host writes: a token bucket refilled at `perSecond`, holding at most
 * `burst` tokens. Whatever the per-key back-off says, a storm of failing keys or a flapping
 * lease store cannot drive more than `perSecond` apply calls per second into HNS on average.
 *
 * Reservations may take the bucket into debt (as Go's `rate.Limiter.Reserve`): a caller is told
 * how long to wait, and later callers queue behind it in order, without a waiting list.
 * @module
 */
import type { Clock } from './clock.js';
import { checkNumberOption } from './errors.js';

export interface RateLimitOptions {
  /** Sustained rate in tokens per second. @default 100 */
  perSecond: number;
  /** Tokens available at once after an idle period. @default 200 */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 100, burst: 200 };

export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(
    options: RateLimitOptions,
    private readonly clock: Clock,
  ) {
    checkNumberOption('rate limit', 'perSecond', options.perSecond, (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
    checkNumberOption('rate limit', 'burst', options.burst, (v) => v >= 1 && Number.isFinite(v), 'a finite number >= 1');
    this.#perMs = options.perSecond / 1000;
    this.#burst = options.burst;
    this.#tokens = options.burst;
    this.#at = clock.now();
  }

  /** Tokens available now (negative while reservations are outstanding). */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /**
   * Takes `n` tokens (at most `burst`, so a large request cannot wait for ever) and returns how
   * many milliseconds the caller must wait before using them; 0 when they are there already.
   */
  reserve(n = 1): number {
    this.#refill();
    this.#tokens -= Math.min(n, this.#burst);
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#perMs;
  }

  /**
   * Gives back `n` tokens taken and not used (a batch that turned out to have nothing to write),
   * never beyond `burst`.
   */
  refund(n = 1): void {
    this.#refill();
    this.#tokens = Math.min(this.#burst, this.#tokens + n);
  }

  /**
   * Reserves one token and waits for it on the bucket's clock. Resolves false, without waiting
   * out the delay, when `signal` aborts; the token is then lost, which only errs on the safe side.
   */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    const waitMs = this.reserve(1);
    if (waitMs <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        timer.cancel();
        resolve(false);
      };
      const timer = this.clock.setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, waitMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #refill(): void {
    const now = this.clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
  }
}
