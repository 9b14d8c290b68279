/**
 * A keyed work queue with the semantics of client-go's `util/workqueue` (plain + delaying
 * layers), so that controllers written against those guarantees behave the same here:
 *
 * - Fair: keys come out in the order they were first added.
 * - Stingy: a key is never held by two workers at once, and repeated adds before a worker takes
 *   it collapse into one run (the key keeps its place in line).
 * - Re-run: an add while a worker holds the key makes it run exactly once more, after `done`.
 * - Shutdown: `shutDown` refuses new adds and lets workers take what is already queued;
 *   `shutDownWithDrain` also waits until every taken key is `done`.
 *
 * Delays (`addAfter`) live in a min-heap keyed by key. A waiting key is NOT dirty, on purpose
 * (as in client-go): a plain `add` of a waiting key runs it now instead of waiting out its
 * back-off, and the delayed entry firing later costs one extra, idempotent run.
 *
 * The queue does not run anything itself; a worker pool (the reconciler's, on p-queue) takes
 * keys with `getBatch`/`get` and must call `done` for each key it took, also on failure.
 * @module
 */
import { systemClock, type Clock, type Timer } from './clock.js';
import { DelayHeap } from './delay-heap.js';
import { checkNumberOption } from './errors.js';

export interface KeyedWorkQueueOptions {
  /** @default systemClock */
  clock?: Clock;
}

interface BatchWaiter {
  readonly max: number;
  readonly resolve: (keys: string[] | undefined) => void;
  readonly detach: () => void;
}

export class KeyedWorkQueue {
  readonly #clock: Clock;
  /** Ready keys in FIFO order; every element is dirty and not processing. */
  #ready: string[] = [];
  #readyHead = 0;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new DelayHeap();
  #timer: Timer | undefined;
  #timerAt: number | undefined;
  #shuttingDown = false;
  #waiters: BatchWaiter[] = [];
  #deliveryScheduled = false;
  #idleWaiters: Array<() => void> = [];
  #drainWaiters: Array<() => void> = [];

