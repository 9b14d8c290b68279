import { retryWithBackoff } from '../../async/retry.js';
import { describeError, FlannelWinError } from '../../errors.js';
import { HnsError, isHnsAlreadyExists, isHnsNotFound } from '../../hns/client.js';
import type { HostComputeEndpoint, HostComputeNetwork } from '../../hns/types.js';
import type { Lease, LeaseAttrs, LeaseRequest } from '../../lease/types.js';
import type { Logger } from '../../log.js';
import { formatIp4Net, type Ip4Net } from '../../net/ip.js';
import type { NetInterface } from '../../routes/route-table.js';
import type { Backend, BackendContext, BackendNetwork, BackendPreview, BackendTimings, NetworkInspection, PlannedWrite } from '../backend.js';
import { adapterForNewNetwork } from '../physical-adapter.js';
import { DEFAULT_BACKEND_TIMINGS } from '../backend.js';
import { waitForInterfaceWithIp } from '../wait-for-interface.js';
import { parseHostGwConfig } from './config.js';
import { HostRouteKind, type ActualHostRoute } from './host-route-kind.js';
import { decidePeerRoute, segmentsOf, type HostRouteContext, type HostRouteSpec } from './host-route.js';
import {
  bridgeEndpointAddress,
  bridgeEndpointName,
  buildBridgeEndpoint,
  buildL2BridgeNetwork,
  judgeBridgeEndpoint,
  judgeExistingL2Bridge,
  dnsServerListOf,
  type L2BridgeParams,
} from './l2bridge-network.js';

export class HostGwSetupError extends FlannelWinError {}

/**
 * flannel gives HostAttach 5 s (500 ms polls); the bridge endpoint's interface gets the same.
 * Shorter when the configured interface wait is shorter (tests).
 */
const ENDPOINT_BUDGET_MS = 5_000;

/**
 * flannel's Windows host-gw backend (compat/flannel.md §7.2): an L2Bridge HNS network holding
 * our pod subnet, a bridge endpoint `<name>_ep` at .2 attached to the host, forwarding on the
 * host side of the bridge, and one host route per peer (`<peer subnet> via <peer PublicIP>`,
 * applied by the reconciler through HostRouteKind with iphlpapi instead of PowerShell).
 */
export class HostGwBackend implements Backend {
  readonly type = 'host-gw';
  private readonly timings: BackendTimings;

  constructor(private readonly ctx: BackendContext) {
    this.timings = { ...DEFAULT_BACKEND_TIMINGS, ...ctx.timings };
  }

