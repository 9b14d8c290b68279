import { formatIp4Net, formatIp6Net, maskIp4Net, maskIp6Net, parseIp6Net, tryParseIp4Net } from '../net/ip.js';
import { policyIdentity } from './identity.js';

/** What a policy looks like to the set: HNS's {Type, Settings} pair. */
export interface SimPolicy {
  Type: string;
  Settings: object;
}

/** Why a policy cannot be added: an identical one exists, or a route for the same prefix does. */
export type AddConflict = { kind: 'identical' } | { kind: 'same-prefix'; existing: SimPolicy };

/**
 * The policies of one network or endpoint, in the order HNS reports them, with O(1) add,
 * remove and lookup: a large overlay holds one RemoteSubnetRoute per peer node, and each peer
 * change must not cost a scan of all of them. A Map keeps insertion order and deletes in O(1).
 *
 * Each policy is copied once when added and kept deep-frozen, so reading a network's 20,000
 * routes hands out the stored objects instead of cloning each one on every query (the
 * simulator's own cost would otherwise dominate a resync), and a caller that tried to edit a
 * document it read gets a TypeError instead of silently editing the host. The copy shares the
 * caller's strings (immutable in JavaScript), so a route held by the simulator and the daemon in
 * one process does not hold its prefix, address and MAC twice.
 */
export class PolicySet<P extends SimPolicy = SimPolicy> {
  private readonly byIdentity = new Map<string, P>();
  /** RemoteSubnetRoute DestinationPrefix (masked) → identity: HNS keeps one route per prefix. */
  private readonly routeByPrefix = new Map<string, string>();

  /**
   * `copy: false` keeps the caller's objects as they are: for a set that lives only while one
   * request is checked, which nobody reads from afterwards.
   */
  constructor(policies: Iterable<P> = [], private readonly options: { copy: boolean } = { copy: true }) {
    for (const policy of policies) this.add(policy);
  }

  get size(): number {
    return this.byIdentity.size;
  }

  /** The policies in order; each one is frozen. */
  list(): P[] {
    return [...this.byIdentity.values()];
  }

  /** `identity` is `policyIdentity(policy)`, passed in by a caller that already computed it. */
  has(policy: SimPolicy, identity = policyIdentity(policy)): boolean {
    return this.byIdentity.has(identity);
  }

  hasType(type: string): boolean {
    for (const p of this.byIdentity.values()) if (p.Type === type) return true;
    return false;
  }

  /** undefined when `policy` can be added; otherwise what it collides with. */
  conflictFor(policy: SimPolicy, identity = policyIdentity(policy), prefix = routePrefixOf(policy)): AddConflict | undefined {
    if (this.byIdentity.has(identity)) return { kind: 'identical' };
    const existing = prefix === undefined ? undefined : this.routeByPrefix.get(prefix);
    if (existing !== undefined) return { kind: 'same-prefix', existing: this.byIdentity.get(existing)! };
    return undefined;
  }

  add(policy: P, identity = policyIdentity(policy), prefix = routePrefixOf(policy)): void {
    this.byIdentity.set(identity, this.options.copy ? frozenCopy(policy) : policy);
    if (prefix !== undefined) this.routeByPrefix.set(prefix, identity);
  }

  /** Removes the policy whose Type and Settings equal `policy`'s; false when there is none. */
  remove(policy: SimPolicy, identity = policyIdentity(policy), prefix = routePrefixOf(policy)): boolean {
    if (!this.byIdentity.delete(identity)) return false;
    if (prefix !== undefined && this.routeByPrefix.get(prefix) === identity) this.routeByPrefix.delete(prefix);
    return true;
  }

  /** Drops every policy of the given types (what an Update request replaces). */
  removeTypes(types: ReadonlySet<string>): void {
    for (const policy of [...this.byIdentity.values()]) if (types.has(policy.Type)) this.remove(policy);
  }
}

/** The masked destination of a RemoteSubnetRoute, so "10.244.2.1/24" and "10.244.2.0/24" collide. */
export function routePrefixOf(policy: SimPolicy): string | undefined {
  if (policy.Type !== 'RemoteSubnetRoute') return undefined;
  const prefix = (policy.Settings as Record<string, unknown>)['DestinationPrefix'];
  if (typeof prefix !== 'string') return undefined;
  const v4 = tryParseIp4Net(prefix);
  if (v4) {
    const masked = formatIp4Net(maskIp4Net(v4));
    // The caller's own string when it is already the masked form: the set keeps it as a key.
    return masked === prefix ? prefix : masked;
  }
  try {
    return formatIp6Net(maskIp6Net(parseIp6Net(prefix)));
  } catch {
    return prefix;
  }
}

/**
 * A deep copy of plain JSON data (objects, arrays, primitives), frozen throughout; strings are
 * shared, not copied. Anything else goes through structuredClone, which refuses what HNS could
 * not have received either (a function, a symbol).
 */
function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return typeof value === 'function' || typeof value === 'symbol' ? structuredClone(value) : value;
  if (Array.isArray(value)) return Object.freeze(value.map((item: unknown) => frozenCopy(item))) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return deepFreeze(structuredClone(value));
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) copy[key] = frozenCopy(child);
  return Object.freeze(copy) as T;
}

/** Freezes `value` and everything it holds. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
