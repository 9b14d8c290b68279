import { sleep } from '../../async/abortable-sleep.js';
import { describeError, FlannelWinError } from '../../errors.js';
import type { HnsClient } from '../../hns/client.js';
import type { HostComputeNetwork } from '../../hns/types.js';
import type { Logger } from '../../log.js';
import type { RouteTable } from '../../routes/route-table.js';
import type { ExternalInterface, NetworkInspection, BackendTimings } from '../backend.js';
import { adapterForNewNetwork } from '../physical-adapter.js';
import { waitForInterfaceWithIp } from '../wait-for-interface.js';
import { buildOverlayNetwork, drMacOf, hasHostRoute, judgeExistingOverlay, providerAddressOf, type OverlayNetworkParams } from './overlay-network.js';

export class VxlanSetupError extends FlannelWinError {}

/** The Overlay network as it is now: what the peer kind, the lease and /status use. */
export interface OverlayState {
  networkId: string;
  /** Lowercase colon form, as published in the lease. */
  drMac: string;
  managementIp: string;
  /** MTU of the interface holding the management IP (the selected one when none does yet). */
  interfaceMtu: number;
}

export interface EnsureResult {
  state: OverlayState;
  created: boolean;
  /** Objects that were missing and were added (the HostRoute policy). */
  repaired: string[];
}

/**
 * Keeps our HNS Overlay network: adopts it when it matches, otherwise (gone, wrong type, subnet
 * or adapter) deletes what is ours by name and creates it again on the physical adapter, then
 * adds the HostRoute policy when it is missing. The same code runs at registration and at
 * every repair, so what start-up sets up is also what a resync keeps.
 */
export class OverlayNetworkKeeper {
  constructor(
    private readonly deps: {
      hns: HnsClient;
      routes: RouteTable;
      external: ExternalInterface;
      params: OverlayNetworkParams;
      timings: BackendTimings;
      log: Logger;
    },
  ) {}

  async ensure(signal: AbortSignal): Promise<EnsureResult> {
    const { hns, routes, external, params, timings, log } = this.deps;
    let network: HostComputeNetwork | undefined = await hns.getNetworkByName(params.name);
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
      // Chosen now, not at start-up: the vSwitch adapter selected then is gone with the network.
      const adapterName = await adapterForNewNetwork(routes, external.ifaceAddr, params.adapterName);
      log.warn({ adapter: adapterName }, 'creating the HNS Overlay network: the host loses its network for a few seconds while Windows builds the vSwitch');
      const started = Date.now();
      network = await hns.createNetwork(buildOverlayNetwork({ ...params, adapterName }));
      network = await this.waitForManagementIp(network, signal);
      created = true;
      log.info({ networkId: network.ID, adapter: adapterName, ms: Date.now() - started }, 'HNS network created');
    }
    const networkId = network.ID!;
    const managementIp = providerAddressOf(network) ?? external.ifaceAddr;
    const iface = await waitForInterfaceWithIp(routes, managementIp, {
      timeoutMs: created ? timings.interfaceTimeoutMs : timings.pollMs,
      pollMs: timings.pollMs,
      signal,
    });
    if (!iface) log.warn({ managementIp }, 'no host interface holds the management IP yet; continuing with the selected interface');

    const repaired: string[] = [];
    if (!hasHostRoute(network)) {
      try {
        await hns.modifyNetwork(networkId, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] } });
        if (!created) repaired.push('HostRoute policy');
      } catch (err) {
        // Host <-> local pod traffic needs it, pods to peers do not: not worth failing the
        // node for. The inspection at every resync finds it missing and adds it again.
        log.warn({ networkId, err: describeError(err) }, 'could not add the HostRoute policy (needs HNS 9.2+); retrying at the next resync');
      }
    }
    const drMac = drMacOf(network);
    if (!drMac) {
      throw new VxlanSetupError('VXLAN_NO_DR_MAC', `HNS network ${params.name} has no parsable DrMacAddress policy; cannot publish a VtepMAC`, { networkId });
    }
    return { state: { networkId, drMac, managementIp, interfaceMtu: (iface ?? external.iface).mtu }, created, repaired };
  }

  /** Reads the network and compares it with `state` (what we set up last). */
  async inspect(state: OverlayState): Promise<NetworkInspection> {
    const { hns, params } = this.deps;
    const network = await hns.getNetworkByName(params.name);
    if (!network) return { networkLost: true, problems: [`HNS network ${params.name} (${state.networkId}) is gone`] };
    const verdict = judgeExistingOverlay(network, params);
    if (!verdict.adopt) return { networkLost: true, problems: [`HNS network ${params.name} no longer matches: ${verdict.notes.join('; ')}`] };
    if (network.ID?.toLowerCase() !== state.networkId.toLowerCase()) {
      return { networkLost: true, problems: [`HNS network ${params.name} was replaced: id ${network.ID}, not ${state.networkId}`] };
    }
    const problems: string[] = [];
    if (!hasHostRoute(network)) problems.push(`HNS network ${params.name} has no HostRoute policy`);
    const drMac = drMacOf(network);
    if (drMac !== state.drMac) problems.push(`HNS network ${params.name} reports DR MAC ${drMac ?? 'none'}, we published ${state.drMac}`);
    return { networkLost: false, problems };
  }

  /** HNS adds the ProviderAddress policy once the vSwitch is up. */
  private async waitForManagementIp(network: HostComputeNetwork, signal: AbortSignal): Promise<HostComputeNetwork> {
    const { timings } = this.deps;
    const deadline = Date.now() + timings.managementIpTimeoutMs;
    let current = network;
    while (!providerAddressOf(current) && Date.now() < deadline && !signal.aborted) {
      await sleep(timings.pollMs, signal);
      current = await this.deps.hns.getNetwork(network.ID!);
    }
    if (!providerAddressOf(current)) {
      this.deps.log.warn({ networkId: network.ID }, 'HNS did not report a management IP (ProviderAddress) in time');
    }
    return current;
  }
}
