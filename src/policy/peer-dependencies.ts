/**
 * The ways policy rules read the cluster's pods and namespaces, indexed so that an event about
 * one pod or one namespace finds only the rules that could be reading it: by label anchors of
 * the pod selector, of the namespace selector, or (for the few rules that read every pod) in a
 * set of their own.
 */
import type { AclDirectionTag } from './acl-id.js';
import type { LabelSelector } from './label-selector.js';
import { objectKey, type Labels, type PolicyView } from './model.js';
import { AnchorIndex, selectorAnchors } from './selector-anchor.js';

/** One way a policy rule reads the cluster's pods. */
export interface Dependency {
  readonly policyKey: string;
  readonly namespace: string;
  readonly direction: AclDirectionTag;
  readonly rule: number;
  /**
   * `namespace`: pods of the policy's namespace; `cluster`: pods of the namespaces the
   * namespace selector matches; `all`: every pod (egress named ports over ipBlocks or "everyone").
   */
  readonly scope: 'namespace' | 'cluster' | 'all';
  readonly podSelector: LabelSelector | undefined;
  readonly namespaceSelector: LabelSelector | undefined;
  /** Whether the pods' named ports matter (egress named ports), not only their addresses. */
  readonly usesNamedPorts: boolean;
}

/** The dependencies of a policy's valid rules. */
export function policyDependencies(policy: PolicyView): Dependency[] {
  const deps: Dependency[] = [];
  const policyKey = objectKey(policy);
  for (const direction of ['in', 'out'] as const) {
    const rules = direction === 'in' ? policy.ingress : policy.egress;
    rules.forEach((rule, index) => {
      if (rule.invalid !== undefined) return;
      const usesNamedPorts = direction === 'out' && rule.ports !== 'any' && rule.ports.some((p) => typeof p.port === 'string');
      const base = { policyKey, namespace: policy.namespace, direction, rule: index, usesNamedPorts };
      if (usesNamedPorts && (rule.peers === 'any' || rule.peers.some((p) => p.kind === 'ipBlock'))) {
        deps.push({ ...base, scope: 'all', podSelector: undefined, namespaceSelector: undefined });
      }
      if (rule.peers === 'any') return;
      for (const peer of rule.peers) {
        if (peer.kind !== 'pods') continue;
        deps.push({ ...base, scope: peer.namespaceSelector ? 'cluster' : 'namespace', podSelector: peer.podSelector, namespaceSelector: peer.namespaceSelector });
      }
    });
  }
  return deps;
}

/** See the module comment. */
export class DependencyIndex {
  /** Namespace-scoped dependencies, per namespace, anchored on the pod selector. */
  private readonly byPodInNamespace = new Map<string, AnchorIndex<Dependency>>();
  /** Cluster-scoped dependencies with an anchored pod selector. */
  private readonly byPodInCluster = new AnchorIndex<Dependency>();
  /** Cluster-scoped dependencies without one, anchored on the namespace selector. */
  private readonly byNamespaceOfPod = new AnchorIndex<Dependency>();
  /** Every cluster-scoped dependency, anchored on the namespace selector (namespace events). */
  private readonly byNamespace = new AnchorIndex<Dependency>();
  private readonly readingAllPods = new Set<Dependency>();

  add(dep: Dependency): void {
    this.update(dep, true);
  }

  remove(dep: Dependency): void {
    this.update(dep, false);
  }

  /**
   * The dependencies that could read a pod of `namespace` carrying any of `labelSets` (its labels
   * before and after), whose namespace has `namespaceLabels`; with `addressesOrPorts`, also those
   * that read every pod.
   */
  forPod(namespace: string, labelSets: readonly Labels[], namespaceLabels: Labels, addressesOrPorts: boolean): Set<Dependency> {
    const found = new Set<Dependency>();
    this.byPodInNamespace.get(namespace)?.collect(labelSets, found);
    this.byPodInCluster.collect(labelSets, found);
    this.byNamespaceOfPod.collect([namespaceLabels], found);
    if (addressesOrPorts) for (const d of this.readingAllPods) found.add(d);
    return found;
  }

  /** The dependencies whose namespace selector could match a namespace carrying any of `labelSets`. */
  forNamespace(labelSets: readonly Labels[]): Set<Dependency> {
    const found = new Set<Dependency>();
    this.byNamespace.collect(labelSets, found);
    return found;
  }

  private update(dep: Dependency, add: boolean): void {
    const podAnchors = selectorAnchors(dep.podSelector);
    if (dep.scope === 'all') {
      if (add) this.readingAllPods.add(dep);
      else this.readingAllPods.delete(dep);
      return;
    }
    if (dep.scope === 'namespace') {
      let index = this.byPodInNamespace.get(dep.namespace);
      if (!index) {
        if (!add) return;
        index = new AnchorIndex<Dependency>();
        this.byPodInNamespace.set(dep.namespace, index);
      }
      if (add) {
        index.add(podAnchors, dep);
      } else {
        index.remove(podAnchors, dep);
        if (index.isEmpty()) this.byPodInNamespace.delete(dep.namespace);
      }
      return;
    }
    const nsAnchors = selectorAnchors(dep.namespaceSelector);
    const podIndex = podAnchors !== undefined ? this.byPodInCluster : this.byNamespaceOfPod;
    const podIndexAnchors = podAnchors ?? nsAnchors;
    if (add) {
      podIndex.add(podIndexAnchors, dep);
      this.byNamespace.add(nsAnchors, dep);
    } else {
      podIndex.remove(podIndexAnchors, dep);
      this.byNamespace.remove(nsAnchors, dep);
    }
  }
}
