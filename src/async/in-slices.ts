/**
 * Long loops over the whole cluster (a resync's comparison, a listing of 20,000 routes) give the
 * event loop back every couple of milliseconds, so a lease event or a health probe arriving
 * meanwhile waits for one slice, not for the whole loop.
 * @module
 */

/** A slice ends after this long, whatever its item count. */
export const DEFAULT_SLICE_MS = 2;

/** Gives the event loop back: timers and I/O callbacks that are due run before the caller goes on. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface SliceOptions {
  signal?: AbortSignal;
  /** A slice also ends after this many items. @default unlimited */
  maxItems?: number;
  /** @default DEFAULT_SLICE_MS */
  sliceMs?: number;
}

/**
 * Calls `visit` for each item, yielding to the event loop whenever a slice is used up (by time,
 * checked every 64 items since reading the clock costs more than a cheap visit, or by count).
 * Throws the signal's reason when it is aborted between slices.
 *
 * An array is walked by index; any other iterable lazily, as it yields (a generator that scans
 * a large text then scans it slice by slice). To walk a Map's keys as they were at the call,
 * and without one iterator result object per key, pass `Array.from(map.keys())`.
 */
export async function forEachInSlices<T>(items: Iterable<T>, visit: (item: T) => void, options: SliceOptions = {}): Promise<void> {
  const maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  let inSlice = 0;
  let sliceStart = performance.now();
  /** Counts one visit; true when the slice is used up (the clock is read every 64 visits). */
  const sliceUsedUp = (): boolean => ++inSlice >= maxItems || ((inSlice & 63) === 0 && performance.now() - sliceStart >= sliceMs);
  const endSlice = async (): Promise<void> => {
    await yieldToEventLoop();
    options.signal?.throwIfAborted();
    inSlice = 0;
    sliceStart = performance.now();
  };
  if (Array.isArray(items)) {
    const list = items as readonly T[];
    for (let i = 0; i < list.length; i++) {
      visit(list[i]!);
      if (sliceUsedUp()) await endSlice();
    }
    return;
  }
  for (const item of items) {
    visit(item);
    if (sliceUsedUp()) await endSlice();
  }
}