  constructor(options: KeyedWorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Marks `key` as needing processing. Ignored after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    // `done` pushes it: pushing now would let a second worker take it while the first holds it.
    if (this.#processing.has(key)) return;
    this.#ready.push(key);
    this.#scheduleDelivery();
  }

  /**
   * Adds `key` once `delayMs` has passed; `delayMs <= 0` is a plain `add`. A key already waiting
   * keeps the earlier of its two deadlines.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    if (this.#delayed.schedule(key, this.#clock.now() + delayMs)) this.#armTimer();
  }

  /**
   * Ends every delay now: each key waiting for an `addAfter` deadline is added as if its
   * deadline had passed, in deadline order. Returns those keys.
   */
  addWaitingNow(): string[] {
    if (this.#shuttingDown) return [];
    const keys = this.#delayed.popDue(Number.POSITIVE_INFINITY);
    for (const key of keys) this.add(key);
    this.#armTimer();
    this.#checkWaiters();
    return keys;
  }

  /** Takes up to `max` ready keys without waiting (each now processing); [] when none is ready. */
  tryGetBatch(max: number): string[] {
    checkNumberOption('KeyedWorkQueue', 'max', max, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
    const taken: string[] = [];
    while (taken.length < max && this.#readyHead < this.#ready.length) {
      const key = this.#ready[this.#readyHead]!;
      this.#readyHead++;
      // Order matters (client-go `Get`): once it is processing and no longer dirty, a new add
      // marks it dirty again and `done` re-queues it.
      this.#processing.add(key);
      this.#dirty.delete(key);
      taken.push(key);
    }
    this.#compactReady();
    return taken;
  }

  /** Takes one ready key without waiting, or undefined when none is ready. */
  tryGet(): string | undefined {
    return this.tryGetBatch(1)[0];
  }

  /**
   * Waits for at least one ready key and takes up to `max` of them. Resolves undefined when
   * `signal` aborts, or once the queue is shut down and nothing is left: no ready key and no key
   * being processed (whose `done` could still re-queue it). A worker must therefore not wait
   * here while it holds a key.
   *
   * Delivery to a waiting worker is deferred to the next macrotask so that a burst of adds made
   * in one go (a lease snapshot, a policy recompilation) lands in one batch rather than one key
   * per worker.
   */
  getBatch(max: number, signal?: AbortSignal): Promise<string[] | undefined> {
    checkNumberOption('KeyedWorkQueue', 'max', max, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1');
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.len() > 0 && this.#waiters.length === 0) return Promise.resolve(this.tryGetBatch(max));
    if (this.#finished()) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      const waiter: BatchWaiter = {
        max,
        resolve,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
      if (this.len() > 0) this.#scheduleDelivery();
    });
  }

  /** `getBatch(1)` for a single key. */
  async get(signal?: AbortSignal): Promise<string | undefined> {
    return (await this.getBatch(1, signal))?.[0];
  }

  /** Releases a key taken by `get`/`getBatch`; re-queues it if it was added meanwhile. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key)) {
      this.#ready.push(key);
      this.#scheduleDelivery();
    } else if (this.#finished()) {
      this.#deliver();
    }
    this.#checkWaiters();
  }

  /** Number of ready keys. Excludes keys being processed and keys waiting for a deadline. */
  len(): number {
    return this.#ready.length - this.#readyHead;
  }

  get processingCount(): number {
    return this.#processing.size;
  }

  /** Number of keys waiting for an `addAfter` deadline. */
  get waitingCount(): number {
    return this.#delayed.size;
  }

  isProcessing(key: string): boolean {
    return this.#processing.has(key);
  }

  /** True when `key` will be handed out (again) without waiting for a deadline. */
  isDirty(key: string): boolean {
    return this.#dirty.has(key);
  }

  /** The deadline of `key` if it waits in the delay heap, in the clock's milliseconds. */
  waitingUntil(key: string): number | undefined {
    return this.#delayed.readyAt(key);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Refuses further adds and drops delayed keys (as client-go stops its waiting loop). Keys
   * already ready, and keys re-queued by `done` because they were added while processing, are
   * still handed out; after that `get`/`getBatch` resolve undefined.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = undefined;
    this.#delayed.clear();
    this.#deliver();
    this.#checkWaiters();
  }

  /** `shutDown`, then resolves once every ready key was taken and every taken key is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#checkWaiters();
    });
  }

  /**
   * Resolves at the first moment the queue is idle: no ready key, no key being processed, and no
   * delayed key whose deadline has passed. Keys waiting for a future deadline (back-off) do not
   * count, otherwise a key that keeps failing would keep the caller waiting for ever.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkWaiters();
    });
  }

  #isIdle(): boolean {
    if (this.len() > 0 || this.#processing.size > 0) return false;
    const next = this.#delayed.peekReadyAt();
    return next === undefined || next > this.#clock.now();
  }

  #checkWaiters(): void {
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    if (this.#drainWaiters.length > 0 && this.#shuttingDown && this.len() === 0 && this.#processing.size === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #scheduleDelivery(): void {
    if (this.#deliveryScheduled || this.#waiters.length === 0) return;
    this.#deliveryScheduled = true;
    setImmediate(() => {
      this.#deliveryScheduled = false;
      this.#deliver();
    });
  }

  /**
   * Shut down with nothing left that could still come back: a key being processed may be
   * re-queued by its `done` (it was added again before shutdown), so workers keep waiting for it.
   */
  #finished(): boolean {
    return this.#shuttingDown && this.len() === 0 && this.#processing.size === 0;
  }

  #deliver(): void {
    while (this.#waiters.length > 0) {
      if (this.len() === 0 && !this.#finished()) return;
      const waiter = this.#waiters.shift()!;
      waiter.detach();
      const keys = this.tryGetBatch(waiter.max);
      waiter.resolve(keys.length > 0 ? keys : undefined);
    }
  }

  #armTimer(): void {
    const next = this.#delayed.peekReadyAt();
    if (next === undefined) {
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#timerAt = undefined;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt === next) return;
    this.#timer?.cancel();
    this.#timerAt = next;
    this.#timer = this.#clock.setTimer(() => this.#onTimer(), next - this.#clock.now());
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    for (const key of this.#delayed.popDue(this.#clock.now())) this.add(key);
    this.#armTimer();
    this.#checkWaiters();
  }

  #compactReady(): void {
    // Amortised O(1) dequeue without Array.shift's O(n) copy on large queues.
    if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#readyHead);
      this.#readyHead = 0;
    } else if (this.#readyHead === this.#ready.length) {
      this.#ready = [];
      this.#readyHead = 0;
    }
  }
}
