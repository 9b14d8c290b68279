/**
 * Holds what the programmed ACLs decide for a connection against what Kubernetes semantics give
 * for the current policies (the daemon's answer), side by side: only the sides this node
 * enforces (a local source's egress, a local destination's ingress) are compared, since the
 * other pod's endpoint is programmed on its own node. A disagreement is drift on the host (ACLs
 * changed behind the daemon's back, not yet repaired) or a bug, and the report says so.
 * @module
 */
import type { FlowAnswer, ResolvedEnd, SideAnswer } from '../policy/flow-question.js';
import type { FlowExplanation } from './programmed-flow.js';

export type FlowSide = 'egress' | 'ingress';

/** One side both verdicts cover. */
export interface SideComparison {
  readonly side: FlowSide;
  readonly programmed: boolean;
  readonly kubernetes: boolean;
}

/** The comparison, or why none was made. */
export type FlowComparison =
  | { readonly made: true; readonly match: boolean; readonly sides: readonly SideComparison[]; readonly notes: readonly string[] }
  | { readonly made: false; readonly reason: string };

function endOf(kube: FlowAnswer, side: FlowSide): ResolvedEnd {
  return side === 'egress' ? kube.from : kube.to;
}

/** Pure: compares the sides the programmed explanation decided with the daemon's Kubernetes verdict. */
export function compareFlow(programmed: FlowExplanation, kube: FlowAnswer): FlowComparison {
  const sides: SideComparison[] = [];
  const notes: string[] = [];
  for (const side of ['egress', 'ingress'] as const) {
    const decided = programmed[side];
    const end = endOf(kube, side);
    if (decided) sides.push({ side, programmed: decided.allowed, kubernetes: kube[side].allowed });
    else if (end.local) notes.push(`the daemon places ${end.pod ?? end.ip} on this node, but no pod endpoint of this node holds ${end.ip} (the CNI has not created it yet, or it was deleted)`);
  }
  return { made: true, match: sides.every((s) => s.programmed === s.kubernetes), sides, notes };
}

const verb = (allowed: boolean): string => (allowed ? 'allowed' : 'blocked');

function more(shown: number, total: number): string {
  return total > shown ? ` and ${total - shown} more` : '';
}

/** One side's Kubernetes reasoning in an operator's words, naming the policies it used. */
export function describeKubeSide(side: SideAnswer, direction: FlowSide, end: ResolvedEnd): string {
  const who = end.pod ?? end.ip;
  switch (side.reason) {
    case 'not-a-pod':
      return `${end.ip} is not a pod: no NetworkPolicy applies to its ${direction}`;
    case 'host-network':
      return `${who} is a hostNetwork pod: NetworkPolicy does not apply to it`;
    case 'not-isolated':
      return `no NetworkPolicy selects ${who} for ${direction}`;
    case 'node':
      return 'traffic with the node or the pod itself (always allowed)';
    case 'rule':
      return `NetworkPolicy ${side.allowedBy.map((r) => `${r.policy} ${direction} rule ${r.rule}`).join(', ')}${more(side.allowedBy.length, side.allowedByCount)}`;
    case 'no-rule':
      return `isolated by ${side.isolatedBy.join(', ')}${more(side.isolatedBy.length, side.isolatedByCount)}; no rule of them allows this`;
  }
}

function sideLabel(kube: FlowAnswer, side: FlowSide): string {
  const end = endOf(kube, side);
  const where = end.local ? 'this node' : end.node !== undefined ? `node ${end.node}, not compared here` : 'not a pod of this node';
  return `${side} at ${end.pod ?? end.ip} (${where})`;
}

/** The report lines of the Kubernetes verdict and the comparison's outcome. */
export function renderComparison(kube: FlowAnswer, comparison: FlowComparison & { made: true }): string[] {
  const lines = [`Kubernetes semantics (the daemon's view of the current policies): ${kube.allowed ? 'ALLOWED' : 'BLOCKED'}`];
  for (const side of ['egress', 'ingress'] as const) {
    const verdict = kube[side];
    lines.push(`  ${sideLabel(kube, side)}: ${verb(verdict.allowed)}${verdict.reason === 'rule' ? ' by' : ':'} ${describeKubeSide(verdict, side, endOf(kube, side))}`);
  }
  if (comparison.match) {
    const compared = comparison.sides.map((s) => `${s.side} at ${endOf(kube, s.side).pod ?? endOf(kube, s.side).ip}`).join(' and ');
    lines.push(`MATCH: the programmed ACLs decide as Kubernetes semantics do (${compared})`);
  } else {
    for (const s of comparison.sides.filter((c) => c.programmed !== c.kubernetes)) {
      const end = endOf(kube, s.side);
      lines.push(
        `MISMATCH (drift or a bug): programmed ACLs ${s.programmed ? 'allow' : 'block'}, Kubernetes semantics ${s.kubernetes ? 'allow' : 'block'}: ` +
          `${s.side} at ${end.pod ?? end.ip}: ${describeKubeSide(kube[s.side], s.side, end)}`,
      );
    }
    const pending = kube.pendingEndpointWrites ?? 0;
    lines.push(
      pending > 0
        ? `  the daemon has ${pending} endpoint ACL write(s) pending: the host may not have caught up yet; run explain again`
        : '  the daemon repairs ACLs changed on the host at its next resync (--resync-interval); if the mismatch outlives a resync, it is a bug: file a support bundle',
    );
  }
  for (const note of comparison.notes) lines.push(`  note: ${note}`);
  return lines;
}
