/**
 * The one back-off policy of the daemon: exponential, capped, with jitter. The n-th consecutive
 * failure waits about `baseMs * 2^(n-1)`, never more than `maxMs`; jitter shortens each delay by
 * a random share of up to `jitter`, so that work that failed together (an HNS outage fails every
 * key at once, an API server restart fails every node) does not retry as one burst. The retry
 * helper, the reconciler's per-key back-off and every retry loop use it.
 * @module
 */
import { FlannelWinError } from '../errors.js';

export interface BackoffPolicy {
  /** Delay after the first failure. */
  readonly baseMs: number;
  /** Upper bound of any delay, jitter included. */
  readonly maxMs: number;
  /** Fraction in [0, 1): a delay is drawn from [d * (1 - jitter), d]. 0: no jitter. */
  readonly jitter: number;
}

/** A back-off policy that cannot work (caught when it is built, not as a stuck loop later). */
export class BackoffPolicyError extends FlannelWinError {
  constructor(option: string, value: unknown, expected: string) {
    super('BACKOFF_POLICY_INVALID', `Cannot configure back-off: '${option}' must be ${expected}: current value is ${String(value)}`, { option, value });
  }
}

export function checkBackoffPolicy(policy: BackoffPolicy): void {
  const check = (option: keyof BackoffPolicy, ok: (v: number) => boolean, expected: string) => {
    const value = policy[option];
    if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) throw new BackoffPolicyError(option, value, expected);
  };
  check('baseMs', (v) => v > 0 && Number.isFinite(v), 'a finite number > 0');
  check('maxMs', (v) => v >= policy.baseMs && Number.isFinite(v), `a finite number >= baseMs (${policy.baseMs})`);
  check('jitter', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
}

/**
 * The delay before retry number `failures` (1 for the first failure); `random` is in [0, 1).
 * Jitter only shortens the delay, so `maxMs` is a hard bound and the ranges of consecutive
 * failures never overlap below the cap (the delay grows strictly until it reaches `maxMs`).
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: number): number {
  // 2^exponent overflows to Infinity long after it passed any sane maxMs; cap the exponent anyway.
  const exponent = Math.min(Math.max(failures, 1) - 1, 52);
  const nominal = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return nominal * (1 - policy.jitter * random);
}

/** Consecutive failures of one loop: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  #failures = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {
    checkBackoffPolicy(policy);
  }

  /** Records one more failure and returns how many whole milliseconds to wait before retrying. */
  next(): number {
    this.#failures++;
    return Math.round(backoffDelay(this.#failures, this.policy, this.random()));
  }

  reset(): void {
    this.#failures = 0;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }
}

/** Counts consecutive failures per key; a success (`forget`) starts the key over. */
export class KeyedBackoff {
  readonly #failures = new Map<string, number>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {
    checkBackoffPolicy(policy);
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: string): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return backoffDelay(failures, this.policy, this.random());
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Every key starts over (the cause of their failures was repaired). */
  forgetAll(): void {
    this.#failures.clear();
  }

  /** Keys with at least one failure not yet followed by a success. */
  get size(): number {
    return this.#failures.size;
  }
}
