import { describeLease } from '../../lease/lease-identity.js';
import type { Lease } from '../../lease/types.js';
import { formatIp4, formatIp4Net, ip4NetContainsIp, maskIp4Net, tryParseIp4, tryParseIp4Net, type Ip4Net } from '../../net/ip.js';
import type { HostRoute, NetInterface } from '../../routes/route-table.js';
import type { PeerDecision } from '../backend.js';

/**
 * One peer's route: `<peer subnet> via <peer PublicIP>` on the bridge's vEthernet interface
 * (compat/flannel.md §7.2 step 6). Normalised so that equal routes compare equal.
 */
export interface HostRouteSpec {
  /** Masked peer subnet, e.g. "10.244.2.0/24"; also the reconciler key. */
  destination: string;
  /** The peer's PublicIP in dotted-quad form. */
  nextHop: string;
  interfaceIndex: number;
}

export interface HostRouteContext {
  /** The interface routes go on: the vEthernet adapter holding the management IP. */
  interfaceIndex: number;
  /**
   * The IPv4 prefixes of our L2 segment (on-link prefixes of that interface). Empty when the
   * route table did not show any: then no peer is judged off-segment, as flannel never checks.
   */
  segments: readonly Ip4Net[];
}

/**
 * Decides what host-gw needs for one peer lease (pure). Backend types compare case-insensitively,
 * as flannel's Windows backend does. A host-gw peer whose PublicIP is not on our segment cannot be
 * reached by a plain next hop (Windows would drop the route or send it to the default gateway,
 * which does not know pod subnets), so it is reported instead of programmed.
 */
export function decidePeerRoute(lease: Lease, ctx: HostRouteContext): PeerDecision<HostRouteSpec> {
  const key = lease.subnet ? formatIp4Net(maskIp4Net(lease.subnet)) : '';
  // Named in a reason only; most leases need none.
  const who = (): string => describeLease(lease);
  if (!lease.subnet) return { kind: 'ignore', key, reason: `lease ${who()} has no IPv4 subnet (Windows is IPv4-only)` };
  if (lease.attrs.backendType.toLowerCase() !== 'host-gw') {
    return { kind: 'ignore', key, reason: `lease ${who()} uses backend "${lease.attrs.backendType}", not host-gw` };
  }
  const hop = tryParseIp4(lease.attrs.publicIp);
  if (hop === undefined || hop === 0) {
    return { kind: 'unusable', key, code: 'BAD_PUBLIC_IP', reason: `host-gw peer ${who()} has no usable IPv4 PublicIP ("${lease.attrs.publicIp}")` };
  }
  if (ctx.segments.length > 0 && !ctx.segments.some((segment) => ip4NetContainsIp(segment, hop))) {
    const node = lease.nodeName ?? lease.attrs.publicIp;
    return {
      kind: 'unusable',
      key,
      code: 'PEER_NOT_ON_SEGMENT',
      reason:
        `host-gw peer ${node} (PublicIP ${lease.attrs.publicIp}, subnet ${key}) is not on this node's L2 segment ` +
        `[${ctx.segments.map(formatIp4Net).join(', ')}]: host-gw needs every node on one L2 network; ` +
        `use the vxlan backend for nodes on different segments`,
    };
  }
  return { kind: 'route', key, spec: { destination: key, nextHop: formatIp4(hop), interfaceIndex: ctx.interfaceIndex } };
}

/**
 * The IPv4 prefixes an interface is on-link for, from the host's route table: for each of its
 * addresses, the on-link route (next hop 0.0.0.0) on that interface that contains the address,
 * with the shortest prefix between /1 and /31 (Windows also lists /32 host and broadcast routes
 * there, and a 0.0.0.0/0 on-link route says nothing about the segment). NetInterface carries
 * addresses without prefix lengths, so this is the only place the length can come from.
 */
export function segmentsOf(iface: NetInterface, routes: readonly HostRoute[]): Ip4Net[] {
  const onLink = routes
    .filter((r) => r.interfaceIndex === iface.index && tryParseIp4(r.nextHop) === 0)
    .map((r) => tryParseIp4Net(r.destination))
    .filter((net): net is Ip4Net => net !== undefined && net.prefixLen > 0 && net.prefixLen < 32)
    .map(maskIp4Net);
  const segments = new Map<string, Ip4Net>();
  for (const address of iface.ipv4Addresses) {
    const ip = tryParseIp4(address);
    if (ip === undefined) continue;
    const widest = onLink
      .filter((net) => ip4NetContainsIp(net, ip))
      .sort((a, b) => a.prefixLen - b.prefixLen)[0];
    if (widest) segments.set(formatIp4Net(widest), widest);
  }
  return [...segments.values()];
}

export function sameHostRoute(a: Pick<HostRouteSpec, 'destination' | 'nextHop' | 'interfaceIndex'>, b: Pick<HostRouteSpec, 'destination' | 'nextHop' | 'interfaceIndex'>): boolean {
  return a.destination === b.destination && a.nextHop === b.nextHop && a.interfaceIndex === b.interfaceIndex;
}
