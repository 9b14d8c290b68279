/** Exponential back-off settings: the first retry waits `initialMs`, doubling up to `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (0-based), with up to 20 % jitter subtracted so that
 * many nodes restarting together do not hit the API server in lockstep.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, Math.round(base * (1 - 0.2 * random())));
}
