/**
 * The compiler: one local pod's NetworkPolicies as an ordered list of HNS v2 ACL rules, with
 * Kubernetes semantics and HNS's encoding rules. Pure and deterministic: equal inputs give equal
 * bytes, so an unchanged list is recognised and never re-sent (a re-apply resets connections).
 *
 * Layout of a compiled list (lower Priority is evaluated first):
 *   100          allow In and Out with the node's IPs and the pod's own (kubelet probes)
 *   1000...      allows: per direction, the rules of the selecting policies (policy name order,
 *                rule order), or one allow-all when no policy isolates that direction
 *   65000        block In / block Out, for each isolated direction
 * Only allows share Priorities with each other (past 64999 rules), never with a block: HNS does
 * not break such ties by list order. HNS has no negation, so an ipBlock's `except` is subtracted
 * from the allowed addresses and union semantics hold. A pod no policy isolates gets no ACL at
 * all: any ACL makes HNS drop what no rule allows.
 */
import type { AclPolicySetting } from '../hns/types.js';
import { tryParseIp4 } from '../net/ip.js';
import { blockRuleId, nodeRuleId, openRuleId, policyRuleId, type AclDirectionTag } from './acl-id.js';
import { selectorMatches } from './label-selector.js';
import { objectKey, PROTOCOL_NUMBER, type PodView, type PolicyView } from './model.js';
import { addressChunks, chunked, MAX_ENTRIES_PER_RULE, namedPortKey, type RuleTargets } from './rule-targets.js';

export { MAX_ENTRIES_PER_RULE };

/** Priority of the node (and self) allow rules. */
export const NODE_RULE_PRIORITY = 100;
/** Priority of the first policy allow of each direction. */
export const FIRST_ALLOW_PRIORITY = 1000;
/** Priority of the last allow; later allows share it. */
export const LAST_ALLOW_PRIORITY = 64999;
/** Priority of the final block of an isolated direction. */
export const BLOCK_PRIORITY = 65000;

/** One local pod's compiled ACLs. */
export interface CompiledPodAcls {
  /** `namespace/name` of the pod. */
  readonly pod: string;
  /** The ordered ACL settings; empty when no policy isolates the pod. */
  readonly acls: readonly AclPolicySetting[];
  readonly ingressIsolated: boolean;
  readonly egressIsolated: boolean;
  /** `namespace/name` of every policy that selects the pod, in name order. */
  readonly policies: readonly string[];
}

/** What compiling one pod reads. */
export interface CompileInput {
  readonly pod: PodView;
  /** The policies of the pod's namespace (any order). */
  readonly policies: Iterable<PolicyView>;
  /** The node's own IPs (v6 ignored). */
  readonly nodeIps: readonly string[];
  /** The resolved peers of rule `index` of `policy`'s ingress ('in') or egress ('out') list. */
  readonly targets: (policy: PolicyView, direction: AclDirectionTag, index: number) => RuleTargets;
}

/** True when `policy` selects `pod` (an invalid pod selector selects its whole namespace: fail closed). */
export function policySelects(policy: PolicyView, pod: PodView): boolean {
  return policy.namespace === pod.namespace && (policy.podSelector === undefined || selectorMatches(policy.podSelector, pod.labels));
}

/** A port set: `'all'` or sorted distinct numbers. */
type Ports = 'all' | number[];

function portList(ranges: readonly { from: number; to: number }[]): Ports {
  const set = new Set<number>();
  for (const r of ranges) {
    if (r.from === 1 && r.to === 65535) return 'all';
    // v2 support for "a-b" ranges is unconfirmed; Azure NPM expands them, and so do we.
    for (let p = r.from; p <= r.to; p++) set.add(p);
  }
  return [...set].sort((a, b) => a - b);
}

/** One allow of a policy rule before chunking: protocol (undefined = any), ports, addresses. */
interface AllowPart {
  readonly protocol: number | undefined;
  readonly ports: Ports;
  /** `'any'`, or address-list chunks (none: nobody). */
  readonly addresses: 'any' | readonly string[];
}

/** The allows of one rule, in a deterministic order: numeric ports by protocol, then named ports. */
function ruleParts(policy: PolicyView, direction: AclDirectionTag, index: number, pod: PodView, targets: RuleTargets): AllowPart[] {
  const rule = (direction === 'in' ? policy.ingress : policy.egress)[index]!;
  if (rule.invalid !== undefined) return [];
  if (rule.ports === 'any') return [{ protocol: undefined, ports: 'all', addresses: targets.addresses }];
  const numeric = new Map<number, { from: number; to: number }[]>();
  const named: AllowPart[] = [];
  for (const port of rule.ports) {
    const protocol = PROTOCOL_NUMBER[port.protocol];
    const list = numeric.get(protocol) ?? [];
    if (port.port === undefined) {
      numeric.set(protocol, [...list, { from: 1, to: 65535 }]);
    } else if (typeof port.port === 'number') {
      numeric.set(protocol, [...list, { from: port.port, to: port.endPort ?? port.port }]);
    } else if (direction === 'in') {
      // Ingress: the name resolves on the pod receiving the connection, this one.
      const found = pod.namedPorts.find((np) => np.name === port.port && np.protocol === port.protocol);
      if (found) numeric.set(protocol, [...list, { from: found.port, to: found.port }]);
    }
  }
  const parts: AllowPart[] = [...numeric.keys()].sort((a, b) => a - b).map((protocol) => ({ protocol, ports: portList(numeric.get(protocol)!), addresses: targets.addresses }));
  if (direction === 'out') {
    const seen = new Set<string>();
    for (const port of rule.ports) {
      if (typeof port.port !== 'string') continue;
      const protocol = PROTOCOL_NUMBER[port.protocol];
      const key = namedPortKey(protocol, port.port);
      if (seen.has(key)) continue;
      seen.add(key);
      const byPort = targets.namedPorts.get(key);
      if (!byPort) continue;
      for (const portNumber of [...byPort.keys()].sort((a, b) => a - b)) named.push({ protocol, ports: [portNumber], addresses: byPort.get(portNumber)! });
    }
  }
  return [...parts, ...named];
}

