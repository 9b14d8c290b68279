import { retryWithBackoff } from '../../async/retry.js';
import type { LeaseAttrs, LeaseRequest } from '../../lease/types.js';
import { formatIp4Net, type Ip4Net } from '../../net/ip.js';
import type { Backend, BackendContext, BackendNetwork, BackendPreview, BackendTimings, NetworkInspection, NetworkRepair, PlannedWrite } from '../backend.js';
import { DEFAULT_BACKEND_TIMINGS } from '../backend.js';
import { encodeVxlanBackendData } from './backend-data.js';
import { parseVxlanConfig } from './config.js';
import { OverlayNetworkKeeper, VxlanSetupError, type OverlayState } from './overlay-keeper.js';
import { drMacOf, hasHostRoute, judgeExistingOverlay, providerAddressOf, type OverlayNetworkParams } from './overlay-network.js';
import { RemoteSubnetRouteKind, type ActualRemoteRoute } from './remote-subnet-route-kind.js';
import { decidePeerRoute, type RemoteSubnetRouteSpec } from './remote-subnet-route.js';

export { VxlanSetupError } from './overlay-keeper.js';

/** VXLAN adds 50 bytes (outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8). */
export const VXLAN_OVERHEAD = 50;

/**
 * flannel's Windows vxlan backend: one HNS Overlay network (VSID = VNI), our lease advertising
 * the network's DR MAC as VtepMAC, and one RemoteSubnetRoute policy per peer (applied by the
 * reconciler through RemoteSubnetRouteKind). The network is kept, not just created: `inspect`
 * and `repair` let the daemon recreate it when HNS loses it.
 */
export class VxlanBackend implements Backend {
  readonly type = 'vxlan';
  private readonly timings: BackendTimings;

  constructor(private readonly ctx: BackendContext) {
    this.timings = { ...DEFAULT_BACKEND_TIMINGS, ...ctx.timings };
  }

  async register(signal: AbortSignal): Promise<BackendNetwork<RemoteSubnetRouteSpec, ActualRemoteRoute>> {
    const { hns, routes, subnetManager, external } = this.ctx;
    const config = parseVxlanConfig(this.ctx.netConfig.backend);
    const log = this.ctx.log.child({ backend: 'vxlan', network: config.name, vni: config.vni });
    for (const field of config.ignored) log.warn({ field }, `net-conf Backend.${field} has no effect on Windows; ignored`);

    const attrsWith = (vtepMac: string): LeaseAttrs => ({
      publicIp: external.extAddr,
      publicIpv6: null,
      backendType: 'vxlan',
      backendData: encodeVxlanBackendData({ vni: config.vni, vtepMac }),
      backendV6Data: undefined,
    });
    const acquire = (request: LeaseRequest) =>
      retryWithBackoff(() => subnetManager.acquireLease(request, signal), { signal, log, what: 'acquire subnet lease' });

    // On a restart the network (and so the DR MAC) usually exists already: publishing it in the
    // first lease avoids flannel's brief MAC-less lease, which peers cannot use.
    const existing = await hns.getNetworkByName(config.name);
    const knownMac = existing && existing.Type === 'Overlay' ? drMacOf(existing) : undefined;
    let request: LeaseRequest = { attrs: attrsWith(knownMac ?? ''), ...this.ctx.previous };
    let lease = await acquire(request);
    if (!lease.subnet) throw new VxlanSetupError('VXLAN_NO_IPV4', 'the lease has no IPv4 subnet; Windows vxlan is IPv4-only', {});
    const params: OverlayNetworkParams = { name: config.name, subnet: lease.subnet, vni: config.vni, adapterName: external.iface.name };
    log.info({ subnet: formatIp4Net(lease.subnet), publicIp: external.extAddr }, 'subnet lease acquired');

    const keeper = new OverlayNetworkKeeper({ hns, routes, external, params, timings: this.timings, log });
    let state: OverlayState = (await keeper.ensure(signal)).state;
    if (state.drMac !== knownMac) {
      request = { attrs: attrsWith(state.drMac), previousSubnet: lease.subnet };
      lease = await acquire(request);
      if (!lease.subnet || formatIp4Net(lease.subnet) !== formatIp4Net(params.subnet)) {
        throw new VxlanSetupError('VXLAN_SUBNET_MOVED', 'the lease moved to another subnet while the network was being created', {
          wanted: formatIp4Net(params.subnet),
        });
      }
    }
    log.info({ vtepMac: state.drMac, networkId: state.networkId }, 'publishing the HNS DR MAC as VtepMAC');

    const mtu = state.interfaceMtu - VXLAN_OVERHEAD;
    const network: BackendNetwork<RemoteSubnetRouteSpec, ActualRemoteRoute> = {
      backendType: 'vxlan',
      writesTo: 'hns',
      lease,
      leaseRequest: request,
      mtu,
      kind: new RemoteSubnetRouteKind(hns, () => state.networkId),
      decide: decidePeerRoute,
      describe: () => ({ network: config.name, networkId: state.networkId, vni: config.vni, vtepMac: state.drMac, managementIp: state.managementIp, mtu }),
      inspect: (): Promise<NetworkInspection> => keeper.inspect(state),
      repair: async (repairSignal): Promise<NetworkRepair> => {
        const before = state;
        const result = await keeper.ensure(repairSignal);
        state = result.state;
        const repaired = [...result.repaired];
        let leaseRequest: LeaseRequest | undefined;
        if (state.drMac !== before.drMac) {
          // Peers address our pods by the VtepMAC in our lease: a new network has a new DR MAC.
          leaseRequest = { attrs: attrsWith(state.drMac), previousSubnet: params.subnet };
          network.leaseRequest = leaseRequest;
          repaired.push(`VtepMAC ${before.drMac} -> ${state.drMac}`);
        }
        if (result.created) repaired.unshift(`network ${config.name} recreated as ${state.networkId}`);
        return { recreated: result.created, leaseRequest, peersChanged: false, repaired };
      },
    };
    return network;
  }

