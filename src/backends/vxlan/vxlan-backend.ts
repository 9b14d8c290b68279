import { retryWithBackoff } from '../../async/retry.js';
import { sleep } from '../../async/abortable-sleep.js';
import { FlannelWinError } from '../../errors.js';
import type { HostComputeNetwork } from '../../hns/types.js';
import type { LeaseAttrs, LeaseRequest } from '../../lease/types.js';
import { formatIp4Net } from '../../net/ip.js';
import type { Backend, BackendContext, BackendNetwork, BackendTimings } from '../backend.js';
import { DEFAULT_BACKEND_TIMINGS } from '../backend.js';
import { waitForInterfaceWithIp } from '../wait-for-interface.js';
import { encodeVxlanBackendData } from './backend-data.js';
import { parseVxlanConfig } from './config.js';
import {
  buildOverlayNetwork,
  drMacOf,
  hasHostRoute,
  judgeExistingOverlay,
  providerAddressOf,
  type OverlayNetworkParams,
} from './overlay-network.js';
import { RemoteSubnetRouteKind, type ActualRemoteRoute } from './remote-subnet-route-kind.js';
import { decidePeerRoute, type RemoteSubnetRouteSpec } from './remote-subnet-route.js';

/** VXLAN adds 50 bytes (outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8). */
export const VXLAN_OVERHEAD = 50;

export class VxlanSetupError extends FlannelWinError {}

/**
 * flannel's Windows vxlan backend: one HNS Overlay network (VSID = VNI), our lease advertising
 * the network's DR MAC as VtepMAC, and one RemoteSubnetRoute policy per peer (applied by the
 * reconciler through RemoteSubnetRouteKind).
 */
export class VxlanBackend implements Backend {
  readonly type = 'vxlan';
  private readonly timings: BackendTimings;

  constructor(private readonly ctx: BackendContext) {
    this.timings = { ...DEFAULT_BACKEND_TIMINGS, ...ctx.timings };
  }

  async register(signal: AbortSignal): Promise<BackendNetwork<RemoteSubnetRouteSpec, ActualRemoteRoute>> {
    const { hns, subnetManager, external } = this.ctx;
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
    let network: HostComputeNetwork | undefined = await hns.getNetworkByName(config.name);
    const knownMac = network && network.Type === 'Overlay' ? drMacOf(network) : undefined;
    let request: LeaseRequest = { attrs: attrsWith(knownMac ?? ''), ...this.ctx.previous };
    let lease = await acquire(request);
    if (!lease.subnet) throw new VxlanSetupError('VXLAN_NO_IPV4', 'the lease has no IPv4 subnet; Windows vxlan is IPv4-only', {});
    const params: OverlayNetworkParams = { name: config.name, subnet: lease.subnet, vni: config.vni, adapterName: external.iface.name };
    log.info({ subnet: formatIp4Net(lease.subnet), publicIp: external.extAddr }, 'subnet lease acquired');

    if (network) {
      const verdict = judgeExistingOverlay(network, params);
      if (verdict.adopt) {
        log.info({ networkId: network.ID, notes: verdict.notes }, 'adopting the existing HNS network');
        for (const note of verdict.notes) {
          log.warn({ networkId: network.ID }, `existing HNS network differs from net-conf (${note}); it is kept, since VNI cannot change in place. Delete the network to apply the new value`);
        }
      } else {
        log.warn({ networkId: network.ID, reasons: verdict.notes }, 'existing HNS network does not match our lease; deleting and recreating it');
        await hns.deleteNetwork(network.ID!);
        network = undefined;
      }
    }
    let created = false;
    if (!network) {
      log.warn('creating the HNS Overlay network: the host loses its network for a few seconds while Windows builds the vSwitch');
      const started = Date.now();
      network = await hns.createNetwork(buildOverlayNetwork(params));
      network = await this.waitForManagementIp(network, signal);
      created = true;
      log.info({ networkId: network.ID, ms: Date.now() - started }, 'HNS network created');
    }
    const networkId = network.ID!;
    const managementIp = providerAddressOf(network) ?? external.ifaceAddr;
    const iface = await waitForInterfaceWithIp(this.ctx.routes, managementIp, {
      timeoutMs: created ? this.timings.interfaceTimeoutMs : this.timings.pollMs,
      pollMs: this.timings.pollMs,
      signal,
    });
    if (!iface) log.warn({ managementIp }, 'no host interface holds the management IP yet; continuing with the selected interface');

    if (!hasHostRoute(network)) {
      try {
        await hns.modifyNetwork(networkId, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] } });
      } catch (err) {
        // flannel only logs this too: host <-> local pod traffic needs it, pods to peers do not.
        log.warn({ networkId, err: (err as Error).message }, 'could not add the HostRoute policy (needs HNS 9.2+)');
      }
    }
    const drMac = drMacOf(network);
    if (!drMac) {
      throw new VxlanSetupError('VXLAN_NO_DR_MAC', `HNS network ${config.name} has no parsable DrMacAddress policy; cannot publish a VtepMAC`, { networkId });
    }
    if (drMac !== knownMac) {
      request = { attrs: attrsWith(drMac), previousSubnet: lease.subnet };
      lease = await acquire(request);
      if (!lease.subnet || formatIp4Net(lease.subnet) !== formatIp4Net(params.subnet)) {
        throw new VxlanSetupError('VXLAN_SUBNET_MOVED', 'the lease moved to another subnet while the network was being created', {
          wanted: formatIp4Net(params.subnet),
        });
      }
    }
    log.info({ vtepMac: drMac, networkId }, 'publishing the HNS DR MAC as VtepMAC');

    const mtu = (iface ?? external.iface).mtu - VXLAN_OVERHEAD;
    return {
      backendType: 'vxlan',
      lease,
      leaseRequest: request,
      mtu,
      kind: new RemoteSubnetRouteKind(hns, () => networkId),
      decide: decidePeerRoute,
      describe: () => ({ network: config.name, networkId, vni: config.vni, vtepMac: drMac, managementIp, mtu }),
    };
  }

  /** HNS adds the ProviderAddress policy once the vSwitch is up. */
  private async waitForManagementIp(network: HostComputeNetwork, signal: AbortSignal): Promise<HostComputeNetwork> {
    const deadline = Date.now() + this.timings.managementIpTimeoutMs;
    let current = network;
    while (!providerAddressOf(current) && Date.now() < deadline && !signal.aborted) {
      await sleep(this.timings.pollMs, signal);
      current = await this.ctx.hns.getNetwork(network.ID!);
    }
    if (!providerAddressOf(current)) {
      this.ctx.log.warn({ networkId: network.ID }, 'HNS did not report a management IP (ProviderAddress) in time');
    }
    return current;
  }
}
