/**
 * Kubernetes NetworkPolicy semantics for one connection, evaluated directly over the policy model:
 * which policies isolate the source for egress and the destination for ingress, and which of
 * their rules admit the connection. It shares nothing with the ACL compiler (no address lists, no
 * Priorities, no rule Ids), so `explain` can hold what HNS does with the programmed ACLs against
 * what the policies say, and a compiler bug or drift on the host shows as a disagreement.
 *
 * The rules, as the Kubernetes documentation states them: a pod is isolated in a direction once a
 * policy of its namespace selects it with that policy type; an isolated direction admits what
 * any rule of any selecting policy allows (union); a rule allows when one of its peers matches
 * the remote end (absent or empty `from`/`to`: everyone) and one of its ports matches (absent:
 * every port and protocol); a pod peer is a live, non-hostNetwork pod in the policy's namespace
 * or a namespace the `namespaceSelector` matches; an `ipBlock` matches its CIDR minus `except`; a
 * named port resolves on the destination pod. As flannel-win enforces it, traffic between a pod
 * and its node (or itself) is always allowed, and a rule the API server would refuse allows
 * nothing.
 * @module
 */
import { ip4NetContainsIp, tryParseIp4 } from '../net/ip.js';
import { selectorMatches } from './label-selector.js';
import { objectKey, PROTOCOL_NUMBER, type Labels, type PodView, type PolicyPeer, type PolicyPort, type PolicyRule, type PolicyView } from './model.js';

/** The cluster as the evaluator reads it (the policy state implements it). */
export interface KubeFlowCluster {
  /** The policies of one namespace, any order. */
  policiesIn(namespace: string): Iterable<PolicyView>;
  /** A namespace's labels, `kubernetes.io/metadata.name` included. */
  namespaceLabels(name: string): Labels;
}

/** One end of a connection: its IPv4 address and the pod holding it, if a pod does. */
export interface FlowEnd {
  /** Unsigned 32-bit IPv4 address. */
  readonly ip: number;
  readonly pod?: PodView | undefined;
}

/** One connection: `from` opens it to `to` on `protocol` (IANA number) and destination `port`. */
export interface KubeFlow {
  readonly from: FlowEnd;
  readonly to: FlowEnd;
  readonly protocol: number;
  readonly port: number;
  /** The node's IPs (text), always allowed both ways. */
  readonly nodeIps: readonly string[];
}

/**
 * Why one side decided as it did: `not-a-pod` (the end is no pod, so no policy applies to it),
 * `host-network` (a hostNetwork pod is never a policy target), `not-isolated` (no policy selects
 * the pod for this direction), `node` (the remote end is the node or the pod itself), `rule`
 * (a rule admits it: see `allowedBy`), `no-rule` (isolated and no rule admits it).
 */
export type KubeSideReason = 'not-a-pod' | 'host-network' | 'not-isolated' | 'node' | 'rule' | 'no-rule';

/** A NetworkPolicy rule: `ns/name` and its index in `spec.ingress` or `spec.egress`. */
export interface PolicyRuleRef {
  readonly policy: string;
  readonly rule: number;
}

/** One side's verdict: the source's egress or the destination's ingress. */
export interface KubeSideVerdict {
  readonly allowed: boolean;
  readonly reason: KubeSideReason;
  /** The policies isolating this side (`ns/name`, name order); empty when not isolated. */
  readonly isolatedBy: readonly string[];
  /** Every rule that admits the connection, policy name order then rule order. */
  readonly allowedBy: readonly PolicyRuleRef[];
}

/** The connection's verdict: allowed when both sides allow it. */
export interface KubeFlowVerdict {
  readonly allowed: boolean;
  readonly egress: KubeSideVerdict;
  readonly ingress: KubeSideVerdict;
}

function ip4sOf(pod: PodView): number[] {
  return pod.ips.flatMap((text) => {
    const ip = tryParseIp4(text);
    return ip === undefined ? [] : [ip];
  });
}

/**
 * The end's pod when it can be a policy peer: not hostNetwork (it has the node's address), not
 * finished (its address may already be another pod's), with an IPv4 address.
 */
function peerPodOf(end: FlowEnd): PodView | undefined {
  const pod = end.pod;
  return pod && !pod.hostNetwork && pod.phase !== 'Succeeded' && pod.phase !== 'Failed' && ip4sOf(pod).length > 0 ? pod : undefined;
}

