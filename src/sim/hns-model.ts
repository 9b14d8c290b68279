import { HCN_E, HnsError } from '../hns/client.js';
import type { EndpointPolicy, HostComputeEndpoint, HostComputeNetwork, NetworkPolicy } from '../hns/types.js';
import { formatIp4, tryParseIp4, tryParseIp6, formatIp6 } from '../net/ip.js';
import { allocateEndpointIp } from './endpoint-ip.js';
import {
  HCN_E_ADAPTER_NOT_FOUND, HCN_E_ADDR_INVALID_OR_RESERVED, validateEndpointDocument, validateEndpointPolicy, validateModifyRequest,
  validateNetworkDocument, validateNetworkPolicy,
} from './hns-validation.js';
import type { HostNetModel } from './host-net-model.js';
import { normaliseGuid, policyIdentity, type IdSource } from './identity.js';
import { PolicySet, routePrefixOf, type SimPolicy } from './policy-set.js';

/** Network types whose creation puts a vSwitch on a physical adapter (the vEthernet swap). */
const VSWITCH_TYPES = new Set(['Overlay', 'L2Bridge', 'L2Tunnel', 'Transparent']);

/** A network as the state file holds it: the HNS document plus what only the simulator tracks. */
export interface StoredNetwork extends HostComputeNetwork {
  ID: string;
  /** The physical adapter whose vSwitch this network uses (absent for NAT/internal networks). */
  sim?: { adapter?: string };
}

export interface StoredEndpoint extends HostComputeEndpoint {
  ID: string;
  HostComputeNetwork: string;
  /** Host attachment (HNS v1 attach) and the host vNIC it produced. */
  sim?: { attachedToHost?: boolean; hostInterfaceIndex?: number };
}

interface NetworkRecord {
  id: string;
  doc: HostComputeNetwork;
  policies: PolicySet;
  adapter: string | undefined;
  endpoints: Set<string>;
  /** Endpoint IP (canonical text) → endpoint id, for HNS's one-endpoint-per-IP rule. */
  ips: Map<string, string>;
}

interface EndpointRecord {
  id: string;
  networkId: string;
  doc: HostComputeEndpoint;
  policies: PolicySet;
  attachedToHost: boolean;
  hostInterfaceIndex: number | undefined;
}

export interface HnsModelDeps {
  net: HostNetModel;
  ids: IdSource;
}

/**
 * The networks and endpoints of one simulated HNS, answering as HNS does: generated ids, the
 * policies HNS adds itself (DrMacAddress, ProviderAddress), the vEthernet swap, and HCN_E codes
 * for every refusal. All methods are synchronous and validate fully before changing anything,
 * so a refused call leaves no trace.
 */
export class HnsModel {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly networkByName = new Map<string, string>();
  private readonly endpoints = new Map<string, EndpointRecord>();

  constructor(private readonly deps: HnsModelDeps, stored: { networks: StoredNetwork[]; endpoints: StoredEndpoint[] } = { networks: [], endpoints: [] }) {
    for (const n of stored.networks) {
      const { ID, Policies, sim, ...doc } = structuredClone(n);
      const id = normaliseGuid(ID) ?? ID;
      this.networks.set(id, { id, doc, policies: new PolicySet(Policies ?? []), adapter: sim?.adapter, endpoints: new Set(), ips: new Map() });
      this.networkByName.set(doc.Name, id);
    }
    for (const e of stored.endpoints) {
      const { ID, Policies, sim, HostComputeNetwork: networkText, ...doc } = structuredClone(e);
      const id = normaliseGuid(ID) ?? ID;
      const networkId = normaliseGuid(networkText) ?? networkText;
      const network = this.networks.get(networkId);
      if (!network) continue; // an endpoint cannot outlive its network; an edited file may say otherwise
      this.endpoints.set(id, {
        id, networkId, doc, policies: new PolicySet(Policies ?? []),
        attachedToHost: sim?.attachedToHost ?? false, hostInterfaceIndex: sim?.hostInterfaceIndex,
      });
      network.endpoints.add(id);
      for (const ip of endpointIps(doc)) network.ips.set(ip, id);
    }
  }

