import type { Labels } from '../policy/model.js';

const NO_LABELS: Labels = Object.freeze({});

/**
 * Shares equal immutable values between objects under a canonical key. Entries are weak: a
 * value no object uses any more is collected and its entry removed, so the pool never grows
 * with churn.
 */
export class WeakPool<T extends object> {
  readonly #values = new Map<string, WeakRef<T>>();
  readonly #cleanup = new FinalizationRegistry<string>((key) => {
    if (this.#values.get(key)?.deref() === undefined) this.#values.delete(key);
  });

  /** The shared value for `key`, made (and frozen) by `make` the first time. */
  intern(key: string, make: () => T): T {
    const shared = this.#values.get(key)?.deref();
    if (shared) return shared;
    const value = Object.freeze(make());
    this.#values.set(key, new WeakRef(value));
    this.#cleanup.register(value, key);
    return value;
  }

  /** Values currently shared (for measurements). */
  get size(): number {
    return this.#values.size;
  }
}

/**
 * Shares equal label maps between objects: the pods of one ReplicaSet carry the same labels, so
 * 10,000 pods hold a few hundred maps, not 10,000. Sharing also makes "labels unchanged" a
 * reference comparison.
 */
export class LabelPool {
  readonly #pool = new WeakPool<Labels>();

  /** The shared map equal to `raw` (string values only; anything else is dropped). */
  intern(raw: unknown): Labels {
    if (typeof raw !== 'object' || raw === null) return NO_LABELS;
    const entries = Object.entries(raw as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
    if (entries.length === 0) return NO_LABELS;
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return this.#pool.intern(JSON.stringify(entries), () => Object.fromEntries(entries));
  }

  /** Maps currently shared (for measurements). */
  get size(): number {
    return this.#pool.size;
  }
}

/**
 * Shares short strings that repeat across objects (namespace and node names): 10,000 pods on
 * 100 nodes hold 100 node-name strings, not 10,000 copies. Holds every name the cluster has had
 * while the watch runs (a few bytes each).
 */
export class NamePool {
  readonly #names = new Map<string, string>();

  intern(name: string): string {
    const shared = this.#names.get(name);
    if (shared !== undefined) return shared;
    this.#names.set(name, name);
    return name;
  }
}
