/**
 * What the ACLs programmed on this node's pod endpoints decide for one connection, as HNS
 * evaluates them: the source pod's egress (Out) rules and the destination pod's ingress (In)
 * rules, each side's deciding rule and the NetworkPolicy rule it came from (read back from the
 * rule's Id). Pure over the endpoint documents; `explain` lists them read-only.
 * @module
 */
import { FlannelWinError } from '../errors.js';
import type { AclPolicySetting, HostComputeEndpoint } from '../hns/types.js';
import { parseAclId } from '../policy/acl-id.js';
import { HnsAclEvaluator, type AclVerdict } from '../policy/hns-acl-evaluator.js';
import { asHnsReadsIt } from '../sim/flow-matrix.js';

/** One side of the connection as the endpoint's ACLs decide it. */
export interface ExplainedSide {
  endpoint: string;
  ip: string;
  allowed: boolean;
  reason: AclVerdict['reason'];
  /** The deciding rule's Id (`reason: rule`). */
  ruleId?: string;
  /** What the deciding rule is, in an operator's words. */
  origin: string;
  /** The NetworkPolicy (`ns/name`) and rule index, when a policy's allow decided. */
  policy?: { ref: string; rule: number };
  ambiguous: boolean;
}

export interface FlowExplanation {
  from: string;
  to: string;
  protocol: number;
  port: number;
  network: string;
  allowed: boolean;
  /** The source pod's egress; absent when the source is not a local pod (not decided here). */
  egress?: ExplainedSide;
  /** The destination pod's ingress; absent when the destination is not a local pod. */
  ingress?: ExplainedSide;
}

function describe(verdict: AclVerdict): Pick<ExplainedSide, 'origin' | 'policy' | 'ruleId'> {
  if (verdict.reason === 'no-acl') return { origin: 'no ACL: not isolated' };
  if (verdict.reason === 'default-deny') return { origin: 'default block: ACLs present, none matched' };
  const ruleId = verdict.rule?.Id ?? '(no Id)';
  const id = parseAclId(verdict.rule?.Id);
  if (id === undefined) return { ruleId, origin: 'a rule not written by flannel-win' };
  const dir = id.direction === 'in' ? 'ingress' : 'egress';
  if (id.kind !== 'policy') {
    if (id.kind === 'node') return { ruleId, origin: 'node traffic (always allowed)' };
    if (id.kind === 'open') return { ruleId, origin: `${dir} not isolated by any policy` };
    return { ruleId, origin: `final block: ${dir} isolated and no policy rule allows this` };
  }
  return { ruleId, origin: `NetworkPolicy ${id.policyRef}, ${dir} rule ${id.rule}`, policy: { ref: id.policyRef, rule: id.rule } };
}

interface LocalEndpoint {
  id: string;
  ip: string;
  evaluator: HnsAclEvaluator;
}

function localEndpoints(endpoints: readonly HostComputeEndpoint[], networkName: string): Map<string, LocalEndpoint> {
  const byIp = new Map<string, LocalEndpoint>();
  for (const e of endpoints) {
    // Remote endpoints (flag 1) and the host's own endpoint carry no pod ACLs.
    if (((e.Flags ?? 0) & 1) !== 0 || e.Name === `${networkName}_ep`) continue;
    const ip = e.IpConfigurations?.find((c) => !c.IpAddress.includes(':'))?.IpAddress;
    if (ip === undefined) continue;
    const acls = (e.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => asHnsReadsIt(p.Settings as AclPolicySetting));
    byIp.set(ip, { id: e.ID ?? '', ip, evaluator: new HnsAclEvaluator(acls) });
  }
  return byIp;
}

function side(endpoint: LocalEndpoint, verdict: AclVerdict): ExplainedSide {
  return { endpoint: endpoint.id, ip: endpoint.ip, allowed: verdict.allowed, reason: verdict.reason, ...describe(verdict), ambiguous: verdict.ambiguous };
}

/** Pure: the verdict for one flow over the endpoints of the daemon's network. */
export function explainFlow(endpoints: readonly HostComputeEndpoint[], network: string, flow: { from: string; to: string; protocol: number; port: number }): FlowExplanation {
  const local = localEndpoints(endpoints, network);
  const src = local.get(flow.from);
  const dst = local.get(flow.to);
  if (!src && !dst) {
    throw new FlannelWinError('EXPLAIN_NOT_LOCAL', `neither ${flow.from} nor ${flow.to} is a pod endpoint on network "${network.slice(0, 64)}" of this node; run explain on the node of either pod`, { from: flow.from, to: flow.to, network: network.slice(0, 64) });
  }
  const egress = src && side(src, src.evaluator.evaluate({ direction: 'Out', remoteIp: flow.to, localIp: src.ip, remotePort: flow.port, protocol: flow.protocol }));
  const ingress = dst && side(dst, dst.evaluator.evaluate({ direction: 'In', remoteIp: flow.from, localIp: dst.ip, localPort: flow.port, protocol: flow.protocol }));
  return { ...flow, network, allowed: (egress?.allowed ?? true) && (ingress?.allowed ?? true), ...(egress ? { egress } : {}), ...(ingress ? { ingress } : {}) };
}

/** The pods behind the two addresses (`namespace/name`), when the daemon named them. */
export interface EndNames {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** An address and, when known, its pod: `10.244.1.5 (default/web)`. */
export function endLabel(ip: string, pod: string | undefined): string {
  return pod === undefined ? ip : `${ip} (${pod})`;
}

function renderSide(label: string, s: ExplainedSide | undefined, ip: string, pod: string | undefined): string {
  if (!s) return `  ${label} ${endLabel(ip, pod)}: not a pod endpoint of this node; not decided here`;
  const rule = s.ruleId !== undefined ? ` by ${s.ruleId}` : '';
  const warn = s.ambiguous ? ' (AMBIGUOUS: another rule with the same Priority and the other Action also matches)' : '';
  return `  ${label} ${ip} (${pod === undefined ? '' : `${pod}, `}endpoint ${s.endpoint}): ${s.allowed ? 'allowed' : 'blocked'}${rule}: ${s.origin}${warn}`;
}

/** The report lines of the programmed verdict: the connection, then each side. */
export function renderExplanation(e: FlowExplanation, protocolText: string, names: EndNames = {}): string[] {
  return [
    `${endLabel(e.from, names.from)} -> ${endLabel(e.to, names.to)} ${protocolText}/${e.port}: ${e.allowed ? 'ALLOWED' : 'BLOCKED'} by the programmed ACLs`,
    renderSide('egress at', e.egress, e.from, names.from),
    renderSide('ingress at', e.ingress, e.to, names.to),
  ];
}
