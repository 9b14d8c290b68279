/**
 * A host held in a Map, behind the ResourceKind contract, recording every apply call so tests can
 * count writes, check ordering and detect two concurrent applies touching one key.
 */
import type { Change, ResourceKind } from '../../src/reconcile/resource-kind.js';
import type { ManualClock } from '../../src/reconcile/clock.js';
import type { Reconciler } from '../../src/reconcile/reconciler.js';

export interface ApplyCall {
  readonly at: number;
  readonly changes: readonly Change<string, string>[];
  readonly ok: boolean;
}

export interface FakeKindOptions {
  maxBatch?: number;
  clock?: { now(): number };
  /** Throw for this call (before changing anything: a failed call is atomic). */
  shouldFail?: (changes: readonly Change<string, string>[]) => boolean;
  /** Awaited inside apply before the host changes (hold a call open). */
  gate?: (changes: readonly Change<string, string>[], signal: AbortSignal) => Promise<void>;
  /** Awaited inside listActual after the host was read (a listing that returns late). */
  listGate?: () => Promise<void>;
}

export class FakeKind implements ResourceKind<string, string> {
  readonly name = 'fake';
  readonly maxBatch: number;
  readonly host = new Map<string, string>();
  readonly calls: ApplyCall[] = [];
  readonly inFlight = new Set<string>();
  /** Calls that touched a key another unfinished call was touching. */
  overlaps = 0;
  lists = 0;
  listFailures = 0;

  constructor(private readonly options: FakeKindOptions = {}) {
    this.maxBatch = options.maxBatch ?? 1;
  }

  async listActual(): Promise<Map<string, string>> {
    this.lists++;
    const snapshot = new Map(this.host);
    await new Promise((resolve) => setImmediate(resolve));
    await this.options.listGate?.();
    if (this.listFailures > 0) {
      this.listFailures--;
      throw new Error('list failed');
    }
    return snapshot;
  }

  matches(desired: string, actual: string): boolean {
    return desired === actual;
  }

  toActual(desired: string): string {
    return desired;
  }

  async apply(changes: readonly Change<string, string>[], signal: AbortSignal): Promise<void> {
    for (const c of changes) {
      if (this.inFlight.has(c.key)) this.overlaps++;
      this.inFlight.add(c.key);
    }
    try {
      await new Promise((resolve) => setImmediate(resolve));
      await this.options.gate?.(changes, signal);
      signal.throwIfAborted();
      const ok = !(this.options.shouldFail?.(changes) ?? false);
      this.calls.push({ at: this.options.clock?.now() ?? 0, changes: [...changes], ok });
      if (!ok) throw new Error(`fake apply failed for ${changes.map((c) => c.key).join(',')}`);
      for (const c of changes) {
        if (c.op === 'delete') this.host.delete(c.key);
        else this.host.set(c.key, c.desired);
      }
    } finally {
      for (const c of changes) this.inFlight.delete(c.key);
    }
  }

  /** Successful writes only. */
  get writes(): number {
    return this.calls.filter((c) => c.ok).length;
  }
}

/** Lets pending promise chains and setImmediate callbacks run. */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Drives a manual clock until the reconciler is idle: runs what is runnable, and when it is not
 * idle yet, jumps to the next timer (retry, rate-limit token, resync). Throws after `maxSteps`.
 */
export async function settle(rec: Reconciler<string, string>, clock: ManualClock, maxSteps = 5000): Promise<void> {
  let idle = false;
  void rec.whenIdle().then(() => {
    idle = true;
  });
  for (let step = 0; step < maxSteps; step++) {
    await flush();
    if (idle) return;
    const next = clock.nextDeadline();
    if (next !== undefined) clock.advance(next - clock.now());
  }
  throw new Error(`reconciler not idle after ${maxSteps} steps: ${JSON.stringify(rec.stats())}`);
}

/** Drives a manual clock forward by `ms`, timer by timer, letting work run in between. */
export async function runFor(clock: ManualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  for (;;) {
    await flush();
    const next = clock.nextDeadline();
    if (next === undefined || next > target) break;
    clock.advance(next - clock.now());
  }
  clock.advance(target - clock.now());
  await flush();
}

export function hostObject(kind: FakeKind): Record<string, string> {
  return Object.fromEntries([...kind.host].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
