/**
 * What the etcd subnet manager knows of the lease keys: key → the revision it was last seen at
 * and its parsed lease. Listings are folded in page by page, so a relist after a compaction is
 * diffed as it is read (only keys whose revision moved are parsed again) and turns into plain
 * events, without the whole raw listing, a parsed copy and a diff ever being held at once.
 * @module
 */
import type { Lease, LeaseEvent } from '../types.js';

/** One key of a listing page, already parsed (keys flannel could not parse are left out). */
export interface IndexedRecord {
  readonly key: string;
  readonly modRevision: string;
  readonly lease: Lease;
}

interface Entry {
  readonly modRevision: string;
  readonly lease: Lease;
}

/** A listing being folded in: which keys it has shown so far. */
export interface Relist {
  readonly seen: Set<string>;
}

export class EtcdLeaseIndex {
  readonly #entries = new Map<string, Entry>();

  get size(): number {
    return this.#entries.size;
  }

  /** Every known lease, in key order of the listing that brought it. */
  leases(): Lease[] {
    return Array.from(this.#entries.values(), (e) => e.lease);
  }

  /** The revision `key` was last seen at, if known (a cheap test for "unchanged"). */
  modRevisionOf(key: string): string | undefined {
    return this.#entries.get(key)?.modRevision;
  }

  beginRelist(): Relist {
    return { seen: new Set() };
  }

  /** Folds one page in; returns `added` for keys that are new or moved since last seen. */
  foldPage(relist: Relist, records: readonly IndexedRecord[]): LeaseEvent[] {
    const events: LeaseEvent[] = [];
    for (const record of records) {
      relist.seen.add(record.key);
      if (this.#entries.get(record.key)?.modRevision === record.modRevision) continue;
      this.#entries.set(record.key, { modRevision: record.modRevision, lease: record.lease });
      events.push({ type: 'added', lease: record.lease });
    }
    return events;
  }

  /** Ends a listing: every known key it did not show is gone; returns their `removed` events. */
  finishRelist(relist: Relist): LeaseEvent[] {
    const events: LeaseEvent[] = [];
    for (const [key, entry] of this.#entries) {
      if (relist.seen.has(key)) continue;
      this.#entries.delete(key);
      events.push({ type: 'removed', lease: entry.lease });
    }
    return events;
  }

  /** A watched put. */
  put(record: IndexedRecord): void {
    this.#entries.set(record.key, { modRevision: record.modRevision, lease: record.lease });
  }

  /** A watched put of the same value (a renewal): only the revision moves. False when unknown. */
  renew(key: string, modRevision: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.set(key, { modRevision, lease: entry.lease });
    return true;
  }

  /** A watched delete; the lease the key held, when it was known. */
  delete(key: string): Lease | undefined {
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    return entry?.lease;
  }
}
