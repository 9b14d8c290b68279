/**
 * The order `/status` lists peers in: their identities as a numeric collation orders them
 * ("10.2.0.0/24" before "10.10.0.0/24", node names after addresses).
 * @module
 */
import { leaseIdentity } from '../lease/lease-identity.js';
import type { Lease } from '../lease/types.js';

/** A lease with the identity it is listed under. */
export interface IdentifiedLease {
  readonly lease: Lease;
  readonly identity: string;
}

/**
 * Sorts the leases by identity. An IPv4-only subnet compares by its number, which is the order
 * the numeric collation gives its dotted text, at a fraction of the cost; anything else (node
 * names, dual stack) goes through one collator (localeCompare with options builds one per
 * comparison: ~0.5 s for 20,000 peers).
 */
export function sortPeersForStatus(leases: Iterable<Lease>): IdentifiedLease[] {
  const collator = new Intl.Collator('en', { numeric: true });
  const items = Array.from(leases, (lease) => ({
    lease,
    identity: leaseIdentity(lease),
    number: lease.nodeName === undefined && lease.subnet !== undefined && lease.ipv6Subnet === undefined ? (lease.subnet.ip >>> 0) * 64 + lease.subnet.prefixLen : undefined,
  }));
  items.sort((a, b) => (a.number !== undefined && b.number !== undefined ? a.number - b.number : collator.compare(a.identity, b.identity)));
  return items.map(({ lease, identity }) => ({ lease, identity }));
}
