/**
 * What differs between the vxlan and the host-gw demo: the net-conf, the lease a Linux node
 * writes, what the Windows host holds per peer, and how a peer changes or is misconfigured.
 */
import { leaseValue } from '../src/lease/local/lease-file.js';
import type { SimStateDocument } from '../src/sim/state-file.js';
import { remoteSubnetRoutes } from '../src/sim/state-view.js';

export interface DemoPeer {
  name: string;
  subnet: string;
  publicIp: string;
  vtepMac: string;
  vni?: number;
}

export interface DemoBackend {
  name: 'vxlan' | 'host-gw';
  netConf: unknown;
  title: string;
  leaseOf(peer: DemoPeer): unknown;
  /** destination → the detail a change alters (VtepMAC or next hop). */
  programmed(state: SimStateDocument): Map<string, string>;
  describe(state: SimStateDocument): string[];
  networkLine(state: SimStateDocument): string;
  change: { what: string; apply(peer: DemoPeer): { peer: DemoPeer; detail: string }; note: string };
  misconfigured: { what: string; peer(base: DemoPeer): DemoPeer };
  /** Removes the peer's entry from the host, as someone with hnsdiag or route.exe would. */
  drift(state: SimStateDocument, subnet: string): void;
  burstNote(n: number): string;
}

const mac = (m: string) => m.toLowerCase().replaceAll('-', ':');

export const VXLAN_DEMO: DemoBackend = {
  name: 'vxlan',
  netConf: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } },
  title: 'vxlan, VNI 4096, port 4789, Network 10.244.0.0/16',
  leaseOf: (p) => leaseValue({ publicIp: p.publicIp, publicIpv6: null, backendType: 'vxlan', backendData: JSON.stringify({ VNI: p.vni ?? 4096, VtepMAC: p.vtepMac }), backendV6Data: undefined }),
  programmed: (state) => new Map(remoteSubnetRoutes(state, 'flannel.4096').map((r) => [r.DestinationPrefix, mac(r.DistributedRouterMacAddress)])),
  describe: (state) =>
    remoteSubnetRoutes(state, 'flannel.4096')
      .sort((a, b) => a.DestinationPrefix.localeCompare(b.DestinationPrefix))
      .map((r) => `RemoteSubnetRoute ${r.DestinationPrefix.padEnd(15)} via ${r.ProviderAddress.padEnd(13)} VNI ${r.IsolationId}  MAC ${mac(r.DistributedRouterMacAddress)}`),
  networkLine: (state) => {
    const network = state.networks.find((n) => n.Name === 'flannel.4096');
    const drMac = (network?.Policies ?? []).find((p) => p.Type === 'DrMacAddress')?.Settings as { Address: string } | undefined;
    return `HNS network flannel.4096 (Overlay, VSID 4096) with DR MAC ${drMac?.Address}, published as our VtepMAC`;
  },
  change: {
    what: 're-creates its vxlan device (new VtepMAC)',
    apply: (p) => ({ peer: { ...p, vtepMac: '52:a1:ff:ff:00:01' }, detail: '52:a1:ff:ff:00:01' }),
    note: 'HNS has no in-place update of a policy: remove + add',
  },
  misconfigured: { what: "still on flannel's Linux defaults (VNI 1)", peer: (p) => ({ ...p, name: 'linux-misconfigured', vni: 1 }) },
  drift: (state, subnet) => {
    const net = state.networks.find((n) => n.Name === 'flannel.4096')!;
    net.Policies = (net.Policies ?? []).filter((p) => !(p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix: string }).DestinationPrefix === subnet));
  },
  burstNote: (n) => `flannel: ${2 * n}, one remove and one add per peer`,
};

export const HOST_GW_DEMO: DemoBackend = {
  name: 'host-gw',
  netConf: { Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } },
  title: 'host-gw, Network 10.244.0.0/16, every node on 192.168.1.0/24',
  leaseOf: (p) => leaseValue({ publicIp: p.publicIp, publicIpv6: null, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined }),
  programmed: (state) => new Map(state.routes.filter((r) => r.destination.startsWith('10.244.')).map((r) => [r.destination, r.nextHop])),
  describe: (state) =>
    state.routes
      .filter((r) => r.destination.startsWith('10.244.'))
      .sort((a, b) => a.destination.localeCompare(b.destination))
      .map((r) => `route ${r.destination.padEnd(15)} via ${r.nextHop.padEnd(13)} on interface ${r.interfaceIndex}`),
  networkLine: (state) => {
    const ep = state.endpoints.find((e) => e.Name === 'cbr0_ep');
    return `HNS network cbr0 (L2Bridge) with host endpoint cbr0_ep at ${ep?.IpConfigurations?.[0]?.IpAddress ?? '?'}`;
  },
  change: {
    what: 'moves to another address on the segment',
    apply: (p) => ({ peer: { ...p, publicIp: '192.168.1.250' }, detail: '192.168.1.250' }),
    note: 'a route cannot change its next hop: delete + add',
  },
  misconfigured: { what: 'sits behind a router (10.9.9.9, not on our L2 segment)', peer: (p) => ({ ...p, name: 'far-away', publicIp: '10.9.9.9' }) },
  drift: (state, subnet) => {
    state.routes = state.routes.filter((r) => r.destination !== subnet);
  },
  burstNote: (n) => `one CreateIpForwardEntry2 each; flannel: ${n} PowerShell processes`,
};
