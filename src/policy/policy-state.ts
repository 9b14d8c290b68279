/**
 * The cluster as NetworkPolicy enforcement on one node sees it, kept incrementally: pods,
 * namespaces and policies, with indexes from selectors to the local pods whose compiled ACLs read
 * them. Each `apply*` updates the state and returns the local pods to recompile: only those whose
 * ACLs can change. The work per event is proportional to the selectors that can match the object
 * (found through label anchors) and the local pods they concern, not to the cluster's size.
 */
import { isDeepStrictEqual } from 'node:util';
import { tryParseIp4 } from '../net/ip.js';
import type { AclDirectionTag } from './acl-id.js';
import { compilePodAcls, policySelects, type CompiledPodAcls } from './compile-pod-acls.js';
import { selectorMatches, type LabelSelector } from './label-selector.js';
import { namespaceLabels, objectKey, type Labels, type NamespaceView, type PodView, type PolicyView } from './model.js';
import { isPeerPod, resolveRuleTargets, type PeerPod, type PeerSource, type RuleTargets } from './rule-targets.js';
import { AnchorIndex, selectorAnchors } from './selector-anchor.js';

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

/** One way a policy rule reads the cluster's pods. */
interface Dependency {
  readonly policyKey: string;
  readonly namespace: string;
  readonly direction: AclDirectionTag;
  readonly rule: number;
  /** `namespace`: pods of the policy's namespace; `cluster`: pods of matching namespaces; `all`: every pod (named ports over ipBlocks or "everyone"). */
  readonly scope: 'namespace' | 'cluster' | 'all';
  readonly podSelector: LabelSelector | undefined;
  readonly namespaceSelector: LabelSelector | undefined;
  readonly usesNamedPorts: boolean;
  /** The content key of the rule's cached targets. */
  readonly targetsKey: string;
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

/**
 * What a rule's targets depend on: its peers, the policy's namespace when a peer reads it, and
 * for egress the named ports. Policies stamped from one template share one cache entry.
 */
function targetsKey(policy: PolicyView, direction: AclDirectionTag, index: number): string {
  const rule = (direction === 'in' ? policy.ingress : policy.egress)[index]!;
  if (rule.invalid !== undefined) return 'invalid';
  const readsNamespace = rule.peers !== 'any' && rule.peers.some((p) => p.kind === 'pods' && p.namespaceSelector === undefined);
  const names = direction === 'out' && rule.ports !== 'any' ? rule.ports.filter((p) => typeof p.port === 'string').map((p) => `${p.protocol}/${String(p.port)}`) : [];
  return `${direction}\0${readsNamespace ? policy.namespace : ''}\0${JSON.stringify(rule.peers)}\0${names.sort().join(',')}`;
}

const EMPTY: ReadonlySet<string> = new Set();

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Options of {@link PolicyState}. */
export interface PolicyStateOptions {
  /** This node's name: pods with this `nodeName` (and not hostNetwork) are the local pods. */
  readonly nodeName: string;
  /** This node's IPs, always allowed both ways. */
  readonly nodeIps?: readonly string[];
}

/** Pods, namespaces and policies, indexed for incremental recompilation. See the module comment. */
export class PolicyState implements PeerSource {
  private readonly nodeName: string;
  private nodeIps: readonly string[];
  private readonly pods = new Map<string, Map<string, PodEntry>>();
  /** Namespace name → its labels, with the implied name label. */
  private readonly namespaces = new Map<string, Labels>();
  private readonly policies = new Map<string, Map<string, PolicyView>>();
  private readonly localByNamespace = new Map<string, Set<string>>();
  /** Policy key → the local pods it selects. */
  private readonly selectedLocal = new Map<string, Set<string>>();
  private readonly dependencies = new Map<string, Dependency[]>();
  /** Namespace-scoped dependencies, per namespace, anchored on the pod selector. */
  private readonly byPodInNamespace = new Map<string, AnchorIndex<Dependency>>();
  /** Cluster-scoped dependencies with an anchored pod selector. */
  private readonly byPodInCluster = new AnchorIndex<Dependency>();
  /** Cluster-scoped dependencies without one, anchored on the namespace selector. */
  private readonly byNamespaceOfPod = new AnchorIndex<Dependency>();
  /** Every cluster-scoped dependency, anchored on the namespace selector (namespace events). */
  private readonly byNamespace = new AnchorIndex<Dependency>();
  private readonly readsAllPods = new Set<Dependency>();
  /** `policy\0direction\0index` → the content key of the rule's targets. */
  private readonly ruleTargetsKeys = new Map<string, string>();
  private readonly targetsCache = new Map<string, RuleTargets>();
  /** How many indexed rules share each content key; the cache entry goes with the last. */
  private readonly targetsKeyUsers = new Map<string, number>();

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
    for (const name of this.namespaceNames()) if (selectorMatches(selector, this.labelsOfNamespace(name))) yield name;
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
      targets: (policy, direction, index) => this.targets(policy, direction, index),
    });
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
    const beforeEntry = this.pods.get(namespace)?.get(name);
    const before = beforeEntry?.view;
    const after = change.type === 'upsert' ? change.view : undefined;
    if (before === after || (before && after && isDeepStrictEqual(before, after))) return EMPTY;
    const afterEntry = after ? podEntry(after) : undefined;

    const ns = this.pods.get(namespace) ?? new Map<string, PodEntry>();
    this.pods.set(namespace, ns);
    if (afterEntry) ns.set(name, afterEntry);
    else ns.delete(name);
    if (ns.size === 0) this.pods.delete(namespace);

    const recompile = new Set<string>();
    const key = `${namespace}/${name}`;
    const wasLocal = before !== undefined && this.isLocal(before);
    const isLocal = after !== undefined && this.isLocal(after);
    if (wasLocal || isLocal) {
      this.updateLocalSelection(namespace, name, isLocal ? after : undefined);
      recompile.add(key);
    }

    const ipsChanged = !beforeEntry || !afterEntry || !sameStrings(before!.ips, after!.ips) || beforeEntry.peer !== afterEntry.peer;
    const portsChanged = !before || !after || !isDeepStrictEqual(before.namedPorts, after.namedPorts);
    const nsLabels = this.labelsOfNamespace(namespace);
    const labelSets = [before?.labels, after?.labels].filter((l): l is Labels => l !== undefined);
    const candidates = new Set<Dependency>();
    this.byPodInNamespace.get(namespace)?.collect(labelSets, candidates);
    this.byPodInCluster.collect(labelSets, candidates);
    this.byNamespaceOfPod.collect([nsLabels], candidates);
    if (ipsChanged || portsChanged) for (const d of this.readsAllPods) candidates.add(d);

    for (const dep of candidates) {
      const was = beforeEntry !== undefined && this.dependencyReadsPod(dep, beforeEntry, nsLabels);
      const is = afterEntry !== undefined && this.dependencyReadsPod(dep, afterEntry, nsLabels);
      if (was === is && (!is || !(ipsChanged || (dep.usesNamedPorts && portsChanged)))) continue;
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

    const candidates = new Set<Dependency>();
    this.byNamespace.collect([before, after], candidates);
    const recompile = new Set<string>();
    for (const dep of candidates) {
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

    const ns = this.policies.get(namespace) ?? new Map<string, PolicyView>();
    this.policies.set(namespace, ns);
    if (after) ns.set(name, after);
    else ns.delete(name);
    if (ns.size === 0) this.policies.delete(namespace);

    this.unindexPolicy(key, before);
    const recompile = new Set<string>(this.selectedLocal.get(key) ?? []);
    this.selectedLocal.delete(key);
    if (after) {
      this.indexPolicy(key, after);
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

  private namespaceNames(): Set<string> {
    return new Set([...this.namespaces.keys(), ...this.pods.keys()]);
  }

  private labelsOfNamespace(name: string): Labels {
    return this.namespaces.get(name) ?? namespaceLabels(name, undefined);
  }

  private namespaceHasPodFor(namespace: string, podSelector: LabelSelector | undefined): boolean {
    for (const pod of this.podsIn(namespace)) if (podSelector === undefined || selectorMatches(podSelector, pod.view.labels)) return true;
    return false;
  }

  private targets(policy: PolicyView, direction: AclDirectionTag, index: number): RuleTargets {
    const cacheKey = this.ruleTargetsKeys.get(`${objectKey(policy)}\0${direction}\0${index}`) ?? targetsKey(policy, direction, index);
    let t = this.targetsCache.get(cacheKey);
    if (!t) {
      const rule = (direction === 'in' ? policy.ingress : policy.egress)[index]!;
      t = resolveRuleTargets(rule, direction, policy.namespace, this);
      this.targetsCache.set(cacheKey, t);
    }
    return t;
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
    this.targetsCache.delete(dep.targetsKey);
    const policy = this.policies.get(dep.namespace)?.get(dep.policyKey.slice(dep.namespace.length + 1));
    if (!policy || !(dep.direction === 'in' ? policy.policyTypes.ingress : policy.policyTypes.egress)) return;
    for (const p of this.selectedLocal.get(dep.policyKey) ?? []) recompile.add(p);
  }

  private policyDependencies(key: string, policy: PolicyView): Dependency[] {
    const deps: Dependency[] = [];
    for (const direction of ['in', 'out'] as const) {
      const rules = direction === 'in' ? policy.ingress : policy.egress;
      rules.forEach((rule, index) => {
        if (rule.invalid !== undefined) return;
        const usesNamedPorts = direction === 'out' && rule.ports !== 'any' && rule.ports.some((p) => typeof p.port === 'string');
        const base = { policyKey: key, namespace: policy.namespace, direction, rule: index, usesNamedPorts, targetsKey: this.ruleTargetsKeys.get(`${key}\0${direction}\0${index}`)! };
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

  private indexPolicy(key: string, policy: PolicyView): void {
    for (const direction of ['in', 'out'] as const) {
      const count = (direction === 'in' ? policy.ingress : policy.egress).length;
      for (let i = 0; i < count; i++) {
        const contentKey = targetsKey(policy, direction, i);
        this.ruleTargetsKeys.set(`${key}\0${direction}\0${i}`, contentKey);
        this.targetsKeyUsers.set(contentKey, (this.targetsKeyUsers.get(contentKey) ?? 0) + 1);
      }
    }
    const deps = this.policyDependencies(key, policy);
    this.dependencies.set(key, deps);
    for (const dep of deps) this.indexDependency(dep, true);
  }

  private unindexPolicy(key: string, policy: PolicyView | undefined): void {
    for (const dep of this.dependencies.get(key) ?? []) this.indexDependency(dep, false);
    this.dependencies.delete(key);
    if (!policy) return;
    for (const direction of ['in', 'out'] as const) {
      const count = (direction === 'in' ? policy.ingress : policy.egress).length;
      for (let i = 0; i < count; i++) {
        const ruleKey = `${key}\0${direction}\0${i}`;
        const contentKey = this.ruleTargetsKeys.get(ruleKey);
        this.ruleTargetsKeys.delete(ruleKey);
        if (contentKey === undefined) continue;
        const users = (this.targetsKeyUsers.get(contentKey) ?? 1) - 1;
        if (users > 0) {
          this.targetsKeyUsers.set(contentKey, users);
        } else {
          this.targetsKeyUsers.delete(contentKey);
          this.targetsCache.delete(contentKey);
        }
      }
    }
  }

  private indexDependency(dep: Dependency, add: boolean): void {
    const podAnchors = selectorAnchors(dep.podSelector);
    if (dep.scope === 'all') {
      if (add) this.readsAllPods.add(dep);
      else this.readsAllPods.delete(dep);
      return;
    }
    if (dep.scope === 'namespace') {
      let index = this.byPodInNamespace.get(dep.namespace);
      if (!index) {
        if (!add) return;
        index = new AnchorIndex<Dependency>();
        this.byPodInNamespace.set(dep.namespace, index);
      }
      if (add) index.add(podAnchors, dep);
      else index.remove(podAnchors, dep);
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
