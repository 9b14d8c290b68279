/**
 * Applying one batch with the fallback the issue asks for: when a batch call fails, each of its
 * changes is tried alone, so one bad entry (an HNS policy it rejects) cannot hold back the rest.
 * Only a change that fails alone is reported as failed; an abort is never a failure.
 * @module
 */
import type { Change } from './resource-kind.js';

export interface BatchApplySteps<D, A> {
  /** One apply call; updates the caller's cache on success. */
  applyOnce(changes: readonly Change<D, A>[]): Promise<void>;
  /** The change a key needs now (the state may have moved while the batch failed). */
  replan(key: string): Change<D, A> | undefined;
  /** Waits for the rate limit before each single; false when aborted. */
  acquire(): Promise<boolean>;
  aborted(): boolean;
  onBatchFailed(err: unknown, size: number): void;
  onChangeFailed(change: Change<D, A>, err: unknown): void;
}

export async function applyBatchWithFallback<D, A>(changes: readonly Change<D, A>[], steps: BatchApplySteps<D, A>): Promise<void> {
  try {
    await steps.applyOnce(changes);
    return;
  } catch (err) {
    if (steps.aborted()) return;
    if (changes.length === 1) {
      steps.onChangeFailed(changes[0]!, err);
      return;
    }
    steps.onBatchFailed(err, changes.length);
  }
  for (const batched of changes) {
    const change = steps.replan(batched.key);
    if (change === undefined) continue;
    if (!(await steps.acquire())) return;
    try {
      await steps.applyOnce([change]);
    } catch (err) {
      if (steps.aborted()) return;
      steps.onChangeFailed(change, err);
    }
  }
}
