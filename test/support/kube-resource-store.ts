/** The kinds the test API server serves, by their plural (URL) name. */
export type KindName = 'nodes' | 'pods' | 'namespaces' | 'networkpolicies';

export const KIND_OF: Readonly<Record<KindName, string>> = {
  nodes: 'Node',
  pods: 'Pod',
  namespaces: 'Namespace',
  networkpolicies: 'NetworkPolicy',
};

/** Any stored object: plain JSON as the API sends it. */
export interface StoredObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface HistoryEntry {
  readonly rv: number;
  readonly kind: KindName;
  readonly type: ChangeType;
  readonly object: StoredObject;
}

/** A page of a list, and the token for the next one (undefined on the last page). */
export interface StorePage {
  readonly items: readonly StoredObject[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

/**
 * The state behind the test API server: objects of every kind under one resourceVersion
 * counter, the change history watches replay from, and the consistent snapshots that paged
 * lists continue from, as etcd gives a real server. Stored objects are never mutated after a
 * commit (a change stores a new object), so snapshots and history can share them.
 */
export class KubeResourceStore {
  readonly #objects = new Map<KindName, Map<string, StoredObject>>();
  #history: HistoryEntry[] = [];
  /** Open paged lists: token id → the snapshot they page through. */
  #snapshots = new Map<string, { rv: number; items: StoredObject[] }>();
  #rv = 100;
  #oldestRv = 0;
  #uid = 0;
  #tokens = 0;

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Watches from a resourceVersion below this get 410 Gone. */
  get oldestResourceVersion(): number {
    return this.#oldestRv;
  }

  get(kind: KindName, key: string): StoredObject | undefined {
    return this.#objects.get(kind)?.get(key);
  }

  all(kind: KindName): StoredObject[] {
    return [...(this.#objects.get(kind)?.values() ?? [])];
  }

  /** Stores a new object or a new version of one; returns the committed entry. */
  put(kind: KindName, object: StoredObject): HistoryEntry {
    const key = keyOf(object);
    const existing = this.get(kind, key);
    const stored = structuredClone(object);
    stored.metadata.uid = existing?.metadata.uid ?? stored.metadata.uid ?? `uid-${++this.#uid}`;
    return this.#commit(kind, existing ? 'MODIFIED' : 'ADDED', stored);
  }

  remove(kind: KindName, key: string): HistoryEntry {
    const existing = this.get(kind, key);
    if (!existing) throw new Error(`no ${kind} ${key}`);
    return this.#commit(kind, 'DELETED', structuredClone(existing));
  }

  /** The changes of `kind` after `rv`, oldest first. */
  since(kind: KindName, rv: number): HistoryEntry[] {
    return this.#history.filter((entry) => entry.rv > rv && entry.kind === kind);
  }

  /**
   * One page of a list. Without a token, a new consistent snapshot is taken (sorted by key, as
   * etcd returns it); with one, the page continues that snapshot.
   * @returns undefined when the token has expired (the server answers 410 Gone).
   */
  page(kind: KindName, filter: (object: StoredObject) => boolean, limit: number | undefined, token: string | undefined): StorePage | undefined {
    let id: string;
    let offset = 0;
    let snapshot: { rv: number; items: StoredObject[] } | undefined;
    if (token === undefined) {
      const items = this.all(kind).filter(filter).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
      snapshot = { rv: this.#rv, items };
      id = String(++this.#tokens);
    } else {
      const [tokenId, start] = Buffer.from(token, 'base64url').toString('utf8').split(':');
      id = tokenId ?? '';
      offset = Number(start);
      snapshot = this.#snapshots.get(id);
      if (!snapshot || !Number.isInteger(offset)) return undefined;
    }
    const end = limit === undefined ? snapshot.items.length : Math.min(snapshot.items.length, offset + limit);
    const items = snapshot.items.slice(offset, end);
    let continueToken: string | undefined;
    if (end < snapshot.items.length) {
      this.#snapshots.set(id, snapshot);
      continueToken = Buffer.from(`${id}:${end}`).toString('base64url');
    } else {
      this.#snapshots.delete(id);
    }
    return { items, resourceVersion: String(snapshot.rv), continueToken };
  }

  /** Forgets history and open paged lists: older resourceVersions and continue tokens get 410. */
  expire(): void {
    this.#oldestRv = this.#rv;
    this.#history = [];
    this.#snapshots.clear();
  }

  #commit(kind: KindName, type: ChangeType, object: StoredObject): HistoryEntry {
    this.#rv++;
    object.metadata.resourceVersion = String(this.#rv);
    let objects = this.#objects.get(kind);
    if (!objects) this.#objects.set(kind, (objects = new Map()));
    if (type === 'DELETED') objects.delete(keyOf(object));
    else objects.set(keyOf(object), object);
    const entry: HistoryEntry = { rv: this.#rv, kind, type, object };
    this.#history.push(entry);
    return entry;
  }
}

/** `namespace/name` for namespaced objects, `name` otherwise. */
export function keyOf(object: StoredObject): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}
