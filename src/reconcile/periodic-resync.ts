/**
 * Runs a resync every `intervalMs` on the injected clock. The interval counts from the end of
 * one attempt, so a slow listing never overlaps the next; a failure is logged and the next
 * attempt simply comes one interval later (drift repair is best effort by nature).
 * @module
 */
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, Timer } from './clock.js';
import { checkNumberOption } from './errors.js';

export function runPeriodically(
  resync: (signal: AbortSignal) => Promise<void>,
  options: { intervalMs: number; clock: Clock; log: Logger; signals: readonly AbortSignal[] },
): void {
  const { intervalMs, clock, log, signals } = options;
  checkNumberOption('reconciler', 'resync interval', intervalMs, (v) => v > 0 && Number.isFinite(v), 'a finite number of ms > 0');
  const signal = AbortSignal.any([...signals]);
  let timer: Timer | undefined;
  const schedule = (): void => {
    timer = signal.aborted ? undefined : clock.setTimer(run, intervalMs);
  };
  const run = (): void => {
    timer = undefined;
    resync(signal)
      .catch((err: unknown) => {
        if (!signal.aborted) log.warn({ err: describeError(err) }, 'periodic resync failed; trying again next interval');
      })
      .finally(schedule);
  };
  signal.addEventListener('abort', () => timer?.cancel(), { once: true });
  schedule();
}