/** Issues Priorities: ascending per direction, capped below the blocks. */
class PriorityCounter {
  private next = FIRST_ALLOW_PRIORITY;
  take(): number {
    const p = this.next;
    if (this.next < LAST_ALLOW_PRIORITY) this.next++;
    return p;
  }
}

function allowRule(id: string, direction: AclDirectionTag, priority: number, protocol: number | undefined, ports: readonly number[] | 'all', addresses: string | 'any'): AclPolicySetting {
  const rule: AclPolicySetting = { Id: id, Action: 'Allow', Direction: direction === 'in' ? 'In' : 'Out' };
  if (protocol !== undefined) rule.Protocols = String(protocol);
  if (addresses !== 'any') rule.RemoteAddresses = addresses;
  if (ports !== 'all') {
    if (direction === 'in') rule.LocalPorts = ports.join(',');
    else rule.RemotePorts = ports.join(',');
  }
  rule.RuleType = 'Switch';
  rule.Priority = priority;
  return rule;
}

function compileDirection(input: CompileInput, selecting: readonly PolicyView[], direction: AclDirectionTag): AclPolicySetting[] {
  const counter = new PriorityCounter();
  const out: AclPolicySetting[] = [];
  for (const policy of selecting) {
    if (!(direction === 'in' ? policy.policyTypes.ingress : policy.policyTypes.egress)) continue;
    const rules = direction === 'in' ? policy.ingress : policy.egress;
    for (let index = 0; index < rules.length; index++) {
      let piece = 0;
      for (const part of ruleParts(policy, direction, index, input.pod, input.targets(policy, direction, index))) {
        // An empty address list is "any" to HNS: a peer set that matches nobody has no chunk, so no rule.
        for (const addressChunk of part.addresses === 'any' ? ['any' as const] : part.addresses) {
          for (const portChunk of part.ports === 'all' ? ['all' as const] : chunked(part.ports)) {
            out.push(allowRule(policyRuleId(direction, policy.namespace, policy.name, index, piece++), direction, counter.take(), part.protocol, portChunk, addressChunk));
          }
        }
      }
    }
  }
  return out;
}

/**
 * Compiles one pod's ACL list. A hostNetwork pod is never a NetworkPolicy target and gets none.
 */
export function compilePodAcls(input: CompileInput): CompiledPodAcls {
  const { pod } = input;
  const podKey = objectKey(pod);
  const selecting = [...input.policies].filter((p) => policySelects(p, pod)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const ingressIsolated = !pod.hostNetwork && selecting.some((p) => p.policyTypes.ingress);
  const egressIsolated = !pod.hostNetwork && selecting.some((p) => p.policyTypes.egress);
  const policies = selecting.map(objectKey);
  if (!ingressIsolated && !egressIsolated) return { pod: podKey, acls: [], ingressIsolated, egressIsolated, policies };

  const acls: AclPolicySetting[] = [];
  const always = [...pod.ips, ...input.nodeIps].flatMap((text) => {
    const ip = tryParseIp4(text);
    return ip === undefined ? [] : [{ first: ip, last: ip }];
  });
  const alwaysChunks = addressChunks(always);
  for (const direction of ['in', 'out'] as const) {
    for (const chunk of alwaysChunks) {
      acls.push({ Id: nodeRuleId(direction), Action: 'Allow', Direction: direction === 'in' ? 'In' : 'Out', RemoteAddresses: chunk, RuleType: 'Switch', Priority: NODE_RULE_PRIORITY });
    }
  }
  for (const direction of ['in', 'out'] as const) {
    const isolated = direction === 'in' ? ingressIsolated : egressIsolated;
    if (!isolated) {
      acls.push(allowRule(openRuleId(direction), direction, FIRST_ALLOW_PRIORITY, undefined, 'all', 'any'));
      continue;
    }
    acls.push(...compileDirection(input, selecting, direction));
  }
  for (const direction of ['in', 'out'] as const) {
    if (direction === 'in' ? ingressIsolated : egressIsolated) {
      acls.push({ Id: blockRuleId(direction), Action: 'Block', Direction: direction === 'in' ? 'In' : 'Out', RuleType: 'Switch', Priority: BLOCK_PRIORITY });
    }
  }
  return { pod: podKey, acls, ingressIsolated, egressIsolated, policies };
}
