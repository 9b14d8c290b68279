/**
 * The generic reconciler: keeps the host's objects of one kind equal to a desired map.
 *
 * Desired state comes from the caller, key by key (`setDesired`) or whole (`replaceAllDesired`).
 * Actual state comes only from `kind.listActual` (at start and on every resync) and from the
 * reconciler's own successful writes; never from an event payload. A key is queued only when its
 * desired spec differs from the cached actual one, so work per event is proportional to what
 * changed; a restart with nothing changed performs no write at all.
 *
 * Workers (a p-queue bounded by `concurrency`) take batches of up to `kind.maxBatch` ready keys
 * from a client-go style keyed queue (one worker per key at a time, adds collapse, an add during
 * processing re-runs once), compute each key's change at that moment and apply. The token of the
 * global rate limit is taken before the batch: keys arriving while a worker waits for it stay in
 * the queue and join that worker's batch, instead of waiting behind a batch already taken. A failed batch is retried change by change; a failed change backs
 * off per key with jitter. Deleting actual entries that are not desired waits until the caller
 * says the desired state is complete (`markDesiredSynced`).
 * @module
 */
import PQueue from 'p-queue';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { backoffDelay, KeyedBackoff, type BackoffPolicy } from '../async/backoff.js';
import { forEachInSlices } from '../async/in-slices.js';
import { actualAfter, orderChanges, planChange } from './change-plan.js';
import { applyBatchWithFallback } from './batch-apply.js';
import { sleepOn, systemClock, type Clock } from './clock.js';
import { checkNumberOption, ReconcilerStateError, ResyncError } from './errors.js';
import { KeyedWorkQueue } from './keyed-work-queue.js';
import { runPeriodically } from './periodic-resync.js';
import type { Change, ResourceKind } from './resource-kind.js';
import { DEFAULT_RATE_LIMIT, TokenBucket, type RateLimitOptions } from './token-bucket.js';

export interface ReconcilerOptions<D, A> {
  log: Logger;
  /** Apply calls in flight at once. @default 4 */
  concurrency?: number;
  /** Per-key back-off after a failed change. */
  backoff?: Partial<BackoffPolicy>;
  /** Global limit on apply calls (one token per call, batch or single). */
  rateLimit?: Partial<RateLimitOptions>;
  /**
   * A rate limit shared with other reconcilers (every kind that writes to HNS takes its tokens
   * from one bucket). When given, `rateLimit` is ignored.
   */
  rateLimiter?: TokenBucket;
  /**
   * A resync compares desired and actual state in slices of this many keys, giving the event
   * loop back in between, so a lease event arriving during a resync at 20,000 peers is not held
   * up by the whole comparison. @default 1000
   */
  resyncSliceKeys?: number;
  clock?: Clock;
  /** Source of jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** After every successful apply call, with the changes it carried. */
  onApplied?(changes: readonly Change<D, A>[], durationMs: number): void;
  /** After a change failed on its own (it will be retried after its back-off). */
  onFailed?(change: Change<D, A>, err: unknown): void;
  /**
   * After every successful listing of the host, with how many keys a re-listing found drifted
   * (different from what the reconciler believed) and queued for repair; 0 for the first listing.
   */
  onResynced?(drifted: number): void;
}

/** Where one desired key stands, as `keyState` reports it. */
export interface KeyState {
  key: string;
  /** programmed: the host holds what is desired; pending: a write is queued or in flight; failing: the last write failed and waits for its retry. */
  state: 'programmed' | 'pending' | 'failing';
  /** The last write's error, for a failing key (also while its retry is queued). */
  lastError?: string;
}

export interface ReconcilerStats {
  /** Changes applied successfully. */
  applied: number;
  /** Changes that failed on their own (a failed batch counts through its singles). */
  failed: number;
  /** Retries scheduled after failures. */
  retries: number;
  /** Keys ready to be taken by a worker. */
  queued: number;
  /** Keys held by a worker right now. */
  inFlight: number;
  /** Keys waiting out a back-off. */
  pendingRetries: number;
  lastResyncAt?: Date;
  /** Keys resyncs found drifted on the host (queued for repair), since start. */
  driftRepaired: number;
  lastError?: string;
  desired: number;
  actual: number;
}

const NEVER_ABORTED = new AbortController().signal;

/** Per-key back-off, as client-go's ItemExponentialFailureRateLimiter with jitter added. */
const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 60_000, jitter: 0.2 };

