/**
 * Who can talk to whom on a simulated host: for every ordered pair of local pod endpoints (and
 * from the node itself), whether the ACLs programmed on them let a connection through. A
 * connection needs the source endpoint's egress (`Out`) and the destination's ingress (`In`);
 * each side is decided by the HNS ACL evaluator (first match by Priority, default deny once the
 * endpoint holds any ACL, no ACL = allow). The node is not behind an endpoint ACL of its own, so
 * node → pod is decided by the pod's ingress alone.
 *
 * Pure: it reads a state document.
 * @module
 */
import type { AclPolicySetting, HostComputeNetwork } from '../hns/types.js';
import { HnsAclEvaluator, type AclVerdict } from '../policy/hns-acl-evaluator.js';
import type { SimStateDocument } from './state-file.js';

export interface FlowEndpoint {
  id: string;
  name: string | undefined;
  ip: string;
  acls: number;
}

export interface FlowSide {
  allowed: boolean;
  reason: AclVerdict['reason'];
  /** The deciding rule's Id (`reason: rule`); "(no Id)" for a rule without one. */
  ruleId?: string;
  /** Another rule with the same Priority and the other Action also matches: HNS's outcome is unknown. */
  ambiguous: boolean;
}

export interface Flow {
  /** Source endpoint id, or "node". */
  from: string;
  to: string;
  allowed: boolean;
  /** The source endpoint's egress verdict; absent for the node. */
  egress?: FlowSide;
  ingress: FlowSide;
}

export interface FlowMatrix {
  network: string;
  protocol: number;
  port: number;
  nodeIp: string | undefined;
  endpoints: FlowEndpoint[];
  flows: Flow[];
}

/**
 * An empty address list means "any" to HNS (compat/netpol.md §5); the evaluator reads a list
 * with no parsable entry as matching nothing, so the field is dropped first: the flows show what
 * HNS would do with such a rule, which is the dangerous direction to hide.
 */
export function asHnsReadsIt(acl: AclPolicySetting): AclPolicySetting {
  const copy = { ...acl };
  for (const key of ['LocalAddresses', 'RemoteAddresses', 'LocalPorts', 'RemotePorts'] as const) {
    if (typeof copy[key] === 'string' && copy[key].trim() === '') delete copy[key];
  }
  return copy;
}

function side(verdict: AclVerdict): FlowSide {
  return {
    allowed: verdict.allowed,
    reason: verdict.reason,
    ...(verdict.rule ? { ruleId: verdict.rule.Id ?? '(no Id)' } : {}),
    ambiguous: verdict.ambiguous,
  };
}

/** The node's address: the IPv4 of the interface holding the default route. */
export function nodeIpOf(state: SimStateDocument): string | undefined {
  const route = state.routes.find((r) => r.destination === '0.0.0.0/0');
  return state.interfaces.find((i) => i.index === route?.interfaceIndex)?.ipv4Addresses[0];
}

/** The flows between the local pod endpoints of `network` for one protocol and destination port. */
export function flowMatrix(state: SimStateDocument, network: HostComputeNetwork, protocol: number, port: number): FlowMatrix {
  const networkId = network.ID!.toLowerCase();
  const hostEndpoint = `${network.Name}_ep`;
  const local = state.endpoints.filter((e) => e.HostComputeNetwork.toLowerCase() === networkId && ((e.Flags ?? 0) & 1) === 0 && e.Name !== hostEndpoint);
  const endpoints: (FlowEndpoint & { evaluator: HnsAclEvaluator })[] = [];
  for (const e of local) {
    const ip = e.IpConfigurations?.find((c) => !c.IpAddress.includes(':'))?.IpAddress;
    if (ip === undefined) continue;
    const acls = (e.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => asHnsReadsIt(p.Settings as AclPolicySetting));
    endpoints.push({ id: e.ID, name: e.Name, ip, acls: acls.length, evaluator: new HnsAclEvaluator(acls) });
  }
  endpoints.sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
  const nodeIp = nodeIpOf(state);
  const flows: Flow[] = [];
  for (const to of endpoints) {
    if (nodeIp !== undefined) {
      const ingress = side(to.evaluator.evaluate({ direction: 'In', remoteIp: nodeIp, localIp: to.ip, localPort: port, protocol }));
      flows.push({ from: 'node', to: to.id, allowed: ingress.allowed, ingress });
    }
    for (const from of endpoints) {
      if (from === to) continue;
      const egress = side(from.evaluator.evaluate({ direction: 'Out', remoteIp: to.ip, localIp: from.ip, remotePort: port, protocol }));
      const ingress = side(to.evaluator.evaluate({ direction: 'In', remoteIp: from.ip, localIp: to.ip, localPort: port, protocol }));
      flows.push({ from: from.id, to: to.id, allowed: egress.allowed && ingress.allowed, egress, ingress });
    }
  }
  return {
    network: network.Name,
    protocol,
    port,
    nodeIp,
    endpoints: endpoints.map(({ evaluator: _e, ...rest }) => rest),
    flows,
  };
}
