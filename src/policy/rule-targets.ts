/**
 * What one policy rule's peers resolve to in the current cluster: the remote addresses it allows
 * and, for egress, where each named port lands (a named port resolves on each destination pod,
 * so one name can mean a different number on each). Addresses come out as HNS address lists
 * (fewest exact CIDRs, split at 4,000 entries), ready to be placed in rules. The result is the
 * same for every local pod the policy selects, and for every policy with the same peers, so the
 * policy state caches it by content.
 */
import { selectorMatches, type LabelSelector } from './label-selector.js';
import { normalizeRanges, netRange, rangesContain, rangesToCidrs, subtractRanges, type Ip4Range } from './ip4-set.js';
import { PROTOCOL_NUMBER, type PodView, type PolicyPeer, type PolicyRule } from './model.js';

/** At most this many addresses, and this many ports, in one rule (Microsoft's advice to Calico). */
export const MAX_ENTRIES_PER_RULE = 4000;

/** A pod that can be a peer, with its IPv4 addresses parsed once. */
export interface PeerPod {
  readonly view: PodView;
  readonly ip4: readonly number[];
}

/** The cluster as rule resolution reads it (implemented by the policy state's indexes). */
export interface PeerSource {
  /** Peer-eligible pods of one namespace (see `isPeerPod`). */
  podsIn(namespace: string): Iterable<PeerPod>;
  /** Names of the namespaces the `namespaceSelector` matches (with the implied name label). */
  namespacesMatching(selector: LabelSelector): Iterable<string>;
  /** Every peer-eligible pod of the cluster. */
  allPods(): Iterable<PeerPod>;
}

/**
 * A pod that can be a policy peer: not hostNetwork (it has its node's IP), not finished (its IP
 * may already belong to another pod), with an IPv4 address.
 */
export function isPeerPod(pod: PodView, ip4: readonly number[]): boolean {
  return !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed' && ip4.length > 0;
}

/** The resolved targets of one rule, as HNS address lists. */
export interface RuleTargets {
  /** The allowed remote addresses: `'any'` for an absent/empty peer list, else chunks of comma-joined CIDRs (none: nobody). */
  readonly addresses: 'any' | readonly string[];
  /**
   * Egress only: per named port (`<protocol number>/<name>`), each destination port number and
   * the address chunks of the peer pods that declare it.
   */
  readonly namedPorts: ReadonlyMap<string, ReadonlyMap<number, readonly string[]>>;
}

/** Splits a list into chunks of at most `MAX_ENTRIES_PER_RULE`; an empty list gives one empty chunk. */
export function chunked<T>(items: readonly T[]): T[][] {
  if (items.length === 0) return [[]];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_ENTRIES_PER_RULE) out.push(items.slice(i, i + MAX_ENTRIES_PER_RULE));
  return out;
}

/** Address ranges as HNS address-list chunks; none when the set is empty. */
export function addressChunks(ranges: readonly Ip4Range[]): string[] {
  const cidrs = rangesToCidrs(normalizeRanges(ranges));
  return cidrs.length === 0 ? [] : chunked(cidrs).map((c) => c.join(','));
}

/** The pods a `pods` peer designates, for a policy in `policyNamespace`. */
export function* peerPods(peer: Extract<PolicyPeer, { kind: 'pods' }>, policyNamespace: string, source: PeerSource): Iterable<PeerPod> {
  const namespaces = peer.namespaceSelector === undefined ? [policyNamespace] : source.namespacesMatching(peer.namespaceSelector);
  for (const ns of namespaces) {
    for (const pod of source.podsIn(ns)) {
      if (peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.view.labels)) yield pod;
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
  const named = new Map<string, Map<number, Ip4Range[]>>();
  const addNamed = (pod: PeerPod, only?: (ip: number) => boolean): void => {
    for (const want of names) {
      const found = pod.view.namedPorts.find((np) => np.name === want.port && np.protocol === want.protocol);
      if (!found) continue;
      const key = namedPortKey(PROTOCOL_NUMBER[want.protocol], want.port as string);
      const byPort = named.get(key) ?? new Map<number, Ip4Range[]>();
      named.set(key, byPort);
      const ranges = byPort.get(found.port) ?? [];
      byPort.set(found.port, ranges);
      for (const ip of pod.ip4) if (!only || only(ip)) ranges.push({ first: ip, last: ip });
    }
  };
  let addresses: 'any' | string[];
  if (rule.peers === 'any') {
    addresses = 'any';
    if (names.length > 0) for (const pod of source.allPods()) addNamed(pod);
  } else {
    const ranges: Ip4Range[] = [];
    const blocks: Ip4Range[][] = [];
    for (const peer of rule.peers) {
      if (peer.kind === 'ipBlock') {
        const r = ipBlockRanges(peer);
        for (const x of r) ranges.push(x);
        blocks.push(r);
        continue;
      }
      for (const pod of peerPods(peer, policyNamespace, source)) {
        for (const ip of pod.ip4) ranges.push({ first: ip, last: ip });
        if (names.length > 0) addNamed(pod);
      }
    }
    if (names.length > 0 && blocks.length > 0) {
      const inBlock = (ip: number): boolean => blocks.some((b) => rangesContain(b, ip));
      for (const pod of source.allPods()) if (pod.ip4.some(inBlock)) addNamed(pod, inBlock);
    }
    addresses = addressChunks(ranges);
  }
  const namedPorts = new Map<string, Map<number, string[]>>();
  for (const [key, byPort] of named) namedPorts.set(key, new Map([...byPort].map(([port, r]) => [port, addressChunks(r)])));
  return { addresses, namedPorts };
}