/** A policy selects the pods of its own namespace its pod selector matches (an invalid one: all of them). */
function selects(policy: PolicyView, pod: PodView): boolean {
  return policy.namespace === pod.namespace && (policy.podSelector === undefined || selectorMatches(policy.podSelector, pod.labels));
}

function peerMatches(cluster: KubeFlowCluster, peer: PolicyPeer, policyNamespace: string, remote: FlowEnd): boolean {
  if (peer.kind === 'ipBlock') return ip4NetContainsIp(peer.cidr, remote.ip) && !peer.except.some((e) => ip4NetContainsIp(e, remote.ip));
  const pod = peerPodOf(remote);
  if (!pod) return false;
  const namespaceOk = peer.namespaceSelector === undefined ? pod.namespace === policyNamespace : selectorMatches(peer.namespaceSelector, cluster.namespaceLabels(pod.namespace));
  return namespaceOk && (peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels));
}

/** A `ports` entry against the connection; a named port is looked up on `receiver` (none: no match). */
function portMatches(entry: PolicyPort, protocol: number, port: number, receiver: PodView | undefined): boolean {
  if (PROTOCOL_NUMBER[entry.protocol] !== protocol) return false;
  if (entry.port === undefined) return true;
  if (typeof entry.port === 'number') return port >= entry.port && port <= (entry.endPort ?? entry.port);
  return receiver !== undefined && receiver.namedPorts.some((np) => np.name === entry.port && np.protocol === entry.protocol && np.port === port);
}

function ruleAllows(cluster: KubeFlowCluster, rule: PolicyRule, policyNamespace: string, remote: FlowEnd, flow: KubeFlow, receiver: PodView | undefined): boolean {
  if (rule.invalid !== undefined) return false;
  const peerOk = rule.peers === 'any' || rule.peers.some((peer) => peerMatches(cluster, peer, policyNamespace, remote));
  return peerOk && (rule.ports === 'any' || rule.ports.some((entry) => portMatches(entry, flow.protocol, flow.port, receiver)));
}

function byName(a: PolicyView, b: PolicyView): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** One side: `local` is the pod whose policies decide (the source for egress, the destination for ingress). */
function evaluateSide(cluster: KubeFlowCluster, flow: KubeFlow, direction: 'ingress' | 'egress'): KubeSideVerdict {
  const local = direction === 'egress' ? flow.from : flow.to;
  const remote = direction === 'egress' ? flow.to : flow.from;
  const pod = local.pod;
  if (!pod) return { allowed: true, reason: 'not-a-pod', isolatedBy: [], allowedBy: [] };
  if (pod.hostNetwork) return { allowed: true, reason: 'host-network', isolatedBy: [], allowedBy: [] };
  const selecting = [...cluster.policiesIn(pod.namespace)].filter((p) => p.policyTypes[direction] && selects(p, pod)).sort(byName);
  const isolatedBy = selecting.map(objectKey);
  if (selecting.length === 0) return { allowed: true, reason: 'not-isolated', isolatedBy, allowedBy: [] };
  const always = new Set([...ip4sOf(pod), ...flow.nodeIps.flatMap((t) => tryParseIp4(t) ?? [])]);
  if (always.has(remote.ip)) return { allowed: true, reason: 'node', isolatedBy, allowedBy: [] };
  // The named port of a connection is the destination pod's: this pod for ingress, the remote one for egress.
  const receiver = direction === 'ingress' ? pod : peerPodOf(remote);
  const allowedBy: PolicyRuleRef[] = [];
  for (const policy of selecting) {
    const rules = direction === 'ingress' ? policy.ingress : policy.egress;
    rules.forEach((rule, index) => {
      if (ruleAllows(cluster, rule, policy.namespace, remote, flow, receiver)) allowedBy.push({ policy: objectKey(policy), rule: index });
    });
  }
  return { allowed: allowedBy.length > 0, reason: allowedBy.length > 0 ? 'rule' : 'no-rule', isolatedBy, allowedBy };
}

/** Evaluates one connection by Kubernetes NetworkPolicy semantics (see the module comment). */
export function evaluateKubeFlow(cluster: KubeFlowCluster, flow: KubeFlow): KubeFlowVerdict {
  const egress = evaluateSide(cluster, flow, 'egress');
  const ingress = evaluateSide(cluster, flow, 'ingress');
  return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}
