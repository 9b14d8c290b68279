/**
 * The cluster as NetworkPolicy enforcement on one node sees it, kept incrementally: pods,
 * namespaces and policies, with indexes from selectors to the local pods whose compiled ACLs read
 * them. Each `apply*` updates the state and returns the local pods to recompile: only those whose
 * ACLs can change. The work per event is proportional to the selectors that can match the object
 * (found through label anchors) and the local pods they concern, not to the cluster's size.
 */
import { isDeepStrictEqual } from 'node:util';
import { tryParseIp4 } from '../net/ip.js';
import { compilePodAcls, policySelects, type CompiledPodAcls } from './compile-pod-acls.js';
import { selectorMatches, type LabelSelector } from './label-selector.js';
import { namespaceLabels, objectKey, type Labels, type NamespaceView, type PodView, type PolicyView } from './model.js';
import { DependencyIndex, policyDependencies, type Dependency } from './peer-dependencies.js';
import { PodIpIndex } from './pod-ip-index.js';
import { RuleTargetsCache } from './rule-targets-cache.js';
import { isPeerPod, resolveRuleTargets, type PeerPod, type PeerSource } from './rule-targets.js';

/** An upsert or a deletion from a watch. */
export type ViewChange<T> = { readonly type: 'upsert'; readonly view: T } | { readonly type: 'delete'; readonly namespace?: string; readonly name: string };

/** What a policy change means for the node. */
export interface PolicyApplyResult {
  /** Local pods (`namespace/name`) to recompile. */
  readonly recompile: ReadonlySet<string>;
  /** The policy's problems when they are new (first seen or changed): report these once. */
  readonly newProblems: readonly string[];
  /** Its notes (ignored IPv6 peers) when they are new. */
  readonly newNotes: readonly string[];
}

/** Options of {@link PolicyState}. */
export interface PolicyStateOptions {
  /** This node's name: pods with this `nodeName` (and not hostNetwork) are the local pods. */
  readonly nodeName: string;
  /** This node's IPs, always allowed both ways. */
  readonly nodeIps?: readonly string[];
}

/** A stored pod: its view, its parsed IPv4 addresses and whether it can be a peer. */
interface PodEntry extends PeerPod {
  readonly peer: boolean;
}

function podEntry(view: PodView): PodEntry {
  const ip4 = view.ips.flatMap((text) => {
    const ip = tryParseIp4(text);
    return ip === undefined ? [] : [ip];
  });
  return { view, ip4, peer: isPeerPod(view, ip4) };
}

const EMPTY: ReadonlySet<string> = new Set();

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Sets a key in a map of maps, or deletes it (`undefined`), dropping emptied inner maps. */
function setNested<V>(outer: Map<string, Map<string, V>>, a: string, b: string, value: V | undefined): void {
  const inner = outer.get(a) ?? new Map<string, V>();
  if (value === undefined) inner.delete(b);
  else inner.set(b, value);
  if (inner.size > 0) outer.set(a, inner);
  else outer.delete(a);
}

/** Pods, namespaces and policies, indexed for incremental recompilation. See the module comment. */
export class PolicyState implements PeerSource {
  private readonly nodeName: string;
  private nodeIps: readonly string[];
  /** Namespace → pod name → pod. */
  private readonly pods = new Map<string, Map<string, PodEntry>>();
  /** Namespace name → its labels, with the implied name label. */
  private readonly namespaces = new Map<string, Labels>();
  /** Namespace → policy name → policy. */
  private readonly policies = new Map<string, Map<string, PolicyView>>();
  /** Namespace → names of its local pods. */
  private readonly localByNamespace = new Map<string, Set<string>>();
  /** Policy key → the local pods it selects. */
  private readonly selectedLocal = new Map<string, Set<string>>();
  private readonly dependencies = new Map<string, Dependency[]>();
  private readonly dependencyIndex = new DependencyIndex();
  private readonly targetsCache = new RuleTargetsCache();
  private readonly podIps = new PodIpIndex();

  constructor(options: PolicyStateOptions) {
    this.nodeName = options.nodeName;
    this.nodeIps = options.nodeIps ?? [];
  }

  // ---- PeerSource ----

  /** Peer-eligible pods of a namespace. */
  *podsIn(namespace: string): Iterable<PeerPod> {
    for (const pod of this.pods.get(namespace)?.values() ?? []) if (pod.peer) yield pod;
  }

  /** Names of the namespaces (known, or holding pods) that `selector` matches. */
  *namespacesMatching(selector: LabelSelector): Iterable<string> {
    for (const name of new Set([...this.namespaces.keys(), ...this.pods.keys()])) {
      if (selectorMatches(selector, this.labelsOfNamespace(name))) yield name;
    }
  }

  /** Every peer-eligible pod. */
  *allPods(): Iterable<PeerPod> {
    for (const ns of this.pods.values()) for (const pod of ns.values()) if (pod.peer) yield pod;
  }

  // ---- queries ----

