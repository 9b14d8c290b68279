import { leaseIdentity, sameAttrs } from './lease-identity.js';
import type { Lease, LeaseEvent, LeaseWatchResult } from './types.js';

/**
 * A peer lease added, changed or removed. `identity` is the watcher's key for it
 * (leaseIdentity), handed on so that the text is computed and held once per peer; a consumer
 * computes it when a change comes without one.
 */
export type PeerChange =
  | { readonly type: 'added'; readonly lease: Lease; readonly identity?: string }
  | { readonly type: 'changed'; readonly lease: Lease; readonly previous: Lease; readonly identity?: string }
  | { readonly type: 'removed'; readonly lease: Lease; readonly identity?: string };

/**
 * Turns what a subnet manager yields (snapshots and events) into peer changes against what is
 * already known, filtering out the node's own lease. Leases are known by their identity (the
 * node in kube mode, the subnet key as written otherwise), never by a subnet two leases could
 * share; whether a lease may use its subnet is decided downstream (PeerDesiredState).
 *
 * Differences from flannel's LeaseWatcher, on purpose:
 * - a snapshot whose lease has different attributes than the known one is reported as
 *   `changed` (flannel reports nothing, so a change made during a watch gap is lost);
 * - an `added` event for a known lease with identical attributes (a renewal, an unchanged
 *   re-announcement) is reported as nothing at all, so it causes no dataplane work;
 * - an empty snapshot is only ever a real empty store: managers skip unparseable records
 *   instead of yielding an empty result, so one bad record cannot remove every peer.
 *
 * Work per event is proportional to the event; only a snapshot walks the whole set.
 */
export class LeaseWatcher {
  private readonly known = new Map<string, Lease>();
  private ownIdentity: string;

  constructor(ownLease: Pick<Lease, 'subnet' | 'ipv6Subnet' | 'nodeName'>) {
    this.ownIdentity = leaseIdentity(ownLease);
  }

  /** The own lease changed (re-acquired on another subnet): stop filtering the old one. */
  setOwnLease(ownLease: Pick<Lease, 'subnet' | 'ipv6Subnet' | 'nodeName'>): PeerChange[] {
    this.ownIdentity = leaseIdentity(ownLease);
    const own = this.known.get(this.ownIdentity);
    if (!own) return [];
    this.known.delete(this.ownIdentity);
    return [{ type: 'removed', lease: own, identity: this.ownIdentity }];
  }

  peers(): IterableIterator<Lease> {
    return this.known.values();
  }

  get size(): number {
    return this.known.size;
  }

  apply(result: LeaseWatchResult): PeerChange[] {
    return result.kind === 'snapshot' ? this.reset(result.leases) : this.update(result.events);
  }

  private reset(leases: readonly Lease[]): PeerChange[] {
    const changes: PeerChange[] = [];
    const seen = new Set<string>();
    for (const lease of leases) {
      const id = leaseIdentity(lease);
      if (id === this.ownIdentity) continue;
      seen.add(id);
      changes.push(...this.upsert(id, lease));
    }
    for (const [id, lease] of this.known) {
      if (!seen.has(id)) {
        this.known.delete(id);
        changes.push({ type: 'removed', lease, identity: id });
      }
    }
    return changes;
  }

  private update(events: readonly LeaseEvent[]): PeerChange[] {
    const changes: PeerChange[] = [];
    for (const event of events) {
      const id = leaseIdentity(event.lease);
      if (id === this.ownIdentity) continue;
      if (event.type === 'added') {
        changes.push(...this.upsert(id, event.lease));
      } else {
        const stored = this.known.get(id);
        if (!stored) continue;
        this.known.delete(id);
        // A removal carries only the subnet; the peer's last attributes come from the cache so
        // that the backend can remove exactly what it programmed.
        changes.push({ type: 'removed', lease: stored, identity: id });
      }
    }
    return changes;
  }

  private upsert(id: string, lease: Lease): PeerChange[] {
    const previous = this.known.get(id);
    this.known.set(id, lease);
    if (!previous) return [{ type: 'added', lease, identity: id }];
    if (sameAttrs(previous.attrs, lease.attrs)) return [];
    return [{ type: 'changed', lease, previous, identity: id }];
  }
}