  async register(signal: AbortSignal): Promise<BackendNetwork<HostRouteSpec, ActualHostRoute>> {
    const { hns, routes, subnetManager, external, netConfig } = this.ctx;
    const config = parseHostGwConfig(netConfig.backend);
    const log = this.ctx.log.child({ backend: 'host-gw', network: config.name });
    for (const field of config.ignored) log.warn({ field }, `net-conf Backend.${field} has no effect on Windows; ignored`);

    if (external.extAddr !== external.ifaceAddr) {
      // Peers route to our PublicIP as a next hop on their segment: behind NAT it is not ours.
      throw new HostGwSetupError(
        'HOSTGW_PUBLIC_IP_MISMATCH',
        'your PublicIP differs from interface IP, meaning that probably you\'re on a NAT, which is not supported by host-gw backend',
        { publicIp: external.extAddr, interfaceIp: external.ifaceAddr, interface: external.iface.name },
      );
    }
    if (!netConfig.network) {
      throw new HostGwSetupError('HOSTGW_NO_IPV4', 'net-conf has no IPv4 Network; Windows host-gw is IPv4-only', {});
    }

    const attrs: LeaseAttrs = {
      publicIp: external.extAddr,
      publicIpv6: null,
      backendType: 'host-gw',
      // No BackendData: the etcd value omits the key and the kube annotation is "null", as flannel writes.
      backendData: undefined,
      backendV6Data: undefined,
    };
    const lease: Lease = await retryWithBackoff(
      () => subnetManager.acquireLease({ attrs, ...this.ctx.previous }, signal),
      { signal, log, what: 'acquire subnet lease' },
    );
    if (!lease.subnet) throw new HostGwSetupError('HOSTGW_NO_IPV4', 'the lease has no IPv4 subnet; Windows host-gw is IPv4-only', {});
    const subnet = lease.subnet;
    // keepLease re-publishes this if the lease is lost: ask for the same subnet back.
    const leaseRequest: LeaseRequest = { attrs, previousSubnet: subnet };
    log.info({ subnet: formatIp4Net(subnet), publicIp: external.extAddr }, 'subnet lease acquired');

    const params: L2BridgeParams = {
      name: config.name,
      subnet,
      adapterName: external.iface.name,
      dnsServers: dnsServerListOf(config.dnsServerList),
    };
    let state = await this.setUp(params, log, signal);
    let decideCtx: HostRouteContext = { interfaceIndex: state.routeIface.index, segments: state.segments };
    const mtu = state.routeIface.mtu;
    const endpointIp = bridgeEndpointAddress(subnet);

    return {
      backendType: 'host-gw',
      writesTo: 'route-table',
      lease,
      leaseRequest,
      mtu,
      kind: new HostRouteKind({ routes, interfaceIndex: () => state.routeIface.index, clusterNetwork: netConfig.network, ownSubnet: subnet }),
      decide: (peer) => decidePeerRoute(peer, decideCtx),
      describe: () => ({
        network: config.name,
        networkId: state.networkId,
        endpoint: bridgeEndpointName(config.name),
        endpointId: state.endpointId,
        endpointIp,
        interface: state.routeIface.name,
        interfaceIndex: state.routeIface.index,
        segments: state.segments.map(formatIp4Net),
        mtu,
      }),
      inspect: () => this.inspect(params, state),
      repair: async (repairSignal) => {
        const before = state;
        const result = await this.setUp(params, log, repairSignal);
        state = result;
        const recreated = result.networkId.toLowerCase() !== before.networkId.toLowerCase();
        const repaired: string[] = [];
        if (recreated) repaired.push(`network ${config.name} recreated as ${result.networkId}`);
        if (result.endpointId !== before.endpointId) repaired.push(`bridge endpoint ${bridgeEndpointName(config.name)} recreated as ${result.endpointId}`);
        if (result.attached) repaired.push(`bridge endpoint ${bridgeEndpointName(config.name)} attached to the host`);
        // Host routes carry the interface index, which a new vSwitch changes.
        const peersChanged = result.routeIface.index !== before.routeIface.index || result.segments.join() !== before.segments.join();
        decideCtx = { interfaceIndex: result.routeIface.index, segments: result.segments };
        return { recreated, peersChanged, repaired };
      },
    };
  }

