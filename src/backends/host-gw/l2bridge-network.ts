import type { HostComputeEndpoint, HostComputeNetwork } from '../../hns/types.js';
import { SCHEMA_V2 } from '../../hns/types.js';
import { formatIp4, formatIp4Net, maskIp4Net, parseIp4, tryParseIp4, tryParseIp4Net, type Ip4Net } from '../../net/ip.js';

/**
 * The HNS objects flannel's Windows host-gw backend sets up (compat/flannel.md §7.2): one
 * L2Bridge network holding the node's pod subnet with the gateway at .1, and a bridge endpoint
 * `<name>_ep` at .2 attached to the host, through which the host reaches its own pods.
 * flannel speaks HNS v1; these are the HCN v2 equivalents. All functions here are pure.
 * @module
 */

export interface L2BridgeParams {
  /** HNS network name, net-conf `Backend.Name` (default "cbr0"). */
  name: string;
  /** The own lease's IPv4 subnet. */
  subnet: Ip4Net;
  /** The uplink adapter, so that `--iface` chooses it (HNS picks one itself otherwise). */
  adapterName: string;
  /** net-conf `Backend.DNSServerList`, split; omitted from the document when empty, as flannel does. */
  dnsServers?: readonly string[];
}

/** flannel passes `DNSServerList` ("10.96.0.10,10.96.0.11") through as text; HCN v2 wants a list. */
export function dnsServerListOf(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** `<network>_ep`, the bridge endpoint's name (flannel's naming; a restart finds it by it). */
export function bridgeEndpointName(networkName: string): string {
  return `${networkName}_ep`;
}

/** The subnet's gateway, .1 (subnet.IP + 1). */
export function gatewayAddress(subnet: Ip4Net): string {
  return formatIp4(maskIp4Net(subnet).ip + 1);
}

/** The bridge endpoint's address, .2 (subnet.IP + 2). */
export function bridgeEndpointAddress(subnet: Ip4Net): string {
  return formatIp4(maskIp4Net(subnet).ip + 2);
}

/**
 * The network document. HCN v2 has no GatewayAddress field: the gateway is the NextHop of the
 * subnet's default route, which hcsshim requires anyway. No Flags: flannel's v1 request sets
 * none, so the network survives a reboot like flannel's does.
 */
export function buildL2BridgeNetwork(p: L2BridgeParams): HostComputeNetwork {
  const subnet = maskIp4Net(p.subnet);
  const network: HostComputeNetwork = {
    Name: p.name,
    Type: 'L2Bridge',
    SchemaVersion: SCHEMA_V2,
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: formatIp4Net(subnet),
            Routes: [{ NextHop: gatewayAddress(subnet), DestinationPrefix: '0.0.0.0/0' }],
          },
        ],
      },
    ],
    Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: p.adapterName } }],
  };
  if (p.dnsServers && p.dnsServers.length > 0) network.Dns = { ServerList: [...p.dnsServers] };
  return network;
}

/** The bridge endpoint document for a network that exists (HNS assigned `networkId`). */
export function buildBridgeEndpoint(networkName: string, networkId: string, subnet: Ip4Net): HostComputeEndpoint {
  return {
    Name: bridgeEndpointName(networkName),
    HostComputeNetwork: networkId,
    IpConfigurations: [{ IpAddress: bridgeEndpointAddress(subnet), PrefixLength: subnet.prefixLen }],
    SchemaVersion: SCHEMA_V2,
  };
}

export type NetworkVerdict =
  /** Keep it: type and subnet match (notes list tolerated differences). */
  | { readonly action: 'adopt'; readonly notes: readonly string[] }
  /** Ours by name but wrong: delete it and create a new one. */
  | { readonly action: 'recreate'; readonly notes: readonly string[] }
  /** Not ours: never touch it. */
  | { readonly action: 'foreign'; readonly notes: readonly string[] };

/**
 * flannel's reuse rule: a network with our name whose type is L2Bridge and which has a subnet
 * equal to our lease (any of its subnets, as flannel checks) with the gateway at .1 is adopted.
 * Anything else with our name is ours and is recreated; a network with another name is never
 * deleted, whatever it holds.
 */
export function judgeExistingL2Bridge(existing: HostComputeNetwork, wanted: L2BridgeParams): NetworkVerdict {
  if (existing.Name !== wanted.name) {
    return { action: 'foreign', notes: [`network is named "${existing.Name}", not "${wanted.name}"`] };
  }
  // HNS omits Type for NAT networks (mode 0).
  const type = existing.Type ?? 'NAT';
  if (type !== 'L2Bridge') return { action: 'recreate', notes: [`type is ${type}, not L2Bridge`] };
  const want = maskIp4Net(wanted.subnet);
  const wantText = formatIp4Net(want);
  const gateway = gatewayAddress(want);
  const subnets = (existing.Ipams ?? []).flatMap((ipam) => ipam.Subnets ?? []);
  const seen: string[] = [];
  for (const subnet of subnets) {
    const parsed = subnet.IpAddressPrefix ? tryParseIp4Net(subnet.IpAddressPrefix) : undefined;
    seen.push(subnet.IpAddressPrefix ?? 'no prefix');
    if (!parsed || formatIp4Net(maskIp4Net(parsed)) !== wantText) continue;
    const defaultRoute = subnet.Routes?.find((r) => r.DestinationPrefix === '0.0.0.0/0');
    if (defaultRoute === undefined) {
      // HNS does not always echo the routes back; the prefix is what identifies the subnet.
      return { action: 'adopt', notes: [`subnet ${wantText} reports no default route; gateway ${gateway} assumed`] };
    }
    if (tryParseIp4(defaultRoute.NextHop) !== parseIp4(gateway)) {
      return { action: 'recreate', notes: [`subnet ${wantText} has gateway ${defaultRoute.NextHop}, not ${gateway}`] };
    }
    return { action: 'adopt', notes: [] };
  }
  return { action: 'recreate', notes: [`subnets are [${seen.join(', ')}], none is ${wantText}`] };
}

export type EndpointVerdict =
  | { readonly action: 'keep' }
  | { readonly action: 'recreate'; readonly reason: string };

/**
 * flannel reuses an existing `<name>_ep` when it has the .2 address; otherwise it is deleted and
 * created again. We also require it to sit on our network: an endpoint left on a network that
 * was since recreated cannot bridge the new one.
 */
export function judgeBridgeEndpoint(existing: HostComputeEndpoint, networkId: string, subnet: Ip4Net): EndpointVerdict {
  const wantIp = bridgeEndpointAddress(subnet);
  const ips = (existing.IpConfigurations ?? []).map((c) => c.IpAddress);
  if (!ips.some((ip) => tryParseIp4(ip) === parseIp4(wantIp))) {
    return { action: 'recreate', reason: `endpoint has address [${ips.join(', ')}], not ${wantIp}` };
  }
  if (existing.HostComputeNetwork !== undefined && existing.HostComputeNetwork.toLowerCase() !== networkId.toLowerCase()) {
    return { action: 'recreate', reason: `endpoint is on network ${existing.HostComputeNetwork}, not ${networkId}` };
  }
  return { action: 'keep' };
}
