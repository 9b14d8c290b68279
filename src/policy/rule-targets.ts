/**
 * What one policy rule's peers resolve to in the current cluster: the remote addresses it allows
 * and, for egress, where each named port lands (a named port resolves on each destination pod,
 * so one name can mean a different number on each). The same for every local pod a policy
 * selects, so the policy state computes it once per rule and caches it.
 */
import { tryParseIp4 } from '../net/ip.js';
import { selectorMatches, type LabelSelector } from './label-selector.js';
import { normalizeRanges, netRange, rangesContain, subtractRanges, type Ip4Range } from './ip4-set.js';
import { PROTOCOL_NUMBER, type PodView, type PolicyPeer, type PolicyRule } from './model.js';

/** The cluster as rule resolution reads it (implemented by the policy state's indexes). */
export interface PeerSource {
  /** Peer-eligible pods of one namespace (see `isPeerPod`). */
  podsIn(namespace: string): Iterable<PodView>;
  /** Names of the namespaces the `namespaceSelector` matches (with the implied name label). */
  namespacesMatching(selector: LabelSelector): Iterable<string>;
  /** Every peer-eligible pod of the cluster. */
  allPods(): Iterable<PodView>;
}

/** A pod that can be a policy peer: not hostNetwork, not finished, with an IPv4 address. */
export function isPeerPod(pod: PodView): boolean {
  return !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed' && pod.ips.some((ip) => tryParseIp4(ip) !== undefined);
}

/** A pod's IPv4 addresses as single-address ranges. */
export function podRanges(pod: PodView): Ip4Range[] {
  const out: Ip4Range[] = [];
  for (const text of pod.ips) {
    const ip = tryParseIp4(text);
    if (ip !== undefined) out.push({ first: ip, last: ip });
  }
  return out;
}

/** The resolved targets of one rule. */
export interface RuleTargets {
  /** The allowed remote addresses; `'any'` for an absent/empty peer list; may be empty. */
  readonly addresses: 'any' | readonly Ip4Range[];
  /**
   * Egress only: per named port (`<protocol number>/<name>`), the destination port numbers and,
   * for each, the addresses of the peer pods that declare it.
   */
  readonly namedPorts: ReadonlyMap<string, ReadonlyMap<number, readonly Ip4Range[]>>;
}

/** The pods a `pods` peer designates, for a policy in `policyNamespace`. */
export function* peerPods(peer: Extract<PolicyPeer, { kind: 'pods' }>, policyNamespace: string, source: PeerSource): Iterable<PodView> {
  const namespaces = peer.namespaceSelector === undefined ? [policyNamespace] : source.namespacesMatching(peer.namespaceSelector);
  for (const ns of namespaces) {
    for (const pod of source.podsIn(ns)) {
      if (peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels)) yield pod;
    }
  }
}

function ipBlockRanges(peer: Extract<PolicyPeer, { kind: 'ipBlock' }>): Ip4Range[] {
  return subtractRanges([netRange(peer.cidr)], normalizeRanges(peer.except.map(netRange)));
}

/** The `<protocol number>/<name>` key of a named port. */
export function namedPortKey(protocolNumber: number, name: string): string {
  return `${protocolNumber}/${name}`;
}

/**
 * Resolves `rule` of a policy in `policyNamespace`. Egress named ports resolve on the peer pods
 * (for ipBlock peers and for "everyone": on the cluster's pods whose address the peer covers);
 * a named port never matches an address outside the cluster's pods.
 */
export function resolveRuleTargets(rule: PolicyRule, direction: 'in' | 'out', policyNamespace: string, source: PeerSource): RuleTargets {
  if (rule.invalid !== undefined) return { addresses: [], namedPorts: new Map() };
  const names = direction === 'out' && rule.ports !== 'any' ? rule.ports.filter((p) => typeof p.port === 'string') : [];
  const namedPorts = new Map<string, Map<number, Ip4Range[]>>();
  const addNamed = (pod: PodView): void => {
    for (const want of names) {
      const found = pod.namedPorts.find((np) => np.name === want.port && np.protocol === want.protocol);
      if (!found) continue;
      const key = namedPortKey(PROTOCOL_NUMBER[want.protocol], want.port as string);
      const byPort = namedPorts.get(key) ?? new Map<number, Ip4Range[]>();
      namedPorts.set(key, byPort);
      byPort.set(found.port, [...(byPort.get(found.port) ?? []), ...podRanges(pod)]);
    }
  };
  let addresses: 'any' | Ip4Range[];
  if (rule.peers === 'any') {
    addresses = 'any';
    if (names.length > 0) for (const pod of source.allPods()) addNamed(pod);
  } else {
    const ranges: Ip4Range[] = [];
    const blocks: Ip4Range[][] = [];
    for (const peer of rule.peers) {
      if (peer.kind === 'ipBlock') {
        const r = ipBlockRanges(peer);
        ranges.push(...r);
        blocks.push(r);
        continue;
      }
      for (const pod of peerPods(peer, policyNamespace, source)) {
        ranges.push(...podRanges(pod));
        if (names.length > 0) addNamed(pod);
      }
    }
    if (names.length > 0 && blocks.length > 0) {
      for (const pod of source.allPods()) {
        if (podRanges(pod).some((r) => blocks.some((b) => rangesContain(b, r.first)))) addNamed(pod);
      }
    }
    addresses = normalizeRanges(ranges);
  }
  for (const byPort of namedPorts.values()) for (const [port, r] of byPort) byPort.set(port, normalizeRanges(r));
  return { addresses, namedPorts };
}