  async preview(ownSubnet: Ip4Net): Promise<BackendPreview> {
    const { hns, routes, external, netConfig } = this.ctx;
    const config = parseHostGwConfig(netConfig.backend);
    if (!netConfig.network) throw new HostGwSetupError('HOSTGW_NO_IPV4', 'net-conf has no IPv4 Network; Windows host-gw is IPv4-only', {});
    const params: L2BridgeParams = { name: config.name, subnet: ownSubnet, adapterName: external.iface.name, dnsServers: dnsServerListOf(config.dnsServerList) };
    const leaseAttrs = { publicIp: external.extAddr, backendType: 'host-gw' };
    const endpointName = bridgeEndpointName(config.name);
    const endpointIp = bridgeEndpointAddress(ownSubnet);
    const wanted = [`Type: L2Bridge`, `subnet: ${formatIp4Net(ownSubnet)}`, `adapter: ${external.iface.name}`];
    const existing = await hns.getNetworkByName(config.name);
    const verdict = existing ? judgeExistingL2Bridge(existing, params) : undefined;
    if (verdict?.action === 'foreign') {
      throw new HostGwSetupError('HOSTGW_FOREIGN_NETWORK', `HNS network ${existing?.ID} is not ours: ${verdict.notes.join('; ')}`, { networkId: existing?.ID });
    }
    const allRoutes = await routes.listRoutes('ipv4');
    if (!existing || verdict?.action !== 'adopt') {
      // A new vSwitch gives the interface a new index, known only once it exists.
      const decideCtx: HostRouteContext = { interfaceIndex: external.iface.index, segments: segmentsOf(external.iface, allRoutes) };
      return {
        kind: new HostRouteKind({ routes, interfaceIndex: external.iface.index, clusterNetwork: netConfig.network, ownSubnet }),
        networkExists: false,
        decide: (peer) => decidePeerRoute(peer, decideCtx),
        leaseAttrs,
        // The new vSwitch's vEthernet keeps the adapter's MTU.
        mtu: external.iface.mtu,
        describe: () => ({ network: config.name, endpoint: endpointName, endpointIp }),
        networkWrites: [
          { kind: 'network', key: config.name, op: existing ? 'replace' : 'create', fields: [...(verdict?.notes ?? []), ...wanted] },
          { kind: 'endpoint', key: endpointName, op: 'create', fields: [`IpAddress: ${endpointIp}`, 'attached to the host'] },
        ],
      };
    }
    const networkId = existing.ID ?? '';
    const routeIface = (await routes.listInterfaces()).find((i) => i.up && i.ipv4Addresses.includes(external.ifaceAddr)) ?? external.iface;
    const decideCtx: HostRouteContext = { interfaceIndex: routeIface.index, segments: segmentsOf(routeIface, allRoutes) };
    const endpoints = (await hns.listEndpoints({ name: endpointName })).filter((e) => e.Name === endpointName);
    const usable = endpoints.filter((e) => judgeBridgeEndpoint(e, networkId, ownSubnet).action === 'keep');
    const networkWrites: PlannedWrite[] = [];
    if (usable.length === 0) networkWrites.push({ kind: 'endpoint', key: endpointName, op: 'create', fields: [`IpAddress: ${endpointIp}`, 'attached to the host'] });
    for (const stale of endpoints.filter((e) => e !== usable[0])) networkWrites.push({ kind: 'endpoint', key: `${endpointName} ${stale.ID ?? ''}`, op: 'delete', fields: [] });
    return {
      kind: new HostRouteKind({ routes, interfaceIndex: routeIface.index, clusterNetwork: netConfig.network, ownSubnet }),
      networkExists: true,
      decide: (peer) => decidePeerRoute(peer, decideCtx),
      leaseAttrs,
      networkWrites,
      mtu: routeIface.mtu,
      describe: () => ({ network: config.name, networkId, endpoint: endpointName, endpointId: usable[0]?.ID, endpointIp, mtu: routeIface.mtu }),
    };
  }

  /**
   * Everything after the lease: the L2Bridge network, the host's interface on it, the bridge
   * endpoint attached to the host, forwarding on both. Idempotent: what matches is adopted and
   * no write is made, so it serves both registration and repair.
   */
  private async setUp(params: L2BridgeParams, log: Logger, signal: AbortSignal): Promise<HostGwState> {
    const { routes, external } = this.ctx;
    const { network, created } = await this.ensureNetwork(params, log);
    const networkId = network.ID!;

    // An L2Bridge vSwitch keeps the host's address on its vEthernet adapter, which has a new
    // index after creation: routes and forwarding must use that one (flannel re-resolves too).
    const managementIp = external.ifaceAddr;
    const found = await waitForInterfaceWithIp(routes, managementIp, {
      timeoutMs: created ? this.timings.interfaceTimeoutMs : this.timings.pollMs,
      pollMs: this.timings.pollMs,
      signal,
    });
    if (!found) log.warn({ managementIp }, 'no host interface holds the management IP yet; continuing with the selected interface');
    const routeIface: NetInterface = found ?? external.iface;

    const { endpoint, attached } = await this.ensureBridgeEndpoint(params.name, networkId, params.subnet, log, signal);
    const endpointIp = bridgeEndpointAddress(params.subnet);
    const endpointIface = await waitForInterfaceWithIp(routes, endpointIp, {
      timeoutMs: this.endpointBudgetMs(),
      pollMs: this.timings.pollMs,
      signal,
    });
    if (!endpointIface) log.warn({ endpointIp, endpointId: endpoint.ID }, 'no host interface holds the bridge endpoint address; forwarding is enabled on the management interface only');

    for (const iface of endpointIface && endpointIface.index !== routeIface.index ? [routeIface, endpointIface] : [routeIface]) {
      try {
        await routes.setForwarding(iface.index, 'ipv4', true);
      } catch (err) {
        throw new HostGwSetupError('HOSTGW_FORWARDING', `cannot enable IPv4 forwarding on "${iface.name}": ${describeError(err)}`, {
          interfaceIndex: iface.index,
          interface: iface.name,
        }, { cause: err });
      }
    }

    const segments = segmentsOf(routeIface, await routes.listRoutes('ipv4'));
    if (segments.length === 0) {
      log.info({ interface: routeIface.name }, 'the route table shows no on-link prefix for the management interface; peers are not checked for being on our L2 segment');
    }
    log.info({ networkId, endpointId: endpoint.ID, interface: routeIface.name, interfaceIndex: routeIface.index, mtu: routeIface.mtu }, 'host-gw network ready');
    return { networkId, endpointId: endpoint.ID!, routeIface, segments, attached };
  }