  snapshot(): { networks: StoredNetwork[]; endpoints: StoredEndpoint[] } {
    return {
      networks: [...this.networks.values()].map((r) => ({ ...this.networkDocument(r), ...(r.adapter ? { sim: { adapter: r.adapter } } : {}) }) as StoredNetwork),
      endpoints: [...this.endpoints.values()].map((r) => {
        const sim = r.attachedToHost ? { attachedToHost: true, ...(r.hostInterfaceIndex !== undefined ? { hostInterfaceIndex: r.hostInterfaceIndex } : {}) } : undefined;
        return { ...this.endpointDocument(r), ...(sim ? { sim } : {}) } as StoredEndpoint;
      }),
    };
  }

  get networkCount(): number {
    return this.networks.size;
  }

  // ---- networks ----

  listNetworks(filter: { name?: string } = {}): HostComputeNetwork[] {
    if (filter.name !== undefined) {
      const id = this.networkByName.get(filter.name);
      const record = id === undefined ? undefined : this.networks.get(id);
      return record ? [this.networkDocument(record)] : [];
    }
    return [...this.networks.values()].map((r) => this.networkDocument(r));
  }

  getNetwork(id: string): HostComputeNetwork {
    return this.networkDocument(this.requireNetwork('HcnOpenNetwork', id));
  }

  createNetwork(input: unknown): HostComputeNetwork {
    const call = 'HcnCreateNetwork';
    validateNetworkDocument(call, input);
    const { ID: _ignored, Policies, ...doc } = structuredClone(input);
    const type = doc.Type ?? 'NAT';
    const existing = this.networkByName.get(doc.Name);
    if (existing !== undefined) {
      throw new HnsError(call, HCN_E.NETWORK_ALREADY_EXISTS, `a network named "${doc.Name}" already exists`, { network: doc.Name, existingId: existing });
    }
    const policies = new PolicySet();
    this.addPolicies(call, policies, Policies ?? [], type, { network: doc.Name });
    let adapter: string | undefined;
    if (VSWITCH_TYPES.has(type)) {
      const wanted = (policies.list().find((p) => p.Type === 'NetAdapterName')?.Settings as Record<string, unknown> | undefined)?.['NetworkAdapterName'];
      const iface = this.deps.net.resolveAdapter(typeof wanted === 'string' ? wanted : undefined);
      if (!iface) throw new HnsError(call, HCN_E_ADAPTER_NOT_FOUND, 'no such network adapter', { network: doc.Name, adapter: wanted ?? '(external)' });
      // Everything is validated: from here on the call succeeds.
      const bound = this.deps.net.bindVSwitch(iface.index);
      adapter = bound.vSwitchFor;
      if (type === 'Overlay') {
        if (!policies.hasType('DrMacAddress')) policies.add({ Type: 'DrMacAddress', Settings: { Address: this.deps.ids.hyperVMac() } });
        const pa = bound.ipv4Addresses[0];
        if (!policies.hasType('ProviderAddress') && pa !== undefined) policies.add({ Type: 'ProviderAddress', Settings: { ProviderAddress: pa } });
      }
    }
    const id = this.freshId();
    const record: NetworkRecord = { id, doc, policies, adapter, endpoints: new Set(), ips: new Map() };
    this.networks.set(id, record);
    this.networkByName.set(doc.Name, id);
    return this.networkDocument(record);
  }

  modifyNetwork(id: string, request: unknown): void {
    const call = 'HcnModifyNetwork';
    const record = this.requireNetwork(call, id);
    validateModifyRequest(call, request);
    const context = { networkId: record.id, network: record.doc.Name, requestType: request.RequestType };
    if (request.ResourceType !== 'Policy') {
      throw new HnsError(call, HCN_E.REQUEST_UNSUPPORTED, 'only ResourceType "Policy" is simulated', { ...context, resourceType: request.ResourceType });
    }
    const policies = request.Settings.Policies;
    policies.forEach((p, i) => validateNetworkPolicy(call, p, `Settings.Policies[${i}]`));
    checkPolicyPlacement(call, policies as SimPolicy[], record.doc.Type ?? 'NAT', context);
    applyPolicyRequest(call, record.policies, request.RequestType, policies as SimPolicy[], context);
  }

  deleteNetwork(id: string): void {
    const record = this.requireNetwork('HcnDeleteNetwork', id);
    // HNS takes the network's endpoints with it.
    for (const endpointId of [...record.endpoints]) this.dropEndpoint(endpointId);
    this.networks.delete(record.id);
    this.networkByName.delete(record.doc.Name);
    if (record.adapter !== undefined && ![...this.networks.values()].some((n) => n.adapter === record.adapter)) {
      const iface = this.deps.net.resolveAdapter(record.adapter);
      if (iface) this.deps.net.releaseVSwitch(iface.index);
    }
  }