  /** The local pods (`namespace/name`), in no particular order. */
  *localPods(): Iterable<string> {
    for (const [ns, names] of this.localByNamespace) for (const name of names) yield `${ns}/${name}`;
  }

  /** How many pods the state holds (all nodes). */
  get podCount(): number {
    let n = 0;
    for (const ns of this.pods.values()) n += ns.size;
    return n;
  }

  /** Compiles a local pod's ACLs; `undefined` when it is not (or no longer) a local pod. */
  compile(podKey: string): CompiledPodAcls | undefined {
    const slash = podKey.indexOf('/');
    const pod = this.pods.get(podKey.slice(0, slash))?.get(podKey.slice(slash + 1))?.view;
    if (!pod || !this.isLocal(pod)) return undefined;
    return compilePodAcls({
      pod,
      policies: this.policies.get(pod.namespace)?.values() ?? [],
      nodeIps: this.nodeIps,
      targets: (policy, direction, index) =>
        this.targetsCache.get(policy, direction, index, () => {
          const rule = (direction === 'in' ? policy.ingress : policy.egress)[index]!;
          return resolveRuleTargets(rule, direction, policy.namespace, this);
        }),
    });
  }

  /** A pod by namespace and name, on any node. */
  pod(namespace: string, name: string): PodView | undefined {
    return this.pods.get(namespace)?.get(name)?.view;
  }

  /** Every pod listing the IPv4 address `ip` (unsigned 32-bit), finished and hostNetwork ones included. */
  podsAt(ip: number): readonly PodView[] {
    return this.podIps.podsAt(ip);
  }

  /** The policies of one namespace, in no particular order. */
  policiesIn(namespace: string): Iterable<PolicyView> {
    return this.policies.get(namespace)?.values() ?? [];
  }

  /** A namespace's labels with the implied name label (only that one for an unknown namespace). */
  namespaceLabels(name: string): Labels {
    return this.labelsOfNamespace(name);
  }

  /** The node's IPs, always allowed both ways. */
  get currentNodeIps(): readonly string[] {
    return this.nodeIps;
  }

  /** True for a pod of this node that NetworkPolicy applies to (not hostNetwork). */
  isLocalPod(pod: PodView): boolean {
    return this.isLocal(pod);
  }

  // ---- events ----

  /** Sets the node's IPs; every local pod is recompiled when they change. */
  setNodeIps(ips: readonly string[]): ReadonlySet<string> {
    const sorted = [...ips].sort();
    if (sameStrings(sorted, [...this.nodeIps].sort())) return EMPTY;
    this.nodeIps = sorted;
    return new Set(this.localPods());
  }

  /** A pod was added, changed or deleted. */
  applyPod(change: ViewChange<PodView>): ReadonlySet<string> {
    const namespace = change.type === 'upsert' ? change.view.namespace : change.namespace;
    if (namespace === undefined) throw new TypeError('a pod deletion needs its namespace');
    const name = change.type === 'upsert' ? change.view.name : change.name;
    const before = this.pods.get(namespace)?.get(name);
    const afterView = change.type === 'upsert' ? change.view : undefined;
    if (before?.view === afterView || (before && afterView && isDeepStrictEqual(before.view, afterView))) return EMPTY;
    const after = afterView ? podEntry(afterView) : undefined;
    setNested(this.pods, namespace, name, after);
    this.podIps.update(before, after);

    const recompile = new Set<string>();
    const wasLocal = before !== undefined && this.isLocal(before.view);
    const isLocal = after !== undefined && this.isLocal(after.view);
    if (wasLocal || isLocal) {
      this.updateLocalSelection(namespace, name, isLocal ? after.view : undefined);
      recompile.add(`${namespace}/${name}`);
    }

    // As a peer: the rules that read the pod before or after, where what they read changed.
    const addressesChanged = !before || !after || !sameStrings(before.view.ips, after.view.ips) || before.peer !== after.peer;
    const portsChanged = !before || !after || !isDeepStrictEqual(before.view.namedPorts, after.view.namedPorts);
    const nsLabels = this.labelsOfNamespace(namespace);
    const labelSets = [before?.view.labels, after?.view.labels].filter((l): l is Labels => l !== undefined);
    for (const dep of this.dependencyIndex.forPod(namespace, labelSets, nsLabels, addressesChanged || portsChanged)) {
      const was = before !== undefined && this.dependencyReadsPod(dep, before, nsLabels);
      const is = after !== undefined && this.dependencyReadsPod(dep, after, nsLabels);
      if (was === is && (!is || !(addressesChanged || (dep.usesNamedPorts && portsChanged)))) continue;
      this.dependencyChanged(dep, recompile);
    }
    return recompile;
  }