  /** Reads the network, the bridge endpoint and its host attachment; writes nothing. */
  private async inspect(params: L2BridgeParams, state: HostGwState): Promise<NetworkInspection> {
    const { hns, routes } = this.ctx;
    const network = await hns.getNetworkByName(params.name);
    if (!network) return { networkLost: true, problems: [`HNS network ${params.name} (${state.networkId}) is gone`] };
    const verdict = judgeExistingL2Bridge(network, params);
    if (verdict.action !== 'adopt') return { networkLost: true, problems: [`HNS network ${params.name} no longer matches: ${verdict.notes.join('; ')}`] };
    if (network.ID?.toLowerCase() !== state.networkId.toLowerCase()) {
      return { networkLost: true, problems: [`HNS network ${params.name} was replaced: id ${network.ID}, not ${state.networkId}`] };
    }
    const problems: string[] = [];
    const name = bridgeEndpointName(params.name);
    const endpoints = (await hns.listEndpoints({ name })).filter((e) => e.Name === name);
    const good = endpoints.filter((e) => judgeBridgeEndpoint(e, state.networkId, params.subnet).action === 'keep');
    if (good.length !== 1 || endpoints.length !== 1) problems.push(`bridge endpoint ${name}: ${endpoints.length} found, ${good.length} usable`);
    const address = bridgeEndpointAddress(params.subnet);
    if (!(await routes.listInterfaces()).some((i) => i.up && i.ipv4Addresses.includes(address))) {
      problems.push(`no host interface holds the bridge endpoint address ${address} (not attached)`);
    }
    return { networkLost: false, problems };
  }

  private endpointBudgetMs(): number {
    return Math.min(ENDPOINT_BUDGET_MS, this.timings.interfaceTimeoutMs);
  }

  /** Adopts our network when it matches the lease, else (ours by name) deletes and creates it. */
  private async ensureNetwork(params: L2BridgeParams, log: Logger): Promise<{ network: HostComputeNetwork; created: boolean }> {
    const { hns } = this.ctx;
    const existing = await hns.getNetworkByName(params.name);
    if (existing) {
      const verdict = judgeExistingL2Bridge(existing, params);
      if (verdict.action === 'adopt') {
        log.info({ networkId: existing.ID, notes: verdict.notes }, 'adopting the existing HNS network');
        return { network: existing, created: false };
      }
      if (verdict.action === 'foreign') {
        throw new HostGwSetupError('HOSTGW_FOREIGN_NETWORK', `HNS network ${existing.ID} is not ours: ${verdict.notes.join('; ')}`, { networkId: existing.ID });
      }
      log.warn({ networkId: existing.ID, reasons: verdict.notes }, 'existing HNS network does not match our lease; deleting and recreating it');
      await hns.deleteNetwork(existing.ID!);
    }
    // Chosen now, not at start-up: the vSwitch's "vEthernet (<adapter>)" selected then is gone
    // with the network, and HNS knows only the physical adapter.
    const adapterName = await adapterForNewNetwork(this.ctx.routes, this.ctx.external.ifaceAddr, params.adapterName);
    log.warn('creating the HNS L2Bridge network: the host loses its network for a few seconds while Windows builds the vSwitch');
    const started = Date.now();
    const network = await hns.createNetwork(buildL2BridgeNetwork({ ...params, adapterName }));
    log.info({ networkId: network.ID, adapter: adapterName, ms: Date.now() - started }, 'HNS network created');
    return { network, created: true };
  }

