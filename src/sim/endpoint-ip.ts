import type { HostComputeNetwork, IpConfig } from '../hns/types.js';
import { formatIp4, ip4NetSize, maskIp4Net, tryParseIp4, tryParseIp4Net } from '../net/ip.js';

/**
 * HNS's IPAM for a local endpoint created without an address: the first free address of the
 * network's first static IPv4 subnet, skipping the network address, the gateway (the default
 * route's NextHop) and the broadcast address. undefined when the network has no such subnet or
 * it is full (the endpoint is then created without an address, as on an IPAM-less network).
 */
export function allocateEndpointIp(network: HostComputeNetwork, inUse: ReadonlyMap<string, string>): IpConfig | undefined {
  for (const ipam of network.Ipams ?? []) {
    for (const subnet of ipam.Subnets) {
      const parsed = subnet.IpAddressPrefix === undefined ? undefined : tryParseIp4Net(subnet.IpAddressPrefix);
      if (!parsed) continue;
      const net = maskIp4Net(parsed);
      const gateways = new Set((subnet.Routes ?? []).map((r) => tryParseIp4(r.NextHop)).filter((n) => n !== undefined));
      const size = ip4NetSize(net);
      for (let offset = 1; offset < size - 1; offset++) {
        const ip = (net.ip + offset) >>> 0;
        if (gateways.has(ip) || inUse.has(formatIp4(ip))) continue;
        return { IpAddress: formatIp4(ip), PrefixLength: net.prefixLen };
      }
    }
  }
  return undefined;
}
