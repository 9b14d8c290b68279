import { quoteValue } from '../bounded-text.js';
import { formatIp4Net, formatIp6Net } from '../net/ip.js';
import type { Lease, LeaseAttrs } from './types.js';

/**
 * The identity of a lease: where it lives in the store. In kube mode that is the node (one node,
 * one lease, whatever its podCIDR says); in etcd and local mode it is the subnet key exactly as
 * written, host bits included, so `10.244.7.5-24` and `10.244.7.0-24` are two leases and neither
 * can stand in for the other. Which lease may use a subnet is decided later, at the edge
 * (peer-lease-claims), never by two leases sharing an identity.
 */
export function leaseIdentity(lease: Pick<Lease, 'subnet' | 'ipv6Subnet' | 'nodeName'>): string {
  return lease.nodeName !== undefined ? `node/${lease.nodeName}` : leaseSubnets(lease);
}

/** The lease's subnet(s) as the store holds them: "10.244.2.0/24", or "v4&v6" in dual stack. */
export function leaseSubnets(lease: Pick<Lease, 'subnet' | 'ipv6Subnet'>): string {
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

/**
 * A short label for logs: "10.244.2.0/24 (node-b, 10.0.0.12)". The subnet is shown as the store
 * holds it (host bits included); a node name, which a peer chooses, is bounded.
 */
export function describeLease(lease: Lease): string {
  const subnets = leaseSubnets(lease);
  const node = lease.nodeName === undefined ? undefined : lease.nodeName.length <= 253 ? lease.nodeName : quoteValue(lease.nodeName, 253);
  const who = [node, lease.attrs.publicIp].filter((x) => x).join(', ');
  return `${subnets}${who ? ` (${who})` : ''}`;
}