  // ---- endpoints ----

  listEndpoints(filter: { networkId?: string; name?: string } = {}): HostComputeEndpoint[] {
    let records: Iterable<EndpointRecord> = this.endpoints.values();
    if (filter.networkId !== undefined) {
      const network = this.networks.get(normaliseGuid(filter.networkId) ?? '');
      records = network ? [...network.endpoints].map((e) => this.endpoints.get(e)!) : [];
    }
    return [...records].filter((r) => filter.name === undefined || r.doc.Name === filter.name).map((r) => this.endpointDocument(r));
  }

  getEndpoint(id: string): HostComputeEndpoint {
    return this.endpointDocument(this.requireEndpoint('HcnOpenEndpoint', id));
  }

  createEndpoint(networkId: string, input: unknown): HostComputeEndpoint {
    const network = this.requireNetwork('HcnOpenNetwork', networkId);
    const call = 'HcnCreateEndpoint';
    validateEndpointDocument(call, input);
    const { ID: _ignored, Policies, HostComputeNetwork: named, ...doc } = structuredClone(input);
    const context = { networkId: network.id, endpoint: doc.Name };
    if (named !== undefined && normaliseGuid(named) !== network.id) {
      throw new HnsError(call, HCN_E.INVALID_JSON, 'HostComputeNetwork names another network than the one opened', { ...context, field: 'HostComputeNetwork', value: named });
    }
    const policies = new PolicySet();
    this.addPolicies(call, policies, Policies ?? [], undefined, context);
    const remote = ((doc.Flags ?? 0) & 1) === 1;
    if (!doc.IpConfigurations || doc.IpConfigurations.length === 0) {
      if (remote) throw new HnsError(call, HCN_E.INVALID_ENDPOINT, 'a remote endpoint needs an IpConfiguration', context);
      const allocated = allocateEndpointIp(network.doc, network.ips);
      if (allocated) doc.IpConfigurations = [allocated];
    }
    const ips = endpointIps(doc);
    for (const ip of ips) {
      const holder = network.ips.get(ip);
      if (holder !== undefined) throw new HnsError(call, HCN_E_ADDR_INVALID_OR_RESERVED, 'the IP address is in use by another endpoint', { ...context, ip, holder });
    }
    if (new Set(ips).size !== ips.length) throw new HnsError(call, HCN_E.INVALID_IP, 'the same IP address is configured twice', { ...context, ips });
    doc.MacAddress ??= this.deps.ids.hyperVMac();
    const id = this.freshId();
    const record: EndpointRecord = { id, networkId: network.id, doc, policies, attachedToHost: false, hostInterfaceIndex: undefined };
    this.endpoints.set(id, record);
    network.endpoints.add(id);
    for (const ip of ips) network.ips.set(ip, id);
    return this.endpointDocument(record);
  }

  modifyEndpoint(id: string, request: unknown): void {
    const call = 'HcnModifyEndpoint';
    const record = this.requireEndpoint(call, id);
    validateModifyRequest(call, request);
    const context = { endpointId: record.id, endpoint: record.doc.Name, requestType: request.RequestType };
    if (request.ResourceType !== 'Policy') {
      throw new HnsError(call, HCN_E.REQUEST_UNSUPPORTED, 'only ResourceType "Policy" is simulated', { ...context, resourceType: request.ResourceType });
    }
    const policies = request.Settings.Policies;
    policies.forEach((p, i) => validateEndpointPolicy(call, p, `Settings.Policies[${i}]`));
    if (request.RequestType === 'Update') {
      record.policies = replacementSet(call, policies as SimPolicy[], context);
      return;
    }
    applyPolicyRequest(call, record.policies, request.RequestType, policies as SimPolicy[], context);
  }

  deleteEndpoint(id: string): void {
    this.dropEndpoint(this.requireEndpoint('HcnDeleteEndpoint', id).id);
  }

