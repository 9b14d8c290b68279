/**
 * "May A open a connection to B on port N?" asked of the daemon's cluster view: the question as
 * the health server receives it (checked field by field), its ends resolved to pods and
 * addresses (`namespace/pod` or an IPv4), and the answer Kubernetes semantics give
 * (kube-semantics.ts). Pure: the cluster is read through a narrow interface, one lookup per end
 * and the policies of the two pods' namespaces, never a copy of the cluster.
 * @module
 */
import { FlannelWinError } from '../errors.js';
import { formatIp4, tryParseIp4 } from '../net/ip.js';
import { evaluateKubeFlow, type FlowEnd, type KubeFlowCluster, type KubeSideVerdict, type PolicyRuleRef } from './kube-semantics.js';
import { objectKey, type PodView } from './model.js';

/** One connection to explain: each end `namespace/pod` or an IPv4 address as given. */
export interface FlowQuestion {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  /** IANA protocol number (6 TCP, 17 UDP, 132 SCTP). */
  readonly protocol: number;
}

/**
 * A question that cannot be asked or answered; `code` says which: `BAD_FLOW_QUERY`,
 * `POD_NOT_FOUND`, `POD_HAS_NO_IPV4`, `POD_FINISHED` or `ADDRESS_AMBIGUOUS`.
 */
export class FlowQuestionError extends FlannelWinError {}

/** What the cluster view must answer (the policy state implements it). */
export interface FlowCluster extends KubeFlowCluster {
  pod(namespace: string, name: string): PodView | undefined;
  /** Every pod listing the IPv4 address (unsigned 32-bit). */
  podsAt(ip: number): readonly PodView[];
  readonly currentNodeIps: readonly string[];
  /** A pod of this node that NetworkPolicy applies to. */
  isLocalPod(pod: PodView): boolean;
}

/** An end as resolved: its address and, when a pod holds it, which pod and where it runs. */
export interface ResolvedEnd {
  /** What was asked (`namespace/pod` or the address). */
  readonly input: string;
  readonly ip: string;
  readonly pod?: string;
  readonly node?: string;
  /** A pod of this node, whose endpoint this node programs. */
  readonly local: boolean;
  readonly hostNetwork?: true;
}

/** One side's verdict with its lists cut to {@link MAX_LISTED}, and their full lengths. */
export interface SideAnswer extends KubeSideVerdict {
  readonly isolatedByCount: number;
  readonly allowedByCount: number;
}

/** The answer: both ends, and each side's verdict by Kubernetes semantics. */
export interface FlowAnswer {
  readonly from: ResolvedEnd;
  readonly to: ResolvedEnd;
  readonly protocol: number;
  readonly port: number;
  readonly allowed: boolean;
  /** The source's egress. */
  readonly egress: SideAnswer;
  /** The destination's ingress. */
  readonly ingress: SideAnswer;
  /**
   * Set by the daemon: endpoint ACL writes queued, in flight or waiting to be retried. While it
   * is above 0 the programmed ACLs may simply not have caught up with the policies yet.
   */
  readonly pendingEndpointWrites?: number;
}

/** Longest list of policies or rules in an answer: enough to act on, bounded for huge namespaces. */
export const MAX_LISTED = 20;

const PROTOCOL_NAMES: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };
const NAMESPACE_RE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const POD_NAME_RE = /^[a-z0-9](?:[-.a-z0-9]{0,251}[a-z0-9])?$/;
const FIELDS = new Set(['from', 'to', 'port', 'protocol']);

function bad(message: string, field: string, value?: string): FlowQuestionError {
  return new FlowQuestionError('BAD_FLOW_QUERY', message, value === undefined ? { field } : { field, value: value.slice(0, 64) });
}

function quoted(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
}

function endText(params: URLSearchParams, field: 'from' | 'to'): string {
  const value = params.get(field);
  if (value === null || value === '') throw bad(`${field} is required: namespace/pod or an IPv4 address`, field);
  if (tryParseIp4(value) !== undefined) return value;
  const slash = value.indexOf('/');
  const namespace = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (slash < 0 || !NAMESPACE_RE.test(namespace) || !POD_NAME_RE.test(name)) {
    throw bad(`${field} ${quoted(value)} is neither namespace/pod nor an IPv4 address`, field, value);
  }
  return value;
}

/**
 * Reads the query of `GET /policy/flow`: `from`, `to` (`namespace/pod` or IPv4), `port`
 * (1-65535), `protocol` (tcp, udp, sctp or a number 0-255; default tcp). Anything else, a
 * repeated field or a bad value is refused.
 * @throws FlowQuestionError `BAD_FLOW_QUERY` naming the field and the value.
 */
