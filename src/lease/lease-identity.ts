import { formatIp4Net, formatIp6Net } from '../net/ip.js';
import type { Lease, LeaseAttrs } from './types.js';

/**
 * The identity of a lease in the cluster: its subnet(s). Two leases with the same identity are
 * the same peer slot, whatever their attributes. Matches flannel's matching by IPv4 subnet, IPv6
 * subnet or both.
 */
export function leaseIdentity(lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>): string {
  const v4 = lease.subnet ? formatIp4Net(lease.subnet) : '';
  const v6 = lease.ipv6Subnet ? formatIp6Net(lease.ipv6Subnet) : '';
  return v6 ? `${v4}&${v6}` : v4;
}

export function sameAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return (
    a.publicIp === b.publicIp &&
    a.publicIpv6 === b.publicIpv6 &&
    a.backendType === b.backendType &&
    a.backendData === b.backendData &&
    a.backendV6Data === b.backendV6Data
  );
}

/** A short label for logs: "10.244.2.0/24 (node-b, 10.0.0.12)". */
export function describeLease(lease: Lease): string {
  const who = [lease.nodeName, lease.attrs.publicIp].filter((x) => x).join(', ');
  return `${leaseIdentity(lease)}${who ? ` (${who})` : ''}`;
}
