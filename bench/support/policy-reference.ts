/**
 * The compiler in the benchmark's own process, fed the same objects as the API server: it says
 * which local pods' ACL lists an event really changes, so the daemon's writes can be compared
 * with what a perfect daemon would write (no more, no fewer).
 */
import type { AclPolicySetting } from '../../src/hns/types.js';
import { readNamespace } from '../../src/kube/namespace-view.js';
import { readNetworkPolicy } from '../../src/kube/network-policy-view.js';
import { newViewPools, readPod } from '../../src/kube/pod-view.js';
import { sameAclSet } from '../../src/policy/endpoint-acl-kind.js';
import { PolicyState } from '../../src/policy/policy-state.js';
import type { StoredObject } from '../../test/support/kube-resource-store.js';

export class PolicyReference {
  readonly #state: PolicyState;
  readonly #pools = newViewPools();
  /** Local pod key → its compiled list now. */
  readonly #compiled = new Map<string, readonly AclPolicySetting[]>();

  constructor(nodeName: string, nodeIps: readonly string[]) {
    this.#state = new PolicyState({ nodeName, nodeIps: [...nodeIps] });
  }

  /** Loads an object of the initial cluster (nothing is compiled until compileAll). */
  load(kind: 'namespaces' | 'pods' | 'networkpolicies', object: StoredObject): void {
    if (kind === 'namespaces') this.#state.applyNamespace({ type: 'upsert', view: readNamespace(object, this.#pools)! });
    else if (kind === 'pods') this.#state.applyPod({ type: 'upsert', view: readPod(object, this.#pools)! });
    else this.#state.applyPolicy({ type: 'upsert', view: readNetworkPolicy(object)! });
  }

  /** Applies a changed pod; returns the local pods whose ACL list it changed. */
  pod(object: StoredObject): Set<string> {
    return this.#changed(this.#state.applyPod({ type: 'upsert', view: readPod(object, this.#pools)! }));
  }

  /** Applies a changed policy; returns the local pods whose ACL list it changed. */
  policy(object: StoredObject): Set<string> {
    return this.#changed(this.#state.applyPolicy({ type: 'upsert', view: readNetworkPolicy(object)! }).recompile);
  }

  /** Compiles every local pod (after the initial load); returns them. */
  compileAll(): string[] {
    const keys = [...this.#state.localPods()];
    for (const key of keys) this.#compiled.set(key, this.#state.compile(key)?.acls ?? []);
    return keys;
  }

  /** The rule Ids of a local pod's compiled list, sorted. */
  ruleIds(podKey: string): string[] {
    return (this.#compiled.get(podKey) ?? []).map((a) => a.Id ?? '').sort();
  }

  #changed(recompile: Iterable<string>): Set<string> {
    const changed = new Set<string>();
    for (const key of recompile) {
      const acls = this.#state.compile(key)?.acls ?? [];
      if (!sameAclSet(acls, this.#compiled.get(key) ?? [])) changed.add(key);
      this.#compiled.set(key, acls);
    }
    return changed;
  }
}
