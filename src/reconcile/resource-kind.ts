/**
 * The contract between the generic reconciler and one kind of dataplane object (remote subnet
 * routes on an Overlay network, host routes, later ACL sets per endpoint). The reconciler owns
 * the desired map, the diff, the queue and the retries; a kind only knows how to list what the
 * host holds and how to apply a batch of changes to it.
 * @module
 */

/** One difference between desired and actual state for one key. */
export type Change<D, A> =
  | { readonly op: 'create'; readonly key: string; readonly desired: D }
  | { readonly op: 'replace'; readonly key: string; readonly desired: D; readonly actual: A }
  | { readonly op: 'delete'; readonly key: string; readonly actual: A };

export interface ResourceKind<D, A> {
  /** Used in logs and metrics labels ("remote-subnet-route", "host-route"). */
  readonly name: string;
  /**
   * How many changes one `apply` call may carry. Absent or 1: one change per call. When a batch
   * fails, the reconciler retries each of its changes on its own, so one bad entry cannot block
   * the rest.
   */
  readonly maxBatch?: number;
  /**
   * How fast apply calls of this kind may go (token bucket), when the reconciler's default
   * (100/s, burst 200, sized for HNS Modify requests) does not fit the target.
   */
  readonly rateLimit?: { perSecond: number; burst: number };
  /**
   * Everything of this kind the host holds that this daemon owns, keyed as the desired state is.
   * Objects the daemon does not own must not be returned: whatever is returned and not desired
   * is deleted.
   *
   * `previous` is the reconciler's cache from the last listing and the writes since. A kind may
   * return a previous entry itself where the host still holds exactly what it describes: a
   * resync at 20,000 peers then leaves a few objects of garbage instead of 20,000 entries (the
   * garbage is what turns into the collector's long pauses).
   */
  listActual(signal: AbortSignal, previous?: ReadonlyMap<string, A>): Promise<Map<string, A>>;
  /** True when `actual` already is what `desired` asks for (no write needed). */
  matches(desired: D, actual: A): boolean;
  /** What the host holds after `desired` was applied successfully (the reconciler's cache). */
  toActual(desired: D): A;
  /** Applies the changes; resolves only when all of them hold. Deletes are listed with creates. */
  apply(changes: readonly Change<D, A>[], signal: AbortSignal): Promise<void>;
}