export function parseFlowQuery(params: URLSearchParams): FlowQuestion {
  for (const key of new Set(params.keys())) {
    if (!FIELDS.has(key)) throw bad(`unknown field ${quoted(key)}; the fields are from, to, port and protocol`, key.slice(0, 64));
    if (params.getAll(key).length > 1) throw bad(`${key} is given more than once`, key);
  }
  const from = endText(params, 'from');
  const to = endText(params, 'to');
  const portText = params.get('port') ?? '';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw bad(portText === '' ? 'port is required (1-65535)' : `port ${quoted(portText)} is not a port number (1-65535)`, 'port', portText);
  const protocolText = params.get('protocol') ?? 'tcp';
  const protocol = PROTOCOL_NAMES[protocolText.toLowerCase()] ?? (/^\d{1,3}$/.test(protocolText) ? Number(protocolText) : Number.NaN);
  if (!(protocol >= 0 && protocol <= 255)) throw bad(`protocol ${quoted(protocolText)} is not tcp, udp, sctp or a protocol number (0-255)`, 'protocol', protocolText);
  return { from, to, port, protocol };
}

function isFinished(pod: PodView): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

/** Resolves one end: a named pod must exist, run and have an IPv4 address; an address names the live pod holding it, if one does. */
function resolveEnd(cluster: FlowCluster, input: string): { end: FlowEnd; resolved: ResolvedEnd } {
  const ip = tryParseIp4(input);
  let pod: PodView | undefined;
  if (ip !== undefined) {
    // A finished pod may still list an address the IPAM already gave to a new pod.
    const live = cluster.podsAt(ip).filter((p) => !isFinished(p) && !p.hostNetwork);
    if (live.length > 1) {
      const names = live.map(objectKey).sort();
      throw new FlowQuestionError('ADDRESS_AMBIGUOUS', `${formatIp4(ip)} is claimed by ${names.length} running pods (${names.slice(0, 5).join(', ')}); ask by namespace/pod`, { ip: formatIp4(ip), pods: names.slice(0, 5) });
    }
    pod = live[0];
  } else {
    const slash = input.indexOf('/');
    pod = cluster.pod(input.slice(0, slash), input.slice(slash + 1));
    if (!pod) throw new FlowQuestionError('POD_NOT_FOUND', `pod ${input} does not exist (in the daemon's view of the cluster)`, { pod: input });
    if (isFinished(pod)) throw new FlowQuestionError('POD_FINISHED', `pod ${input} has finished (${pod.phase}); its address may already be another pod's`, { pod: input, phase: pod.phase });
  }
  const address = ip ?? pod?.ips.map((t) => tryParseIp4(t)).find((n) => n !== undefined);
  if (address === undefined) throw new FlowQuestionError('POD_HAS_NO_IPV4', `pod ${input} has no IPv4 address yet`, { pod: input });
  const resolved: ResolvedEnd = {
    input,
    ip: formatIp4(address),
    ...(pod ? { pod: objectKey(pod), ...(pod.nodeName !== undefined ? { node: pod.nodeName } : {}) } : {}),
    local: pod !== undefined && cluster.isLocalPod(pod),
    ...(pod?.hostNetwork ? { hostNetwork: true as const } : {}),
  };
  return { end: { ip: address, pod }, resolved };
}

function bounded(side: KubeSideVerdict): SideAnswer {
  const allowedBy: readonly PolicyRuleRef[] = side.allowedBy.slice(0, MAX_LISTED);
  return { ...side, isolatedBy: side.isolatedBy.slice(0, MAX_LISTED), allowedBy, isolatedByCount: side.isolatedBy.length, allowedByCount: side.allowedBy.length };
}

/**
 * Resolves the question's ends and evaluates the connection by Kubernetes semantics.
 * @throws FlowQuestionError `POD_NOT_FOUND`, `POD_FINISHED`, `POD_HAS_NO_IPV4` or `ADDRESS_AMBIGUOUS`.
 */
export function answerFlowQuestion(cluster: FlowCluster, question: FlowQuestion): FlowAnswer {
  const from = resolveEnd(cluster, question.from);
  const to = resolveEnd(cluster, question.to);
  const verdict = evaluateKubeFlow(cluster, { from: from.end, to: to.end, protocol: question.protocol, port: question.port, nodeIps: cluster.currentNodeIps });
  return { from: from.resolved, to: to.resolved, protocol: question.protocol, port: question.port, allowed: verdict.allowed, egress: bounded(verdict.egress), ingress: bounded(verdict.ingress) };
}
