import { FlannelWinError, describeError } from '../errors.js';

/** An option given to the queue, a rate limiter or the reconciler is out of range. */
export class ReconcileOptionError extends FlannelWinError {
  constructor(component: string, option: string, value: unknown, expected: string) {
    super(
      'RECONCILE_BAD_OPTION',
      `Cannot configure ${component}: '${option}' must be ${expected}: current value is ${String(value)}`,
      { component, option, value },
    );
  }
}

/**
 * Checks a numeric option up front (before any work starts), so a bad flag fails at wiring
 * time with the option's name rather than as a stuck queue later.
 */
export function checkNumberOption(
  component: string,
  option: string,
  value: number,
  test: (v: number) => boolean,
  expected: string,
): void {
  if (typeof value !== 'number' || Number.isNaN(value) || !test(value)) {
    throw new ReconcileOptionError(component, option, value, expected);
  }
}

/** Listing what the host holds failed, so drift cannot be judged this round. */
export class ResyncError extends FlannelWinError {
  constructor(kind: string, cause: unknown) {
    super('RECONCILE_LIST_FAILED', `Cannot resync ${kind}: listing the actual state failed: ${describeError(cause)}`, { kind }, { cause });
  }
}

/** A call that the reconciler's life cycle does not allow (say, `start` twice). */
export class ReconcilerStateError extends FlannelWinError {
  constructor(kind: string, call: string, reason: string) {
    super('RECONCILE_BAD_STATE', `Cannot ${call} the ${kind} reconciler: ${reason}`, { kind, call });
  }
}
