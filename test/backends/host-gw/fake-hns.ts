import { HCN_E, HnsError, type HnsClient } from '../../../src/hns/client.js';
import type { HostComputeEndpoint, HostComputeNetwork, ModifyEndpointSettingRequest, ModifyNetworkSettingRequest } from '../../../src/hns/types.js';
import { netInterface, type FakeRouteTable } from './fake-route-table.js';

/**
 * An in-memory HNS for the host-gw backend: networks and endpoints by ID, and the host side
 * effects the backend depends on, played on a FakeRouteTable: creating a network replaces the
 * named adapter with a vEthernet one; attaching an endpoint adds a host interface holding its
 * address. Attaching twice answers ENDPOINT_ALREADY_ATTACHED, as HNS v1 does.
 */
export class FakeHns implements HnsClient {
  readonly networks = new Map<string, HostComputeNetwork>();
  readonly endpoints = new Map<string, HostComputeEndpoint>();
  readonly attached = new Set<string>();
  readonly calls: string[] = [];
  private nextId = 1;

  constructor(private readonly host: FakeRouteTable) {}

  async listNetworks(filter?: { name?: string }): Promise<HostComputeNetwork[]> {
    return [...this.networks.values()].filter((n) => filter?.name === undefined || n.Name === filter.name).map((n) => structuredClone(n));
  }

  async getNetwork(id: string): Promise<HostComputeNetwork> {
    const n = this.networks.get(id);
    if (!n) throw new HnsError('HcnOpenNetwork', HCN_E.NETWORK_NOT_FOUND, 'network not found', { id });
    return structuredClone(n);
  }

  async getNetworkByName(name: string): Promise<HostComputeNetwork | undefined> {
    return (await this.listNetworks({ name }))[0];
  }

  async createNetwork(network: HostComputeNetwork): Promise<HostComputeNetwork> {
    this.calls.push(`createNetwork ${network.Name}`);
    const id = `net-${this.nextId++}`;
    const stored = { ...structuredClone(network), ID: id };
    this.networks.set(id, stored);
    const adapter = (network.Policies?.find((p) => p.Type === 'NetAdapterName')?.Settings as Record<string, unknown> | undefined)?.['NetworkAdapterName'];
    const iface = this.host.interfaces.find((i) => i.name === adapter);
    if (!iface) throw new HnsError('HcnCreateNetwork', 0x803b0006, `adapter ${String(adapter)} not found`);
    this.host.bindVSwitch(iface.index);
    return structuredClone(stored);
  }

  async modifyNetwork(id: string, _request: ModifyNetworkSettingRequest): Promise<void> {
    this.calls.push(`modifyNetwork ${id}`);
  }

  async deleteNetwork(id: string): Promise<void> {
    this.calls.push(`deleteNetwork ${id}`);
    if (!this.networks.delete(id)) throw new HnsError('HcnDeleteNetwork', HCN_E.NETWORK_NOT_FOUND, 'network not found', { id });
    // The physical adapter comes back under its own name.
    for (const i of this.host.interfaces) {
      const m = /^vEthernet \((.+)\)$/.exec(i.name);
      if (m && m[1] !== undefined && !m[1].endsWith('_ep')) i.name = m[1];
    }
  }

  async listEndpoints(filter?: { networkId?: string; name?: string }): Promise<HostComputeEndpoint[]> {
    return [...this.endpoints.values()]
      .filter((e) => (filter?.name === undefined || e.Name === filter.name) && (filter?.networkId === undefined || e.HostComputeNetwork === filter.networkId))
      .map((e) => structuredClone(e));
  }

  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    const e = this.endpoints.get(id);
    if (!e) throw new HnsError('HcnOpenEndpoint', HCN_E.ENDPOINT_NOT_FOUND, 'endpoint not found', { id });
    return structuredClone(e);
  }

  async createEndpoint(networkId: string, endpoint: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    this.calls.push(`createEndpoint ${endpoint.Name}`);
    if (!this.networks.has(networkId)) throw new HnsError('HcnCreateEndpoint', HCN_E.NETWORK_NOT_FOUND, 'network not found', { networkId });
    const id = `ep-${this.nextId++}`;
    const stored = { ...structuredClone(endpoint), ID: id, HostComputeNetwork: networkId };
    this.endpoints.set(id, stored);
    return structuredClone(stored);
  }

  async modifyEndpoint(id: string, _request: ModifyEndpointSettingRequest): Promise<void> {
    this.calls.push(`modifyEndpoint ${id}`);
  }

  async deleteEndpoint(id: string): Promise<void> {
    this.calls.push(`deleteEndpoint ${id}`);
    if (!this.endpoints.delete(id)) throw new HnsError('HcnDeleteEndpoint', HCN_E.ENDPOINT_NOT_FOUND, 'endpoint not found', { id });
    this.attached.delete(id);
  }

  async attachEndpointToHost(id: string): Promise<void> {
    this.calls.push(`attach ${id}`);
    const e = this.endpoints.get(id);
    if (!e) throw new HnsError('HostAttach', HCN_E.ENDPOINT_NOT_FOUND, 'endpoint not found', { id });
    if (this.attached.has(id)) throw new HnsError('HostAttach', HCN_E.ENDPOINT_ALREADY_ATTACHED, 'This endpoint is already attached to the switch.', { id });
    this.attached.add(id);
    const ip = e.IpConfigurations?.[0]?.IpAddress;
    if (ip && !this.host.interfaces.some((i) => i.ipv4Addresses.includes(ip))) {
      this.host.interfaces.push(netInterface(Math.max(...this.host.interfaces.map((i) => i.index)) + 1, `vEthernet (${e.Name})`, ip));
    }
  }
}
