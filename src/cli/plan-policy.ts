/**
 * `plan`'s NetworkPolicy part: the endpoint ACL writes the policy controller would make on its
 * first snapshot, by its own code (loadClusterSnapshot, compileIntoPlan, EndpointAclPlan's
 * match, EndpointAclKind's listing and comparison through planWrites). The cluster is read with
 * one paged list per kind (GET only, no watch); the endpoints through the read-only host.
 * @module
 */
import { existsSync } from 'node:fs';
import type { DaemonFlags } from '../config/flags.js';
import { policyHostEndpointName, policyNodeIps } from '../daemon/policy-controller.js';
import type { HnsClient } from '../hns/client.js';
import type { AclPolicySetting } from '../hns/types.js';
import { listCluster } from '../kube/cluster-list.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { KubeHttpClient } from '../kube/kube-http-client.js';
import { httpNodeApi } from '../lease/kube/kube-node-api.js';
import { resolveNodeName } from '../lease/kube/node-name.js';
import type { Logger } from '../log.js';
import { compileIntoPlan, loadClusterSnapshot } from '../policy/cluster-snapshot.js';
import { canonicalAcl, EndpointAclKind, type ActualEndpointAcls } from '../policy/endpoint-acl-kind.js';
import { EndpointAclPlan } from '../policy/endpoint-acl-plan.js';
import { PolicyState } from '../policy/policy-state.js';
import { planWrites, type PlannedChange } from '../reconcile/plan-writes.js';
import type { Change } from '../reconcile/resource-kind.js';
import { requirePolicyNodeName } from './policy-controller-choice.js';

/** What the policy controller would find, for the plan's summary. */
export interface PolicyPlanSummary {
  node: string;
  localPods: number;
  /** Local pod endpoints whose ACLs the daemon manages. */
  endpoints: number;
  policies: number;
  /** Local pods with an IP but no endpoint yet: nothing is planned for them (the CNI has not created it). */
  podsWithoutEndpoint: string[];
  /** Pods whose endpoint is not unique: left alone, as the daemon does. */
  ambiguous: string[];
}

export interface PolicyPlanInput {
  flags: Pick<DaemonFlags, 'kubeApiUrl' | 'kubeconfigFile'>;
  env: Readonly<Record<string, string | undefined>>;
  /** The read-only host. */
  hns: HnsClient;
  /** The backend preview's facts (BackendNetwork.describe's keys); `networkId` must be set. */
  facts: Record<string, unknown>;
  /** The PublicIP of the lease the daemon would hold. */
  publicIp: string;
  log: Logger;
  signal: AbortSignal;
}

/** How many rules of `from` are not in `to`, counted as multisets of canonical rules. */
function missingFrom(from: readonly AclPolicySetting[], to: readonly AclPolicySetting[]): number {
  const left = new Map<string, number>();
  for (const acl of to) {
    const key = canonicalAcl(acl);
    left.set(key, (left.get(key) ?? 0) + 1);
  }
  let missing = 0;
  for (const acl of from) {
    const key = canonicalAcl(acl);
    const n = left.get(key) ?? 0;
    if (n > 0) left.set(key, n - 1);
    else missing++;
  }
  return missing;
}

/** The endpoint ACL writes the daemon would make, and what it found. */
export async function planPolicyWrites(input: PolicyPlanInput): Promise<{ writes: PlannedChange[]; summary: PolicyPlanSummary }> {
  const { hns, facts, signal } = input;
  requirePolicyNodeName(input.env);
  const client = new KubeHttpClient(loadKubeConfig({ kubeApiUrl: input.flags.kubeApiUrl, kubeconfigFile: input.flags.kubeconfigFile }, { env: input.env, fileExists: existsSync }));
  try {
    const nodeName = await resolveNodeName(input.env, httpNodeApi(client), signal);
    const views = await listCluster({ client, log: input.log.child({ component: 'cluster-list' }) }, signal);
    const networkId = typeof facts['networkId'] === 'string' ? facts['networkId'] : '';
    const state = new PolicyState({ nodeName, nodeIps: policyNodeIps(input.publicIp, facts) });
    const plan = new EndpointAclPlan({ networkId: () => networkId, hostEndpointName: () => policyHostEndpointName(facts) });
    const { pods } = loadClusterSnapshot(views, { state, plan, nodeName });
    plan.setEndpoints(await hns.listEndpoints({ networkId }));
    plan.rematch();
    const policiesOf = new Map<string, { pod: string; policies: readonly string[] }>();
    for (const { pod, compiled } of compileIntoPlan(state, plan, pods)) {
      const endpointId = plan.endpointOf(pod);
      if (endpointId !== undefined) policiesOf.set(endpointId, { pod, policies: compiled?.policies ?? [] });
    }
    const kind = new EndpointAclKind({ hns, networkId: () => networkId, managedEndpoints: () => plan.managed() });
    const actual = await kind.listActual();
    const fields = (change: Change<readonly AclPolicySetting[], ActualEndpointAcls>): string[] => {
      const ours = change.op === 'create' ? [] : change.actual.ours;
      const wanted = change.op === 'delete' ? [] : change.desired;
      const owner = policiesOf.get(change.key);
      const lines = [`pod: ${owner?.pod ?? '(none)'}`, `rules: ${ours.length} -> ${wanted.length} (+${missingFrom(wanted, ours)} added, -${missingFrom(ours, wanted)} removed)`];
      lines.push(owner && owner.policies.length > 0 ? `policies: ${owner.policies.join(', ')}` : 'policies: none select the pod (our ACLs are removed)');
      const foreign = change.op === 'create' ? 0 : change.actual.foreign.length;
      if (foreign > 0) lines.push(`foreign ACLs kept as they are: ${foreign}`);
      return lines;
    };
    const writes = planWrites(kind, plan.desired(), actual, fields);
    return {
      writes,
      summary: {
        node: nodeName,
        localPods: plan.localPodCount,
        endpoints: plan.managed().size,
        policies: views.policies.size,
        podsWithoutEndpoint: [...plan.waiting()].sort(),
        ambiguous: plan.ambiguous().map((m) => `${m.pod} (${m.reason}: ${m.endpointIds.join(', ')})`),
      },
    };
  } finally {
    client.close();
  }
}