  async preview(ownSubnet: Ip4Net): Promise<BackendPreview> {
    const { hns, routes, external } = this.ctx;
    const config = parseVxlanConfig(this.ctx.netConfig.backend);
    const params: OverlayNetworkParams = { name: config.name, subnet: ownSubnet, vni: config.vni, adapterName: external.iface.name };
    const wanted = [`Type: Overlay`, `subnet: ${formatIp4Net(ownSubnet)}`, `VSID: ${config.vni}`, `adapter: ${external.iface.name}`];
    const existing = await hns.getNetworkByName(config.name);
    const networkId = existing?.ID ?? '';
    const base = {
      decide: decidePeerRoute,
      leaseAttrs: { publicIp: external.extAddr, backendType: 'vxlan' },
      kind: new RemoteSubnetRouteKind(hns, () => networkId),
      // A new vSwitch keeps the adapter's MTU and its address (the provider address).
      mtu: external.iface.mtu - VXLAN_OVERHEAD,
      describe: () => ({ network: config.name, vni: config.vni, managementIp: external.ifaceAddr }),
    };
    if (!existing) return { ...base, networkExists: false, networkWrites: [{ kind: 'network', key: config.name, op: 'create', fields: wanted }] };
    const verdict = judgeExistingOverlay(existing, params);
    if (!verdict.adopt) return { ...base, networkExists: false, networkWrites: [{ kind: 'network', key: config.name, op: 'replace', fields: [...verdict.notes, ...wanted] }] };
    const networkWrites: PlannedWrite[] = hasHostRoute(existing) ? [] : [{ kind: 'network-policy', key: `${config.name}/HostRoute`, op: 'create', fields: ['Type: HostRoute'] }];
    const drMac = drMacOf(existing);
    // As OverlayNetworkKeeper.ensure finds them for an adopted network.
    const managementIp = providerAddressOf(existing) ?? external.ifaceAddr;
    const iface = (await routes.listInterfaces()).find((i) => i.up && i.ipv4Addresses.includes(managementIp)) ?? external.iface;
    const mtu = iface.mtu - VXLAN_OVERHEAD;
    return {
      ...base,
      networkExists: true,
      networkWrites,
      mtu,
      describe: () => ({ network: config.name, networkId, vni: config.vni, vtepMac: drMac, managementIp, mtu }),
      leaseAttrs: { ...base.leaseAttrs, ...(drMac ? { backendData: encodeVxlanBackendData({ vni: config.vni, vtepMac: drMac }) } : {}) },
    };
  }
}
