/**
 * The compact views the policy compiler reads: only what NetworkPolicy semantics need from Pods,
 * Namespaces and NetworkPolicies, never whole API objects. The Kubernetes watches produce these;
 * the compiler and its index consume them. Every field is plain data and treated as immutable.
 */
import type { Ip4Net } from '../net/ip.js';
import type { LabelSelector } from './label-selector.js';

/** Transport protocols a NetworkPolicy port may name (`protocol` defaults to TCP). */
export type PolicyProtocol = 'TCP' | 'UDP' | 'SCTP';

/** IANA protocol numbers, as HNS ACLs carry them (`Protocols: "6"`). */
export const PROTOCOL_NUMBER: Readonly<Record<PolicyProtocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

export type Labels = Readonly<Record<string, string>>;

/** A named container port (`spec.containers[].ports[]` with a `name`). */
export interface NamedPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: PolicyProtocol;
}

/** A pod, as far as NetworkPolicy cares. */
export interface PodView {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** `status.podIPs` (v4 and v6 as text); the compiler uses the IPv4 ones. */
  readonly ips: readonly string[];
  readonly nodeName?: string | undefined;
  /** A hostNetwork pod shares its node's IPs: never a policy target, never a pod peer. */
  readonly hostNetwork: boolean;
  /** `status.phase`; a `Succeeded` or `Failed` pod is no peer (its IP may already be reused). */
  readonly phase?: string | undefined;
  readonly namedPorts: readonly NamedPort[];
}

/** A namespace: its name and labels. `kubernetes.io/metadata.name` is implied (see `namespaceLabels`). */
export interface NamespaceView {
  readonly name: string;
  readonly labels: Labels;
}

/** The label every namespace carries, set by the API server and immutable. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A namespace's labels including the implied `kubernetes.io/metadata.name`. */
export function namespaceLabels(name: string, ns: NamespaceView | undefined): Labels {
  return { ...(ns?.labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
}

/** `namespace/name`: the key of a pod or a policy. */
export function objectKey(o: { readonly namespace: string; readonly name: string }): string {
  return `${o.namespace}/${o.name}`;
}

/**
 * A `from`/`to` entry. `pods`: pods matching `podSelector` (absent = every pod) in the policy's
 * own namespace, or, with `namespaceSelector`, in the namespaces it matches (both = AND).
 * `ipBlock`: every IPv4 address in `cidr` and in none of `except` (masked, host bits dropped).
 */
export type PolicyPeer =
  | { readonly kind: 'pods'; readonly podSelector?: LabelSelector; readonly namespaceSelector?: LabelSelector }
  | { readonly kind: 'ipBlock'; readonly cidr: Ip4Net; readonly except: readonly Ip4Net[] };

/**
 * One `ports` entry. `port` absent: every port of the protocol; a number, with `endPort` an
 * inclusive range; a string: a named container port resolved on the receiving pod.
 */
export interface PolicyPort {
  readonly protocol: PolicyProtocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

/**
 * One ingress or egress rule. `peers: 'any'` (absent or empty `from`/`to`) is everyone, also
 * outside the cluster; a list that ended up empty (only IPv6 peers) matches nobody. `ports: 'any'`
 * is every port and protocol. `invalid` holds why the API server would reject the rule: it then
 * allows nothing (fail closed).
 */
export interface PolicyRule {
  readonly peers: 'any' | readonly PolicyPeer[];
  readonly ports: 'any' | readonly PolicyPort[];
  readonly invalid?: string;
}

/** Which directions a policy isolates, after the API server's defaulting of `policyTypes`. */
export interface PolicyTypes {
  readonly ingress: boolean;
  readonly egress: boolean;
}

/** A normalised `networking.k8s.io/v1` NetworkPolicy. */
export interface PolicyView {
  readonly namespace: string;
  readonly name: string;
  /** `undefined` when the selector itself is invalid: the policy then selects every pod of its namespace (fail closed). */
  readonly podSelector: LabelSelector | undefined;
  readonly policyTypes: PolicyTypes;
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
  /** Reasons the API server would reject parts of this policy, each naming the field; empty when valid. */
  readonly problems: readonly string[];
  /** Things ignored on purpose (IPv6 peers), each naming the field. */
  readonly notes: readonly string[];
}
