/**
 * A local pod endpoint as the flannel CNI's Windows delegates create it through HCN v2
 * (sdnoverlay / win-overlay with apiVersion 2 for vxlan, sdnbridge for host-gw; the policies
 * come from the CNI config's `EndpointPolicy` entries: compat/install.md §1.1-1.3):
 * - OutBoundNAT with the cluster and service CIDRs as exceptions;
 * - SDNRoute to the service CIDR with NeedEncap;
 * - Overlay: ProviderAddress = the node's address (the network's ProviderAddress policy);
 *   L2Bridge: SDNRoute to the node's address /32 with NeedEncap;
 * - a default route via the subnet's gateway (.1 on Overlay, .2 on L2Bridge: sdnbridge's
 *   forceBridgeGateway points pods at flannel's `<net>_ep`).
 * The MAC is left to HNS, as sdnoverlay/sdnbridge do.
 * @module
 */
import { FlannelWinError } from '../errors.js';
import type { EndpointPolicy, HostComputeEndpoint, HostComputeNetwork } from '../hns/types.js';
import { formatIp4, ip4NetContainsIp, maskIp4Net, tryParseIp4, tryParseIp4Net } from '../net/ip.js';

export interface CniEndpointOptions {
  ip: string;
  name?: string | undefined;
  clusterCidr: string;
  serviceCidr: string;
  /** The node's address (the host's external interface); the network's ProviderAddress wins on Overlay. */
  nodeIp?: string | undefined;
}

export class CniEndpointError extends FlannelWinError {}

/** The HcnCreateEndpoint document for a pod at `options.ip` on `network`. */
export function cniEndpointDocument(network: HostComputeNetwork, options: CniEndpointOptions): HostComputeEndpoint {
  const ip = tryParseIp4(options.ip);
  if (ip === undefined) throw new CniEndpointError('SIM_ENDPOINT_INVALID', `--ip ${JSON.stringify(options.ip.slice(0, 64))} is not an IPv4 address`, { ip: options.ip.slice(0, 64) });
  const subnetText = network.Ipams?.[0]?.Subnets[0]?.IpAddressPrefix;
  const subnet = subnetText === undefined ? undefined : tryParseIp4Net(subnetText);
  if (!subnet) throw new CniEndpointError('SIM_ENDPOINT_INVALID', `network "${network.Name}" has no IPv4 subnet to put a pod in`, { network: network.Name });
  const masked = maskIp4Net(subnet);
  if (!ip4NetContainsIp(masked, ip)) {
    throw new CniEndpointError('SIM_ENDPOINT_INVALID', `--ip ${formatIp4(ip)} is outside the network's pod subnet ${subnetText}`, { ip: formatIp4(ip), network: network.Name, subnet: subnetText });
  }
  for (const [flag, cidr] of [['cluster-cidr', options.clusterCidr], ['service-cidr', options.serviceCidr]] as const) {
    if (!tryParseIp4Net(cidr)) throw new CniEndpointError('SIM_ENDPOINT_INVALID', `--${flag} ${JSON.stringify(cidr.slice(0, 64))} is not an IPv4 CIDR`, { flag, value: cidr.slice(0, 64) });
  }
  const overlay = network.Type === 'Overlay';
  const nodeIp = providerAddressOf(network) ?? options.nodeIp;
  const policies: EndpointPolicy[] = [
    { Type: 'OutBoundNAT', Settings: { Exceptions: [options.serviceCidr, options.clusterCidr] } },
    { Type: 'SDNRoute', Settings: { DestinationPrefix: options.serviceCidr, NeedEncap: true } },
  ];
  if (nodeIp !== undefined) {
    policies.push(overlay
      ? { Type: 'ProviderAddress', Settings: { ProviderAddress: nodeIp } }
      : { Type: 'SDNRoute', Settings: { DestinationPrefix: `${nodeIp}/32`, NeedEncap: true } });
  }
  const gateway = formatIp4((masked.ip + (overlay ? 1 : 2)) >>> 0);
  return {
    SchemaVersion: { Major: 2, Minor: 0 },
    Name: options.name ?? `${formatIp4(ip)}_${network.Name}`,
    HostComputeNetwork: network.ID,
    IpConfigurations: [{ IpAddress: formatIp4(ip), PrefixLength: masked.prefixLen }],
    Routes: [{ NextHop: gateway, DestinationPrefix: '0.0.0.0/0' }],
    Policies: policies,
  };
}

/** The node address HNS records on an Overlay network (its ProviderAddress policy). */
function providerAddressOf(network: HostComputeNetwork): string | undefined {
  for (const p of network.Policies ?? []) {
    if (p.Type === 'ProviderAddress') {
      const pa = (p.Settings as { ProviderAddress?: unknown }).ProviderAddress;
      if (typeof pa === 'string') return pa;
    }
  }
  return undefined;
}
