/**
 * Time as the reconciler sees it. Injected so that back-off, the delay heap, the token bucket and
 * periodic resync can be driven by a manual clock in tests instead of sleeping.
 * @module
 */

/** A scheduled callback that can be cancelled; cancelling twice or after it fired is harmless. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number;
  /** Runs `callback` once after `delayMs` (clamped to >= 0). */
  setTimer(callback: () => void, delayMs: number): Timer;
}

/**
 * The process clock. Timers are unref'd: a pending retry or resync must not keep a process alive
 * that has otherwise finished (tests, `--help`); the daemon stays up through its watches anyway.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. `advance` fires due timers synchronously, in deadline
 * order (ties in scheduling order), with `now()` set to each timer's deadline while it runs, so
 * a callback that schedules another timer sees the time it would have seen for real.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const timer: ManualTimer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers scheduled and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Deadline of the earliest live timer, or undefined when none is scheduled. */
  nextDeadline(): number | undefined {
    const live = this.#timers.filter((t) => !t.cancelled);
    if (live.length === 0) return undefined;
    return Math.min(...live.map((t) => t.at));
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Cannot advance the manual clock: ms must be >= 0: current value is ${ms}`);
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      next.cancelled = true;
      this.#now = next.at;
      next.callback();
    }
    this.#now = target;
  }
}

/** Waits `ms` on `clock`; resolves early (without throwing) when `signal` aborts. */
export function sleepOn(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      timer.cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
