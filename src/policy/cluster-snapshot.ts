/**
 * The policy controller's first step, shared with `plan`: a complete listing of the cluster
 * (pods, namespaces, policies) loaded into the PolicyState and the EndpointAclPlan, then the
 * local pods compiled into the plan. What the daemon does on its first snapshot and what the dry
 * run predicts are the same code.
 *
 * Pure: no HNS call, no API call.
 * @module
 */
import type { ClusterViews } from '../kube/cluster-watch.js';
import type { AclPolicySetting } from '../hns/types.js';
import type { CompiledPodAcls } from './compile-pod-acls.js';
import type { EndpointAclPlan } from './endpoint-acl-plan.js';
import type { LocalPod } from './local-endpoints.js';
import type { PodView, PolicyView } from './model.js';
import type { PolicyApplyResult, PolicyState, ViewChange } from './policy-state.js';

/** The pod as the endpoint match needs it when it runs on `nodeName`, else undefined. */
export function localPodOf(view: PodView, nodeName: string | undefined): LocalPod | undefined {
  return view.nodeName === nodeName ? { key: `${view.namespace}/${view.name}`, ips: view.ips, hostNetwork: view.hostNetwork } : undefined;
}

/** A policy change applied to the state; the controller's own reports its problems too. */
export type ApplyPolicy = (change: ViewChange<PolicyView>, key: string) => PolicyApplyResult | ReadonlySet<string>;

/**
 * Loads a complete listing: namespaces, then pods (the local ones also into the plan), then
 * policies (through `applyPolicy`, default `state.applyPolicy`). Returns every local pod (all
 * must be compiled) and whether the pod ↔ endpoint match may have changed.
 */
export function loadClusterSnapshot(
  views: ClusterViews,
  target: { state: PolicyState; plan: EndpointAclPlan; nodeName: string; applyPolicy?: ApplyPolicy },
): { pods: Set<string>; matchChanged: boolean } {
  const { state, plan, nodeName } = target;
  const applyPolicy = target.applyPolicy ?? ((change) => state.applyPolicy(change));
  let matchChanged = false;
  for (const ns of views.namespaces.values()) state.applyNamespace({ type: 'upsert', view: ns });
  for (const pod of views.pods.values()) {
    state.applyPod({ type: 'upsert', view: pod });
    const local = localPodOf(pod, nodeName);
    if (local) matchChanged = plan.setPod(local.key, local) || matchChanged;
  }
  for (const [key, policy] of views.policies) applyPolicy({ type: 'upsert', view: policy }, key);
  return { pods: new Set(state.localPods()), matchChanged };
}

/** One local pod compiled into the plan: the endpoint change it makes (if matched) and the compilation. */
export interface CompiledIntoPlan {
  readonly pod: string;
  readonly compiled: CompiledPodAcls | undefined;
  /** The endpoint whose desired list changed, or undefined while the pod has no endpoint. */
  readonly change: { endpointId: string; acls: readonly AclPolicySetting[] | undefined } | undefined;
}

/** Compiles `pods` and hands each list to the plan, yielding what changed (see CompiledIntoPlan). */
export function* compileIntoPlan(state: PolicyState, plan: EndpointAclPlan, pods: Iterable<string>): Generator<CompiledIntoPlan> {
  for (const pod of pods) {
    const compiled = state.compile(pod);
    yield { pod, compiled, change: plan.setCompiled(pod, compiled?.acls) };
  }
}
