import type { NetConfig } from '../config/net-config.js';
import { formatIp4Net, ip4NetContainsNet, ip4NetsOverlap, maskIp4Net, type Ip4Net } from '../net/ip.js';
import { quoteValue } from '../bounded-text.js';
import { describeLease } from './lease-identity.js';
import type { Lease, SubnetManager } from './types.js';

/**
 * Lease validation at the edge: what a peer lease must satisfy before anything downstream (the
 * backend, the reconciler, HNS) sees it. The shared store is written by every node and by
 * operators, so a lease is foreign input: one junk key must never reach a route.
 * @module
 */

/** Why a peer lease is not used. Stable codes: /status and tests match on them. */
export type PeerLeaseProblemCode =
  | 'SUBNET_NOT_MASKED'
  | 'SUBNET_COVERS_NETWORK'
  | 'SUBNET_OUTSIDE_NETWORK'
  | 'SUBNET_OVERLAPS_OWN'
  | 'SUBNET_WRONG_LENGTH'
  | 'PUBLIC_IP_IS_OURS'
  | 'BACKEND_MISMATCH'
  | 'SUBNET_OVERLAPS_PEER';

export interface PeerLeaseProblem {
  readonly code: PeerLeaseProblemCode;
  /** One sentence for the operator, naming the lease (key or node) and what is wrong. */
  readonly reason: string;
}

/** What a peer lease is checked against: the cluster's network and this node's own lease. */
export interface PeerLeaseRules {
  /** net-conf's Network; undefined only for an IPv6-only config, where nothing is checked. */
  readonly network: Ip4Net | undefined;
  /** The prefix length every node subnet has. */
  readonly subnetLen: number;
  readonly ownSubnet: Ip4Net | undefined;
  readonly ownPublicIp: string;
  /** Our backend type (lower case): a peer of another type cannot be reached by it. */
  readonly backendType: string;
}

/**
 * The rules for this node. The node subnet length is net-conf's SubnetLen in etcd and local
 * mode (the allocator hands out exactly that length); in kube mode flannel ignores SubnetLen and
 * the controller manager gives every node the same podCIDR size, so our own podCIDR's length is
 * the one to expect.
 */
export function peerLeaseRules(input: {
  netConfig: Pick<NetConfig, 'network' | 'subnetLen' | 'backendType'>;
  ownLease: Pick<Lease, 'subnet' | 'attrs'>;
  storeKind: SubnetManager['kind'];
}): PeerLeaseRules {
  const { netConfig, ownLease } = input;
  const ownLen = ownLease.subnet?.prefixLen;
  const subnetLen = input.storeKind === 'kube' || netConfig.subnetLen === 0 ? (ownLen ?? netConfig.subnetLen) : netConfig.subnetLen;
  return {
    network: netConfig.network,
    subnetLen,
    ownSubnet: ownLease.subnet ? maskIp4Net(ownLease.subnet) : undefined,
    ownPublicIp: ownLease.attrs.publicIp,
    backendType: netConfig.backendType.toLowerCase(),
  };
}

/** True when `subnet` has host bits set (`10.244.7.5/24`). */
export function isUnmasked(subnet: Ip4Net): boolean {
  return maskIp4Net(subnet).ip !== subnet.ip;
}

/**
 * Checks one peer lease on its own (everything but the overlap with other peers, which
 * depends on what was accepted before: see PeerSubnetClaims). A lease without an IPv4 subnet
 * passes: the backend ignores it (Windows is IPv4 only). Returns undefined when it is usable.
 */
export function checkPeerLease(lease: Lease, rules: PeerLeaseRules): PeerLeaseProblem | undefined {
  const subnet = lease.subnet;
  if (subnet === undefined) return undefined;
  // The texts of a reason are built only for a lease that has a problem: most have none.
  const said = (what: string): string => `lease ${describeLease(lease)}: ${what}`;
  const text = (): string => formatIp4Net(subnet);
  if (isUnmasked(subnet)) {
    return { code: 'SUBNET_NOT_MASKED', reason: said(`subnet ${text()} has host bits set (the subnet would be ${formatIp4Net(maskIp4Net(subnet))}); skipped so it cannot take over another node's route`) };
  }
  const network = rules.network;
  if (network !== undefined) {
    if (ip4NetContainsNet(subnet, network)) {
      return { code: 'SUBNET_COVERS_NETWORK', reason: said(`subnet ${text()} covers the whole Network ${formatIp4Net(network)}; a node subnet must lie inside it`) };
    }
    if (!ip4NetContainsNet(network, subnet)) {
      return { code: 'SUBNET_OUTSIDE_NETWORK', reason: said(`subnet ${text()} is outside the Network ${formatIp4Net(network)}`) };
    }
  }
  if (rules.ownSubnet !== undefined && ip4NetsOverlap(subnet, rules.ownSubnet)) {
    return { code: 'SUBNET_OVERLAPS_OWN', reason: said(`subnet ${text()} overlaps this node's own subnet ${formatIp4Net(rules.ownSubnet)}`) };
  }
  if (subnet.prefixLen !== rules.subnetLen) {
    return { code: 'SUBNET_WRONG_LENGTH', reason: said(`subnet ${text()} is a /${subnet.prefixLen}, but node subnets are /${rules.subnetLen}`) };
  }
  if (lease.attrs.publicIp === rules.ownPublicIp) {
    return { code: 'PUBLIC_IP_IS_OURS', reason: said(`its PublicIP ${rules.ownPublicIp} is this node's own address`) };
  }
  if (lease.attrs.backendType.toLowerCase() !== rules.backendType) {
    return {
      code: 'BACKEND_MISMATCH',
      reason: said(`uses backend ${quoteValue(lease.attrs.backendType)}, but this node runs ${rules.backendType}; every node must use the Backend of the shared net-conf.json`),
    };
  }
  return undefined;
}

/**
 * Why the subnet allocator should not count a lease as taking space: a subnet no node could
 * have been given (host bits set, covering the whole Network, outside it). Such a key is junk;
 * counting it would block allocation (a `0.0.0.0-0` key covers everything). A block inside the
 * Network still counts whatever its length: it may be a node's subnet under an older SubnetLen,
 * and handing out an overlapping subnet would break both nodes.
 */
export function allocationIgnores(subnet: Ip4Net, network: Ip4Net): string | undefined {
  if (isUnmasked(subnet)) return `its subnet ${formatIp4Net(subnet)} has host bits set`;
  if (ip4NetContainsNet(subnet, network)) return `its subnet ${formatIp4Net(subnet)} covers the whole Network ${formatIp4Net(network)}`;
  if (!ip4NetContainsNet(network, subnet)) return `its subnet ${formatIp4Net(subnet)} is outside the Network ${formatIp4Net(network)}`;
  return undefined;
}