export class Reconciler<D, A> {
  readonly #kind: ResourceKind<D, A>;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoffOptions: BackoffPolicy;
  readonly #backoff: KeyedBackoff;
  readonly #bucket: TokenBucket;
  readonly #queue: KeyedWorkQueue;
  readonly #workers: PQueue;
  readonly #concurrency: number;
  readonly #maxBatch: number;
  readonly #resyncSliceKeys: number;
  readonly #onApplied: ReconcilerOptions<D, A>['onApplied'];
  readonly #onFailed: ReconcilerOptions<D, A>['onFailed'];
  readonly #onResynced: ReconcilerOptions<D, A>['onResynced'];
  /** The last error of each key whose last write failed; cleared by a successful write. */
  readonly #keyErrors = new Map<string, string>();

  readonly #desired = new Map<string, D>();
  #actual = new Map<string, A>();
  /** The actual cache holds a listing (until then nothing is queued and nothing is written). */
  #actualKnown = false;
  #desiredSynced = false;

  #started = false;
  /** Aborted by the start signal or by `drain`: no new batch is taken after that. */
  readonly #stop = new AbortController();
  /** Passed to `kind.apply`: only the start signal aborts a write, `drain` lets it finish. */
  #applySignal: AbortSignal = NEVER_ABORTED;
  #dispatcher: Promise<void> = Promise.resolve();
  /** Batches handed to p-queue and not finished (the dispatcher never takes more than slots). */
  #running = 0;
  #slotFreed: (() => void) | undefined;
  /** Keys taken from the queue and not yet released. */
  readonly #inFlight = new Set<string>();

  #resyncing: Promise<void> | undefined;
  /** While a listing is in flight: keys written meanwhile, whose cached value beats the listing. */
  #touched: Set<string> | undefined;
  #idleWaiters: Array<() => void> = [];
  #listedWaiters: Array<() => void> = [];

  #applied = 0;
  #failed = 0;
  #retries = 0;
  #lastResyncAt: Date | undefined;
  #driftRepaired = 0;
  #lastError: string | undefined;

