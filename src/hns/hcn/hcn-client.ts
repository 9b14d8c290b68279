import { silentLogger, type Logger } from '../../log.js';
import { HCN_E, HnsError, isHnsNotFound, type HnsClient } from '../client.js';
import { isGuid, normalizeGuid, ZERO_GUID } from '../guid.js';
import { defaultQuery, endpointsQuery, nameQuery, queryText } from '../query.js';
import type {
  HostComputeEndpoint,
  HostComputeNetwork,
  ModifyEndpointSettingRequest,
  ModifyNetworkSettingRequest,
} from '../types.js';
import { attachEndpointToHost } from '../v1/host-attach.js';
import { bindHnsCall } from '../v1/bindings.js';
import { HnsV1Api } from '../v1/hns-call.js';
import { HcnApi, type HcnHandle } from './api.js';
import { bindCoTaskMemFree, bindComputeNetwork } from './bindings.js';
import { coTaskMemory } from './co-task-string.js';
import { endpointCreateDocument, networkCreateDocument, parseEndpoint, parseIdList, parseNetwork } from './documents.js';

export interface HcnLibraryOptions {
  /** Default 'computenetwork.dll'; tests pass the stand-in's path. */
  computenetworkPath?: string;
  /** Default 'vmcompute.dll' (HNSCall, for host attach). */
  vmcomputePath?: string;
  /** Default 'ole32.dll' (CoTaskMemFree). */
  ole32Path?: string;
  log?: Logger;
}

/**
 * Opens the HNS libraries and returns the real driver. Nothing is loaded before this is called,
 * so importing the driver is harmless on Linux; a missing library or export throws here, at
 * startup, rather than on the first HNS call.
 */
export function loadHcnClient(options: HcnLibraryOptions = {}): HcnClient {
  const log = (options.log ?? silentLogger()).child({ component: 'hcn' });
  const memory = coTaskMemory(bindCoTaskMemFree(options.ole32Path ?? 'ole32.dll'));
  const api = new HcnApi(bindComputeNetwork(options.computenetworkPath ?? 'computenetwork.dll'), memory, log);
  const v1 = new HnsV1Api(bindHnsCall(options.vmcomputePath ?? 'vmcompute.dll'), memory, log);
  return new HcnClient(api, v1, log);
}

/**
 * HnsClient over computenetwork.dll, following hcsshim's call sequences (compat/hns.md §1.1):
 * HNS assigns IDs (zero GUID on create) and the result is read back through the new handle; a
 * list is Enumerate then Open → Query → Close per ID; every handle is closed in `finally`.
 */
export class HcnClient implements HnsClient {
  constructor(
    private readonly api: HcnApi,
    private readonly v1: HnsV1Api,
    private readonly log: Logger,
  ) {}

  async listNetworks(filter: { name?: string } = {}): Promise<HostComputeNetwork[]> {
    const query = queryText(filter.name === undefined ? defaultQuery() : nameQuery(filter.name));
    const ids = parseIdList('HcnEnumerateNetworks', await this.api.enumerateNetworks(query));
    const networks: HostComputeNetwork[] = [];
    for (const id of ids) {
      const network = await this.vanishable(() => this.readNetwork(id, query));
      if (network) networks.push(network);
    }
    return networks;
  }

  async getNetwork(id: string): Promise<HostComputeNetwork> {
    return this.readNetwork(requireGuid('HcnOpenNetwork', id, HCN_E.NETWORK_NOT_FOUND), queryText(defaultQuery()));
  }

  async getNetworkByName(name: string): Promise<HostComputeNetwork | undefined> {
    const [first] = await this.listNetworks({ name });
    return first;
  }

  async createNetwork(network: HostComputeNetwork): Promise<HostComputeNetwork> {
    const handle = await this.api.createNetwork(ZERO_GUID, networkCreateDocument(network));
    const context = { networkName: network.Name };
    try {
      return await parseNetwork('HcnQueryNetworkProperties', await this.api.queryNetworkProperties(handle, queryText(defaultQuery()), context));
    } finally {
      await this.api.closeNetwork(handle, context);
    }
  }

  async modifyNetwork(id: string, request: ModifyNetworkSettingRequest): Promise<void> {
    const networkId = requireGuid('HcnOpenNetwork', id, HCN_E.NETWORK_NOT_FOUND);
    await this.withNetwork(networkId, (handle) => this.api.modifyNetwork(handle, JSON.stringify(request), { networkId }));
  }

