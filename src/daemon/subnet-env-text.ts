import type { NetConfig } from '../config/net-config.js';
import { formatSubnetEnv } from '../lease/subnet-env.js';
import type { Lease } from '../lease/types.js';

/**
 * The subnet.env text the daemon writes once its network is registered: the net-conf's
 * networks, the lease's subnets (each only where that family is enabled), the backend's MTU and
 * --ip-masq. `plan` compares the file with the same text.
 */
export function subnetEnvText(netConfig: NetConfig, lease: Pick<Lease, 'enableIpv4' | 'enableIpv6' | 'subnet' | 'ipv6Subnet'>, mtu: number, ipMasq: boolean): string {
  return formatSubnetEnv({
    network: netConfig.enableIpv4 ? netConfig.network : undefined,
    subnet: lease.enableIpv4 ? lease.subnet : undefined,
    ipv6Network: netConfig.enableIpv6 ? netConfig.ipv6Network : undefined,
    ipv6Subnet: lease.enableIpv6 ? lease.ipv6Subnet : undefined,
    mtu,
    ipMasq,
  });
}