  constructor(kind: ResourceKind<D, A>, options: ReconcilerOptions<D, A>) {
    this.#kind = kind;
    this.#onResynced = options.onResynced;
    this.#log = options.log.child({ reconciler: kind.name });
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#concurrency = options.concurrency ?? 4;
    checkNumberOption('reconciler', 'concurrency', this.#concurrency, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
    this.#maxBatch = kind.maxBatch ?? 1;
    checkNumberOption(`reconciler ${kind.name}`, 'maxBatch', this.#maxBatch, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
    this.#backoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#backoff = new KeyedBackoff(this.#backoffOptions, this.#random);
    this.#bucket = options.rateLimiter ?? new TokenBucket({ ...DEFAULT_RATE_LIMIT, ...options.rateLimit }, this.#clock);
    this.#resyncSliceKeys = options.resyncSliceKeys ?? 1000;
    checkNumberOption('reconciler', 'resyncSliceKeys', this.#resyncSliceKeys, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
    this.#queue = new KeyedWorkQueue({ clock: this.#clock });
    this.#workers = new PQueue({ concurrency: this.#concurrency });
    this.#onApplied = options.onApplied;
    this.#onFailed = options.onFailed;
  }

  /** Sets (or with undefined, removes) what one key should be. O(1). */
  setDesired(key: string, desired: D | undefined): void {
    if (desired === undefined) {
      if (!this.#desired.delete(key)) return;
      if (this.#actualKnown && this.#desiredSynced && this.#actual.has(key)) this.#queue.add(key);
      return;
    }
    const before = this.#desired.get(key);
    this.#desired.set(key, desired);
    // Before the first listing every key is compared by the resync that produces it.
    if (!this.#actualKnown) return;
    // The same spec again (a lease renewal, a snapshot after a reconnect) must not cut short a
    // back-off that is already running for this key.
    const unchanged = before !== undefined && this.#kind.matches(desired, this.#kind.toActual(before));
    if (unchanged && this.#queue.waitingUntil(key) !== undefined) return;
    if (this.#needsChange(key)) this.#queue.add(key);
  }

  /** Replaces the whole desired map; only keys that differ are queued. */
  replaceAllDesired(all: Map<string, D>): void {
    for (const key of [...this.#desired.keys()]) {
      if (!all.has(key)) this.setDesired(key, undefined);
    }
    for (const [key, desired] of all) this.setDesired(key, desired);
  }

  /** The desired state is complete: actual entries nobody desires may be deleted from now on. */
  markDesiredSynced(): void {
    if (this.#desiredSynced) return;
    this.#desiredSynced = true;
    if (!this.#actualKnown) return;
    for (const key of this.#actual.keys()) {
      if (!this.#desired.has(key)) this.#queue.add(key);
    }
  }

  /**
   * Starts the workers; they run until `signal` aborts (which also aborts writes in flight).
   * Unless a resync already ran, the first thing done is listing the actual state (retried with
   * back-off until it succeeds), so that entries that already match are adopted, not rewritten.
   */
  start(signal: AbortSignal): void {
    if (this.#started) throw new ReconcilerStateError(this.#kind.name, 'start', 'it was already started');
    this.#started = true;
    this.#applySignal = signal;
    if (signal.aborted) this.#halt();
    else signal.addEventListener('abort', () => this.#halt(), { once: true });
    this.#dispatcher = this.#dispatch();
  }

  /**
   * Lists the actual state, refreshes the cache and queues every key whose actual entry differs
   * from the desired one. Concurrent calls share one listing. Rejects with a ResyncError (or the
   * abort) when the listing fails; the cache is then left as it was.
   */
  resync(signal?: AbortSignal): Promise<void> {
    if (this.#resyncing) return this.#resyncing;
    const run = this.#resync(signal ?? this.#applySignal).finally(() => {
      this.#resyncing = undefined;
      this.#checkListed();
      this.#checkIdle();
    });
    this.#resyncing = run;
    return run;
  }

  /**
   * Resyncs every `intervalMs` until `signal` aborts or the reconciler stops. The interval runs
   * from the end of one attempt to the start of the next; a failure is logged, never thrown.
   */
  startPeriodicResync(intervalMs: number, signal: AbortSignal): void {
    runPeriodically((s) => this.resync(s), { intervalMs, clock: this.#clock, log: this.#log, signals: [signal, this.#stop.signal] });
  }

  /**
   * Resolves once nothing is queued, nothing is in flight, no retry is pending and no listing is
   * running. After the reconciler stopped, resolves once what was in flight has finished.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    });
  }

  /**
   * Ends every back-off now: keys waiting to retry a failed change are queued at once and every
   * key's failure count starts over. For when the cause of the failures was repaired (the HNS
   * network recreated), so those keys need not wait up to `backoff.maxMs` for their next
   * attempt, and a caller waiting for the queue to empty waits for their attempt too. A key
   * that fails again backs off from the start. Returns how many keys were re-queued.
   */
  retryNow(): number {
    if (this.#stop.signal.aborted) return 0;
    this.#backoff.forgetAll();
    const keys = this.#queue.addWaitingNow();
    if (keys.length > 0) this.#log.info({ keys: keys.length }, 'retrying keys now instead of after their back-off');
    this.#checkIdle();
    return keys.length;
  }

  /**
   * Resolves once a listing of the actual state has completed and every key it found different
   * was queued (at once when one already has), or when `signal` aborts or the reconciler stops.
   * A failed listing does not reject: the initial listing started by `start` is retried with
   * back-off, so a caller waiting to judge convergence simply waits for the retry that succeeds.
   */
  whenListed(signal?: AbortSignal): Promise<void> {
    if (this.#actualKnown || this.#stop.signal.aborted || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        this.#listedWaiters = this.#listedWaiters.filter((w) => w !== done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#listedWaiters.push(done);
    });
  }

  /** Stops taking new work and pending retries; resolves once in-flight applies have finished. */
  async drain(): Promise<void> {
    this.#halt();
    await this.#dispatcher;
    await this.#workers.onIdle();
    await this.#resyncing?.catch(() => undefined);
    this.#checkIdle();
  }

  stats(): ReconcilerStats {
    return {
      applied: this.#applied,
      failed: this.#failed,
      retries: this.#retries,
      queued: this.#queue.len(),
      inFlight: this.#inFlight.size,
      pendingRetries: this.#queue.waitingCount,
      ...(this.#lastResyncAt && { lastResyncAt: this.#lastResyncAt }),
      driftRepaired: this.#driftRepaired,
      ...(this.#lastError !== undefined && { lastError: this.#lastError }),
      desired: this.#desired.size,
      actual: this.#actual.size,
    };
  }

  /**
   * Where one desired key stands (a read-only query for `/status`: it changes nothing), or
   * undefined when the key is not desired.
   */
  keyState(key: string): KeyState | undefined {
    if (!this.#desired.has(key)) return undefined;
    const lastError = this.#keyErrors.get(key);
    if (lastError !== undefined) return { key, state: 'failing', lastError };
    if (!this.#actualKnown || this.#inFlight.has(key) || this.#needsChange(key)) return { key, state: 'pending' };
    return { key, state: 'programmed' };
  }

  #halt(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    // Drops pending retries and cancels the queue's timer: nothing may fire after a stop.
    this.#queue.shutDown();
    this.#slotFreed?.();
    this.#checkListed();
    this.#checkIdle();
  }

  async #dispatch(): Promise<void> {
    const stop = this.#stop.signal;
    try {
      if (!this.#actualKnown) await this.#initialSync();
      while (!stop.aborted) {
        if (this.#running >= this.#concurrency) {
          // Taking a batch only when a worker can run it leaves later keys in the queue, where
          // they can still collapse and join a fuller batch.
          await new Promise<void>((resolve) => {
            this.#slotFreed = resolve;
          });
          this.#slotFreed = undefined;
          continue;
        }
        // The token first: while it is awaited, keys stay in the queue where later events can
        // still join them, and the batch taken afterwards goes out at once.
        if (!(await this.#bucket.acquire(stop))) break;
        const keys = await this.#queue.getBatch(this.#maxBatch, stop);
        if (keys === undefined) {
          this.#bucket.refund();
          break;
        }
        this.#running++;
        for (const key of keys) this.#inFlight.add(key);
        this.#workers.add(() => this.#work(keys)).catch((err: unknown) => {
          this.#log.error({ err: describeError(err), keys: keys.length }, 'reconcile worker failed unexpectedly');
        });
      }
    } catch (err) {
      this.#log.error({ err: describeError(err) }, 'reconcile dispatcher stopped unexpectedly');
    }
  }

  async #initialSync(): Promise<void> {
    const stop = this.#stop.signal;
    for (let failures = 1; !stop.aborted && !this.#actualKnown; failures++) {
      try {
        await this.resync(this.#applySignal);
      } catch (err) {
        if (stop.aborted) return;
        const retryInMs = Math.round(backoffDelay(failures, this.#backoffOptions, this.#random()));
        this.#log.warn({ err: describeError(err), attempt: failures, retryInMs }, 'initial listing failed; retrying');
        await sleepOn(this.#clock, retryInMs, stop);
      }
    }
  }

  async #resync(signal: AbortSignal): Promise<void> {
    // A key being written while the host is listed may show up either way; its cached value,
    // updated by the write itself, is the better guess.
    this.#touched = new Set(this.#inFlight);
    try {
      let listed: Map<string, A>;
      try {
        listed = await this.#kind.listActual(signal, this.#actual);
      } catch (err) {
        if (signal.aborted) throw err;
        const error = new ResyncError(this.#kind.name, err);
        this.#lastError = error.message;
        throw error;
      }
      for (const key of this.#touched) {
        const cached = this.#actual.get(key);
        if (cached === undefined) listed.delete(key);
        else listed.set(key, cached);
      }
      this.#actual = listed;
      // The first listing finds what start-up must write, not drift; later ones find drift.
      const relisting = this.#actualKnown;
      this.#actualKnown = true;
      this.#lastResyncAt = new Date();
      let drifted = 0;
      const consider = (key: string): void => {
        // A key waiting out its back-off keeps waiting: resync must not turn into a retry loop.
        if (this.#queue.waitingUntil(key) !== undefined || !this.#needsChange(key)) return;
        // A key already queued by an event is no drift: the resync only confirms it.
        if (relisting && !this.#queue.isDirty(key) && !this.#inFlight.has(key)) drifted++;
        this.#queue.add(key);
      };
      // Sliced: events applied between slices go through setDesired against the new cache. The
      // keys compared are those known when the comparison starts; a key an event adds or removes
      // meanwhile is queued by that event, and a removed one compared later plans its delete.
      await this.#inSlices(Array.from(this.#desired.keys()), consider, signal);
      if (this.#desiredSynced) {
        await this.#inSlices(Array.from(this.#actual.keys()), (key) => {
          if (!this.#desired.has(key)) consider(key);
        }, signal);
      }
      this.#log.debug({ desired: this.#desired.size, actual: this.#actual.size, drifted }, 'resync listed the actual state');
      this.#driftRepaired += drifted;
      this.#callHook('onResynced', () => this.#onResynced?.(drifted));
    } finally {
      this.#touched = undefined;
    }
  }

  /** Calls `visit` for each key, yielding to the event loop every slice (by count or by time). */
  #inSlices(keys: readonly string[], visit: (key: string) => void, signal: AbortSignal): Promise<void> {
    return forEachInSlices(keys, visit, { signal, maxItems: this.#resyncSliceKeys });
  }

  #plan(key: string): Change<D, A> | undefined {
    return planChange(this.#kind, key, this.#desired.get(key), this.#actual.get(key), this.#desiredSynced);
  }

  #needsChange(key: string): boolean {
    return this.#plan(key) !== undefined;
  }

  #planAll(keys: readonly string[]): Change<D, A>[] {
    const changes: Change<D, A>[] = [];
    for (const key of keys) {
      const change = this.#plan(key);
      if (change) changes.push(change);
      else {
        this.#backoff.forget(key);
        this.#keyErrors.delete(key);
      }
    }
    return changes;
  }

  async #work(keys: readonly string[]): Promise<void> {
    const signal = this.#applySignal;
    try {
      // The dispatcher took this batch's token; a batch with nothing left to change gives it back.
      const changes = this.#planAll(keys);
      if (changes.length === 0) this.#bucket.refund();
      else await this.#applyBatch(orderChanges(changes), signal);
    } finally {
      this.#running--;
      for (const key of keys) {
        this.#inFlight.delete(key);
        this.#queue.done(key);
      }
      try {
        // Desired may have returned to an older spec while the write was in flight (nothing was
        // queued then, as it matched the cache of that moment); catch that here.
        for (const key of keys) {
          if (this.#queue.waitingUntil(key) === undefined && this.#needsChange(key)) this.#queue.add(key);
        }
      } catch (err) {
        this.#log.error({ err: describeError(err) }, 'comparing desired and actual state failed after an apply');
      }
      this.#slotFreed?.();
      this.#checkIdle();
    }
  }

  #applyBatch(changes: readonly Change<D, A>[], signal: AbortSignal): Promise<void> {
    return applyBatchWithFallback(changes, {
      applyOnce: (batch) => this.#applyOnce(batch, signal),
      replan: (key) => this.#plan(key),
      acquire: () => this.#bucket.acquire(signal),
      aborted: () => signal.aborted,
      onBatchFailed: (err, size) =>
        this.#log.warn({ err: describeError(err), changes: size }, 'batch apply failed; applying its changes one by one'),
      onChangeFailed: (change, err) => this.#fail(change, err),
    });
  }

  async #applyOnce(changes: readonly Change<D, A>[], signal: AbortSignal): Promise<void> {
    for (const change of changes) this.#touched?.add(change.key);
    const startedAt = this.#clock.now();
    await this.#kind.apply(changes, signal);
    const durationMs = this.#clock.now() - startedAt;
    for (const change of changes) {
      const actual = actualAfter(this.#kind, change);
      if (actual === undefined) this.#actual.delete(change.key);
      else this.#actual.set(change.key, actual);
      this.#touched?.add(change.key);
      this.#backoff.forget(change.key);
      this.#keyErrors.delete(change.key);
    }
    this.#applied += changes.length;
    this.#callHook('onApplied', () => this.#onApplied?.(changes, durationMs));
  }

  #fail(change: Change<D, A>, err: unknown): void {
    const retryInMs = Math.round(this.#backoff.next(change.key));
    this.#failed++;
    this.#retries++;
    this.#lastError = `${change.op} ${change.key}: ${describeError(err)}`;
    this.#keyErrors.set(change.key, describeError(err).slice(0, 300));
    this.#queue.addAfter(change.key, retryInMs);
    this.#log.warn(
      { key: change.key, op: change.op, attempt: this.#backoff.failures(change.key), retryInMs, err: describeError(err) },
      'apply failed; retrying after back-off',
    );
    this.#callHook('onFailed', () => this.#onFailed?.(change, err));
  }

  #callHook(name: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#log.error({ hook: name, err: describeError(err) }, 'reconciler hook threw');
    }
  }

  #isIdle(): boolean {
    const busy = this.#running > 0 || this.#queue.processingCount > 0 || this.#resyncing !== undefined;
    if (this.#stop.signal.aborted) return !busy;
    if (busy || this.#queue.len() > 0 || this.#queue.waitingCount > 0) return false;
    return !(this.#started && !this.#actualKnown);
  }

  #checkListed(): void {
    if (this.#listedWaiters.length === 0 || !(this.#actualKnown || this.#stop.signal.aborted)) return;
    for (const done of [...this.#listedWaiters]) done();
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