  async deleteNetwork(id: string): Promise<void> {
    await this.api.deleteNetwork(requireGuid('HcnDeleteNetwork', id, HCN_E.NETWORK_NOT_FOUND));
  }

  async listEndpoints(filter: { networkId?: string; name?: string } = {}): Promise<HostComputeEndpoint[]> {
    const networkId = filter.networkId === undefined ? undefined : normalizeIfGuid(filter.networkId);
    const query = queryText(endpointsQuery({ ...filter, networkId }));
    const ids = parseIdList('HcnEnumerateEndpoints', await this.api.enumerateEndpoints(query));
    const endpoints: HostComputeEndpoint[] = [];
    for (const id of ids) {
      const endpoint = await this.vanishable(() => this.readEndpoint(id, query));
      if (endpoint) endpoints.push(endpoint);
    }
    return endpoints;
  }

  async getEndpoint(id: string): Promise<HostComputeEndpoint> {
    return this.readEndpoint(requireGuid('HcnOpenEndpoint', id, HCN_E.ENDPOINT_NOT_FOUND), queryText(defaultQuery()));
  }

  async createEndpoint(networkId: string, endpoint: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    const netId = requireGuid('HcnOpenNetwork', networkId, HCN_E.NETWORK_NOT_FOUND);
    const settings = endpointCreateDocument(netId, endpoint);
    const context = { networkId: netId, endpointName: endpoint.Name };
    return this.withNetwork(netId, async (network) => {
      const handle = await this.api.createEndpoint(network, ZERO_GUID, settings, context);
      try {
        return await parseEndpoint('HcnQueryEndpointProperties', await this.api.queryEndpointProperties(handle, queryText(defaultQuery()), context));
      } finally {
        await this.api.closeEndpoint(handle, context);
      }
    });
  }

  async modifyEndpoint(id: string, request: ModifyEndpointSettingRequest): Promise<void> {
    const endpointId = requireGuid('HcnOpenEndpoint', id, HCN_E.ENDPOINT_NOT_FOUND);
    const handle = await this.api.openEndpoint(endpointId);
    try {
      await this.api.modifyEndpoint(handle, JSON.stringify(request), { endpointId });
    } finally {
      await this.api.closeEndpoint(handle, { endpointId });
    }
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.api.deleteEndpoint(requireGuid('HcnDeleteEndpoint', id, HCN_E.ENDPOINT_NOT_FOUND));
  }

  async attachEndpointToHost(id: string): Promise<void> {
    await attachEndpointToHost(this.v1, requireGuid('HNSCall', id, HCN_E.ENDPOINT_NOT_FOUND));
  }

  private async readNetwork(networkId: string, query: string): Promise<HostComputeNetwork> {
    return this.withNetwork(networkId, async (handle) =>
      parseNetwork('HcnQueryNetworkProperties', await this.api.queryNetworkProperties(handle, query, { networkId })),
    );
  }

  private async readEndpoint(endpointId: string, query: string): Promise<HostComputeEndpoint> {
    const handle = await this.api.openEndpoint(endpointId);
    try {
      return await parseEndpoint('HcnQueryEndpointProperties', await this.api.queryEndpointProperties(handle, query, { endpointId }));
    } finally {
      await this.api.closeEndpoint(handle, { endpointId });
    }
  }

  private async withNetwork<T>(networkId: string, use: (handle: HcnHandle) => Promise<T>): Promise<T> {
    const handle = await this.api.openNetwork(networkId);
    try {
      return await use(handle);
    } finally {
      await this.api.closeNetwork(handle, { networkId });
    }
  }

  /** An object listed by Enumerate can be deleted before we open it: it is then simply gone. */
  private async vanishable<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      if (!isHnsNotFound(err)) throw err;
      this.log.debug({ err }, 'HCN object vanished while listing');
      return undefined;
    }
  }
}

/**
 * IDs go to HCN as 16 bytes, so a text that is no GUID cannot name anything: report it as the
 * not-found HNS would give, which is what callers act on.
 */
function requireGuid(call: string, id: string, notFound: number): string {
  if (!isGuid(id)) throw new HnsError(call, notFound, `not a GUID: ${JSON.stringify(id)}`, { id });
  return normalizeGuid(id);
}

function normalizeIfGuid(id: string): string {
  return isGuid(id) ? normalizeGuid(id) : id;
}
