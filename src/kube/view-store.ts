import type { ListWatchHandler, WatchEventType } from './list-watch.js';

/** How one kind is read and compared. */
export interface ViewReader<V> {
  /** Reads raw API JSON (listed or watched alike); undefined for an object that cannot be read. */
  read(raw: unknown): V | undefined;
  key(view: V): string;
  same(a: V, b: V): boolean;
}

/** A change to one stored view; `previous` lets a consumer undo what the old view implied. */
export type ViewChange<V> =
  | { readonly type: 'upsert'; readonly key: string; readonly object: V; readonly previous: V | undefined }
  | { readonly type: 'delete'; readonly key: string; readonly previous: V };

export interface ViewStoreHooks<V> {
  /** A view changed; only called once `live` is set (before, the snapshot will carry it). */
  onChange(change: ViewChange<V>): void;
  /** The first list completed. */
  onSynced(): void;
  /** An object could not be read (no name); it is skipped. */
  onUnreadable(raw: unknown): void;
}

/**
 * One kind's compact views, kept from a list-watch: raw objects are read as they arrive (page
 * by page) and dropped. A relist is a diff: an object listed unchanged yields nothing, a changed
 * one an upsert, and an object missing from the new list a delete, so a 410 Gone loses nothing
 * and replays nothing as new.
 */
export class ViewStore<V> implements ListWatchHandler {
  readonly #reader: ViewReader<V>;
  readonly #hooks: ViewStoreHooks<V>;
  readonly #views = new Map<string, V>();
  #listed: Set<string> | undefined;
  #synced = false;
  /** Set once every kind has synced and the snapshot was handed over: changes are reported. */
  live = false;

  constructor(reader: ViewReader<V>, hooks: ViewStoreHooks<V>) {
    this.#reader = reader;
    this.#hooks = hooks;
  }

  /** The current views by key (live: read it, do not keep it). */
  get views(): ReadonlyMap<string, V> {
    return this.#views;
  }

  get synced(): boolean {
    return this.#synced;
  }

  listStart(): void {
    this.#listed = new Set();
  }

  listPage(items: readonly unknown[]): void {
    const listed = this.#listed;
    if (!listed) throw new Error('ViewStore.listPage outside a list');
    for (const raw of items) {
      const view = this.#read(raw);
      if (view === undefined) continue;
      const key = this.#reader.key(view);
      listed.add(key);
      this.#upsert(key, view);
    }
  }

  listEnd(): void {
    const listed = this.#listed;
    if (!listed) throw new Error('ViewStore.listEnd outside a list');
    this.#listed = undefined;
    for (const [key, previous] of this.#views) {
      if (listed.has(key)) continue;
      this.#views.delete(key);
      if (this.live) this.#hooks.onChange({ type: 'delete', key, previous });
    }
    if (!this.#synced) {
      this.#synced = true;
      this.#hooks.onSynced();
    }
  }

  event(type: WatchEventType, raw: unknown): void {
    const view = this.#read(raw);
    if (view === undefined) return;
    const key = this.#reader.key(view);
    if (type === 'DELETED') {
      const previous = this.#views.get(key);
      if (previous === undefined) return;
      this.#views.delete(key);
      if (this.live) this.#hooks.onChange({ type: 'delete', key, previous });
      return;
    }
    this.#upsert(key, view);
  }

  #upsert(key: string, view: V): void {
    const previous = this.#views.get(key);
    if (previous !== undefined && this.#reader.same(previous, view)) return;
    this.#views.set(key, view);
    if (this.live) this.#hooks.onChange({ type: 'upsert', key, object: view, previous });
  }

  #read(raw: unknown): V | undefined {
    const view = this.#reader.read(raw);
    if (view === undefined) this.#hooks.onUnreadable(raw);
    return view;
  }
}