  /**
   * HNS v1 host attach: the endpoint gets a host vNIC ("vEthernet (<name>)") holding its IP,
   * which is what host-gw enables forwarding on. Attaching twice is a no-op success.
   */
  attachEndpointToHost(id: string): void {
    const call = 'HNSCall POST /endpoints/<id>/attach';
    const record = this.requireEndpoint(call, id);
    if (record.attachedToHost) return;
    if (((record.doc.Flags ?? 0) & 1) === 1) {
      throw new HnsError(call, HCN_E.INVALID_ENDPOINT, 'a remote endpoint cannot be attached', { endpointId: record.id, endpoint: record.doc.Name });
    }
    const network = this.networks.get(record.networkId)!;
    const mtu = (network.adapter !== undefined ? this.deps.net.resolveAdapter(network.adapter)?.mtu : undefined) ?? 1500;
    const ipv4 = endpointIps(record.doc).filter((ip) => !ip.includes(':'));
    const iface = this.deps.net.addInterface({ name: `vEthernet (${record.doc.Name ?? record.id})`, ipv4Addresses: ipv4, mtu });
    record.attachedToHost = true;
    record.hostInterfaceIndex = iface.index;
  }

  // ---- internals ----

  private addPolicies(call: string, set: PolicySet, policies: readonly unknown[], networkType: string | undefined, context: Record<string, unknown>): void {
    if (networkType !== undefined) checkPolicyPlacement(call, policies as SimPolicy[], networkType, context);
    applyPolicyRequest(call, set, 'Add', policies as SimPolicy[], context);
  }

  private dropEndpoint(id: string): void {
    const record = this.endpoints.get(id);
    if (!record) return;
    this.endpoints.delete(id);
    const network = this.networks.get(record.networkId);
    network?.endpoints.delete(id);
    for (const ip of endpointIps(record.doc)) if (network?.ips.get(ip) === id) network.ips.delete(ip);
    if (record.hostInterfaceIndex !== undefined) this.deps.net.removeInterface(record.hostInterfaceIndex);
  }

  private requireNetwork(call: string, id: string): NetworkRecord {
    const record = this.networks.get(normaliseGuid(id) ?? '');
    if (!record) throw new HnsError(call, HCN_E.NETWORK_NOT_FOUND, 'no network with this id', { networkId: id });
    return record;
  }

  private requireEndpoint(call: string, id: string): EndpointRecord {
    const record = this.endpoints.get(normaliseGuid(id) ?? '');
    if (!record) throw new HnsError(call, HCN_E.ENDPOINT_NOT_FOUND, 'no endpoint with this id', { endpointId: id });
    return record;
  }

  private freshId(): string {
    for (;;) {
      const id = this.deps.ids.guid().toLowerCase();
      if (!this.networks.has(id) && !this.endpoints.has(id)) return id;
    }
  }

  /** What a query returns. HNS leaves `Type` out for NAT networks (mode 0); callers must default it. */
  private networkDocument(r: NetworkRecord): HostComputeNetwork {
    const doc: HostComputeNetwork = { ID: r.id, ...structuredClone(r.doc), Policies: r.policies.list() as NetworkPolicy[] };
    if ((doc.Type ?? 'NAT') === 'NAT') delete doc.Type;
    return doc;
  }

  private endpointDocument(r: EndpointRecord): HostComputeEndpoint {
    return { ID: r.id, HostComputeNetwork: r.networkId, ...structuredClone(r.doc), Policies: r.policies.list() as EndpointPolicy[] };
  }
}

/** RemoteSubnetRoute only exists on Overlay networks; elsewhere HNS refuses it. */
function checkPolicyPlacement(call: string, policies: readonly SimPolicy[], networkType: string, context: Record<string, unknown>): void {
  if (networkType === 'Overlay') return;
  const index = policies.findIndex((p) => p.Type === 'RemoteSubnetRoute');
  if (index >= 0) {
    throw new HnsError(call, HCN_E.INVALID_POLICY, `RemoteSubnetRoute needs an Overlay network, not ${networkType}`, { ...context, field: `Policies[${index}]` });
  }
}

/**
 * Add / Remove / Update on a policy list, all or nothing.
 * - Add: an identical policy, or a RemoteSubnetRoute for a prefix that already has one, is
 *   POLICY_ALREADY_EXISTS (flannel removes the old route before adding, which implies this).
 * - Remove: matches Type + Settings exactly (key order aside); no match is POLICY_NOT_FOUND.
 * - Update: replaces all policies of the types present in the request (Calico CNI's single-ACL
 *   Update leaves OutBoundNAT/PA in place; compat/hns.md §4.2). Used for networks; an endpoint's
 *   Update replaces its whole list (replacementSet, an assumption explained there).
 */