  /**
   * Finds or creates `<name>_ep` and attaches it to the host. Every other endpoint with our name
   * is ours and is removed (flannel: "reused if one with that name has that IP, otherwise
   * deleted and recreated").
   */
  private async ensureBridgeEndpoint(
    networkName: string,
    networkId: string,
    subnet: NonNullable<Lease['subnet']>,
    log: Logger,
    signal: AbortSignal,
  ): Promise<{ endpoint: HostComputeEndpoint; attached: boolean }> {
    const { hns } = this.ctx;
    const name = bridgeEndpointName(networkName);
    let endpoint: HostComputeEndpoint | undefined;
    for (const candidate of await hns.listEndpoints({ name })) {
      if (candidate.Name !== name) continue;
      const verdict = judgeBridgeEndpoint(candidate, networkId, subnet);
      if (verdict.action === 'keep' && !endpoint) {
        endpoint = candidate;
        continue;
      }
      const reason = verdict.action === 'recreate' ? verdict.reason : 'a second endpoint with our name';
      log.warn({ endpointId: candidate.ID, reason }, `deleting stale bridge endpoint ${name}`);
      try {
        await hns.deleteEndpoint(candidate.ID!);
      } catch (err) {
        if (!isHnsNotFound(err)) throw err;
      }
    }
    if (endpoint) {
      log.info({ endpointId: endpoint.ID }, `reusing bridge endpoint ${name}`);
    } else {
      endpoint = await hns.createEndpoint(networkId, buildBridgeEndpoint(networkName, networkId, subnet));
      log.info({ endpointId: endpoint.ID, ip: bridgeEndpointAddress(subnet) }, `created bridge endpoint ${name}`);
    }
    const endpointId = endpoint.ID!;
    // Attaching creates a host vNIC holding the endpoint's address. When one is already up, the
    // endpoint is attached: skip the call so a restart makes no HNS write at all.
    const address = bridgeEndpointAddress(subnet);
    if ((await this.ctx.routes.listInterfaces()).some((i) => i.up && i.ipv4Addresses.includes(address))) {
      log.debug({ endpointId, address }, `bridge endpoint ${name} is already attached to the host`);
      return { endpoint, attached: false };
    }
    await retryWithBackoff(
      async () => {
        try {
          await hns.attachEndpointToHost(endpointId);
        } catch (err) {
          // Already attached is what we want (flannel's fixes a85e1279 and 49ce9839).
          if (!isHnsAlreadyExists(err)) throw err;
        }
      },
      {
        signal,
        log,
        what: `attach bridge endpoint ${name} to the host`,
        backoff: { baseMs: this.timings.pollMs, maxMs: this.timings.pollMs },
        maxAttempts: Math.max(1, Math.ceil(this.endpointBudgetMs() / this.timings.pollMs)),
        // A missing or malformed endpoint does not heal by waiting.
        isPermanent: (err) => err instanceof HnsError && (err.kind === 'invalid' || err.kind === 'not-found'),
      },
    ).catch((err: unknown) => {
      if (signal.aborted) throw err;
      throw new HostGwSetupError('HOSTGW_ATTACH', `cannot attach bridge endpoint ${name} to the host: ${describeError(err)}`, { endpointId }, { cause: err });
    });
    return { endpoint, attached: true };
  }
}

/** What host-gw set up last: what the peer kind, the peer decisions and /status use. */
interface HostGwState {
  networkId: string;
  endpointId: string;
  /** The host's interface on the bridge (the vSwitch's vEthernet adapter): routes go on it. */
  routeIface: NetInterface;
  segments: Ip4Net[];
  /** This set-up attached the bridge endpoint (it was not attached before). */
  attached: boolean;
}
