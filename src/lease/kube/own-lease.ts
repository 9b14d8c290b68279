import type { NetConfig } from '../../config/net-config.js';
import type { Lease, LeaseAttrs } from '../types.js';
import type { OwnSubnets } from './own-node.js';

/** Backends whose families follow net-conf; flannel forces every other type to IPv4 only. */
const DUAL_STACK_BACKENDS = new Set(['vxlan', 'host-gw', 'wireguard']);

/**
 * The lease the own node holds in kube mode. It never expires (flannel sets now + 24 h and
 * never looks at it again), so `expiration` is undefined.
 */
export function ownLease(nodeName: string, subnets: OwnSubnets, attrs: LeaseAttrs, config: NetConfig): Lease {
  const followsConfig = DUAL_STACK_BACKENDS.has(attrs.backendType);
  const enableIpv4 = followsConfig ? config.enableIpv4 : true;
  const enableIpv6 = followsConfig ? config.enableIpv6 : false;
  return {
    enableIpv4,
    enableIpv6,
    subnet: enableIpv4 ? subnets.ipv4 : undefined,
    ipv6Subnet: enableIpv6 ? subnets.ipv6 : undefined,
    attrs,
    expiration: undefined,
    nodeName,
  };
}