function applyPolicyRequest(call: string, set: PolicySet, requestType: string, policies: readonly SimPolicy[], context: Record<string, unknown>): void {
  // Each policy's identity and route prefix once per request: computing them is most of what a
  // write costs the simulator, which runs in the daemon's process in tests and benchmarks.
  const identities = policies.map((p) => policyIdentity(p));
  const prefixes = policies.map((p) => routePrefixOf(p));
  /** What the request itself already holds, to refuse a policy it carries twice. */
  const batch = new PolicySet<SimPolicy>([], { copy: false });
  const takeIntoBatch = (p: SimPolicy, i: number): void => batch.add(p, identities[i], prefixes[i]);
  const checkAgainst = (target: PolicySet, p: SimPolicy, i: number): void => {
    const conflict = target.conflictFor(p, identities[i], prefixes[i]) ?? batch.conflictFor(p, identities[i], prefixes[i]);
    if (!conflict) return;
    const message = conflict.kind === 'identical' ? 'an identical policy already exists' : 'a RemoteSubnetRoute for this DestinationPrefix already exists';
    throw new HnsError(call, HCN_E.POLICY_ALREADY_EXISTS, message, {
      ...context, field: `Policies[${i}]`, policyType: p.Type, settings: p.Settings, ...(conflict.kind === 'same-prefix' ? { existing: conflict.existing.Settings } : {}),
    });
  };
  switch (requestType) {
    case 'Add':
      policies.forEach((p, i) => { checkAgainst(set, p, i); takeIntoBatch(p, i); });
      policies.forEach((p, i) => set.add(p, identities[i], prefixes[i]));
      return;
    case 'Remove':
      policies.forEach((p, i) => {
        if (!set.has(p, identities[i]) || batch.has(p, identities[i])) {
          throw new HnsError(call, HCN_E.POLICY_NOT_FOUND, 'no policy with these exact settings', { ...context, field: `Policies[${i}]`, policyType: p.Type, settings: p.Settings });
        }
        takeIntoBatch(p, i);
      });
      policies.forEach((p, i) => set.remove(p, identities[i], prefixes[i]));
      return;
    case 'Update': {
      const types = new Set(policies.map((p) => p.Type));
      const kept = new PolicySet(set.list().filter((p) => !types.has(p.Type)));
      policies.forEach((p, i) => { checkAgainst(kept, p, i); takeIntoBatch(p, i); });
      set.removeTypes(types);
      policies.forEach((p, i) => set.add(p, identities[i], prefixes[i]));
      return;
    }
    default:
      throw new HnsError(call, HCN_E.REQUEST_UNSUPPORTED, `RequestType "${requestType}" is not simulated for policies`, context);
  }
}

/**
 * An endpoint `Update`: the request's policies become the endpoint's whole policy list.
 *
 * Assumption (compat/hns.md §4.2, §8): whether HNS's Update drops the endpoint's policies of
 * types absent from the request (OutBoundNAT, SDNRoute, ProviderAddress when only ACLs are sent)
 * is undocumented; Calico's CNI suggests they survive, Azure NPM re-sends them defensively. The
 * simulator takes the reading under which a client that forgets them loses them, so a client
 * tested here keeps the CNI's policies on a real host whichever reading is true. Networks keep
 * the per-type replacement (applyPolicyRequest) until someone needs otherwise.
 */
function replacementSet(call: string, policies: readonly SimPolicy[], context: Record<string, unknown>): PolicySet {
  const next = new PolicySet();
  policies.forEach((p, i) => {
    if (next.has(p)) {
      throw new HnsError(call, HCN_E.POLICY_ALREADY_EXISTS, 'the request carries the same policy twice', { ...context, field: `Policies[${i}]`, policyType: p.Type, settings: p.Settings });
    }
    next.add(p);
  });
  return next;
}

/** The endpoint's addresses in canonical text, the key of the one-endpoint-per-IP rule. */
function endpointIps(doc: HostComputeEndpoint): string[] {
  return (doc.IpConfigurations ?? []).map((c) => {
    const v4 = tryParseIp4(c.IpAddress);
    if (v4 !== undefined) return formatIp4(v4);
    const v6 = tryParseIp6(c.IpAddress);
    return v6 !== undefined ? formatIp6(v6) : c.IpAddress;
  });
}
