/**
 * Resolved rule targets, cached by content: what a rule's targets depend on (its peers, the
 * policy's namespace when a peer reads it, and for egress its named ports). Policies stamped from
 * one template in every namespace then share one entry. An entry lives while some indexed rule
 * uses its key; invalidating a key makes the next lookup resolve it again.
 */
import type { AclDirectionTag } from './acl-id.js';
import { objectKey, type PolicyView } from './model.js';
import type { RuleTargets } from './rule-targets.js';

/** The content key of rule `index` of `policy` in `direction`. */
export function ruleTargetsKey(policy: PolicyView, direction: AclDirectionTag, index: number): string {
  const rule = (direction === 'in' ? policy.ingress : policy.egress)[index]!;
  if (rule.invalid !== undefined) return 'invalid';
  const readsNamespace = rule.peers !== 'any' && rule.peers.some((p) => p.kind === 'pods' && p.namespaceSelector === undefined);
  const names = direction === 'out' && rule.ports !== 'any' ? rule.ports.filter((p) => typeof p.port === 'string').map((p) => `${p.protocol}/${String(p.port)}`) : [];
  return `${direction}\0${readsNamespace ? policy.namespace : ''}\0${JSON.stringify(rule.peers)}\0${names.sort().join(',')}`;
}

function ruleRef(policyKey: string, direction: AclDirectionTag, index: number): string {
  return `${policyKey}\0${direction}\0${index}`;
}

/** See the module comment. */
export class RuleTargetsCache {
  /** `policy\0direction\0index` → content key. */
  private readonly keys = new Map<string, string>();
  private readonly users = new Map<string, number>();
  private readonly entries = new Map<string, RuleTargets>();

  /** Registers every rule of a stored policy. */
  register(policy: PolicyView): void {
    const policyKey = objectKey(policy);
    for (const direction of ['in', 'out'] as const) {
      const count = (direction === 'in' ? policy.ingress : policy.egress).length;
      for (let i = 0; i < count; i++) {
        const key = ruleTargetsKey(policy, direction, i);
        this.keys.set(ruleRef(policyKey, direction, i), key);
        this.users.set(key, (this.users.get(key) ?? 0) + 1);
      }
    }
  }

  /** Forgets the rules of a policy that is replaced or deleted; entries without users go. */
  unregister(policy: PolicyView): void {
    const policyKey = objectKey(policy);
    for (const direction of ['in', 'out'] as const) {
      const count = (direction === 'in' ? policy.ingress : policy.egress).length;
      for (let i = 0; i < count; i++) {
        const ref = ruleRef(policyKey, direction, i);
        const key = this.keys.get(ref);
        this.keys.delete(ref);
        if (key === undefined) continue;
        const left = (this.users.get(key) ?? 1) - 1;
        if (left > 0) {
          this.users.set(key, left);
        } else {
          this.users.delete(key);
          this.entries.delete(key);
        }
      }
    }
  }

  /** The content key of a registered rule. */
  keyOf(policyKey: string, direction: AclDirectionTag, index: number): string | undefined {
    return this.keys.get(ruleRef(policyKey, direction, index));
  }

  /** The cached targets of a rule, resolved by `resolve` when missing. */
  get(policy: PolicyView, direction: AclDirectionTag, index: number, resolve: () => RuleTargets): RuleTargets {
    const key = this.keyOf(objectKey(policy), direction, index);
    if (key === undefined) return resolve();
    let targets = this.entries.get(key);
    if (!targets) {
      targets = resolve();
      this.entries.set(key, targets);
    }
    return targets;
  }

  /** Drops one entry: what it was resolved from has changed. */
  invalidate(key: string): void {
    this.entries.delete(key);
  }
}