  /** A namespace was added, relabelled or deleted. */
  applyNamespace(change: ViewChange<NamespaceView>): ReadonlySet<string> {
    const name = change.type === 'upsert' ? change.view.name : change.name;
    const before = this.labelsOfNamespace(name);
    if (change.type === 'upsert') this.namespaces.set(name, namespaceLabels(name, change.view));
    else this.namespaces.delete(name);
    const after = this.labelsOfNamespace(name);
    if (isDeepStrictEqual(before, after)) return EMPTY;

    const recompile = new Set<string>();
    for (const dep of this.dependencyIndex.forNamespace([before, after])) {
      const selector = dep.namespaceSelector!;
      if (selectorMatches(selector, before) === selectorMatches(selector, after)) continue;
      if (!this.namespaceHasPodFor(name, dep.podSelector)) continue;
      this.dependencyChanged(dep, recompile);
    }
    return recompile;
  }

  /** A policy was added, changed or deleted. */
  applyPolicy(change: ViewChange<PolicyView>): PolicyApplyResult {
    const namespace = change.type === 'upsert' ? change.view.namespace : change.namespace;
    if (namespace === undefined) throw new TypeError('a policy deletion needs its namespace');
    const name = change.type === 'upsert' ? change.view.name : change.name;
    const key = `${namespace}/${name}`;
    const before = this.policies.get(namespace)?.get(name);
    const after = change.type === 'upsert' ? change.view : undefined;
    if (before === after || (before && after && isDeepStrictEqual(before, after))) return { recompile: EMPTY, newProblems: [], newNotes: [] };
    setNested(this.policies, namespace, name, after);

    if (before) {
      for (const dep of this.dependencies.get(key) ?? []) this.dependencyIndex.remove(dep);
      this.dependencies.delete(key);
      this.targetsCache.unregister(before);
    }
    const recompile = new Set<string>(this.selectedLocal.get(key) ?? []);
    this.selectedLocal.delete(key);
    if (after) {
      this.targetsCache.register(after);
      const deps = policyDependencies(after);
      this.dependencies.set(key, deps);
      for (const dep of deps) this.dependencyIndex.add(dep);
      const selected = new Set<string>();
      for (const podName of this.localByNamespace.get(namespace) ?? []) {
        const pod = this.pods.get(namespace)?.get(podName)?.view;
        if (pod && policySelects(after, pod)) selected.add(`${namespace}/${podName}`);
      }
      if (selected.size > 0) this.selectedLocal.set(key, selected);
      for (const p of selected) recompile.add(p);
    }
    return {
      recompile,
      newProblems: after && !sameStrings(after.problems, before?.problems ?? []) ? after.problems : [],
      newNotes: after && !sameStrings(after.notes, before?.notes ?? []) ? after.notes : [],
    };
  }

  // ---- internals ----

  private isLocal(pod: PodView): boolean {
    return pod.nodeName === this.nodeName && !pod.hostNetwork;
  }

  private labelsOfNamespace(name: string): Labels {
    return this.namespaces.get(name) ?? namespaceLabels(name, undefined);
  }

  private namespaceHasPodFor(namespace: string, podSelector: LabelSelector | undefined): boolean {
    for (const pod of this.podsIn(namespace)) if (podSelector === undefined || selectorMatches(podSelector, pod.view.labels)) return true;
    return false;
  }

  /** Re-evaluates which policies of its namespace select a local pod (`undefined`: it is gone). */
  private updateLocalSelection(namespace: string, name: string, pod: PodView | undefined): void {
    const key = `${namespace}/${name}`;
    const local = this.localByNamespace.get(namespace) ?? new Set<string>();
    if (pod) local.add(name);
    else local.delete(name);
    if (local.size > 0) this.localByNamespace.set(namespace, local);
    else this.localByNamespace.delete(namespace);
    for (const policy of this.policies.get(namespace)?.values() ?? []) {
      const policyKey = objectKey(policy);
      const selected = this.selectedLocal.get(policyKey) ?? new Set<string>();
      if (pod && policySelects(policy, pod)) selected.add(key);
      else selected.delete(key);
      if (selected.size > 0) this.selectedLocal.set(policyKey, selected);
      else this.selectedLocal.delete(policyKey);
    }
  }

  private dependencyReadsPod(dep: Dependency, pod: PodEntry, nsLabels: Labels): boolean {
    if (!pod.peer) return false;
    if (dep.scope === 'all') return true;
    if (dep.scope === 'namespace' && pod.view.namespace !== dep.namespace) return false;
    if (dep.scope === 'cluster' && !selectorMatches(dep.namespaceSelector!, nsLabels)) return false;
    return dep.podSelector === undefined || selectorMatches(dep.podSelector, pod.view.labels);
  }

  /** Drops the cached targets of the dependency's rule and marks the local pods its policy selects. */
  private dependencyChanged(dep: Dependency, recompile: Set<string>): void {
    const targetsKey = this.targetsCache.keyOf(dep.policyKey, dep.direction, dep.rule);
    if (targetsKey !== undefined) this.targetsCache.invalidate(targetsKey);
    const policy = this.policies.get(dep.namespace)?.get(dep.policyKey.slice(dep.namespace.length + 1));
    if (!policy || !(dep.direction === 'in' ? policy.policyTypes.ingress : policy.policyTypes.egress)) return;
    for (const p of this.selectedLocal.get(dep.policyKey) ?? []) recompile.add(p);
  }
}
