import type { ViewPools } from './pod-view.js';

/**
 * A NetworkPolicy as the watch keeps it: its identity and its spec as plain JSON, rules read
 * with the raw API field names (`from`, `to`), never the `_from` of typed client models. The
 * compiler parses the spec; the watch only needs to read listed and watched objects alike.
 */
export interface NetworkPolicyView {
  readonly namespace: string;
  readonly name: string;
  readonly spec: Readonly<Record<string, unknown>>;
}

/**
 * Reads a NetworkPolicy from raw API JSON (listed or watched alike). A rule carrying `_from`
 * (an object serialised from a typed client model) is read as `from`.
 * @returns undefined when it has no namespace or name.
 */
export function readNetworkPolicy(raw: unknown, pools: ViewPools): NetworkPolicyView | undefined {
  const object = (raw ?? {}) as { metadata?: { name?: unknown; namespace?: unknown }; spec?: unknown };
  const name = object.metadata?.name;
  const namespace = object.metadata?.namespace;
  if (typeof name !== 'string' || name === '' || typeof namespace !== 'string' || namespace === '') return undefined;
  const spec = typeof object.spec === 'object' && object.spec !== null ? { ...(object.spec as Record<string, unknown>) } : {};
  if (Array.isArray(spec['ingress'])) spec['ingress'] = (spec['ingress'] as unknown[]).map(withFrom);
  return { namespace: pools.names.intern(namespace), name, spec };
}

function withFrom(rule: unknown): unknown {
  if (typeof rule !== 'object' || rule === null || !('_from' in rule) || 'from' in rule) return rule;
  const { _from, ...rest } = rule as Record<string, unknown>;
  return { ...rest, from: _from };
}

/** Policies are few: comparing their JSON is cheap and exact. */
export function sameNetworkPolicy(a: NetworkPolicyView, b: NetworkPolicyView): boolean {
  return a.namespace === b.namespace && a.name === b.name && JSON.stringify(a.spec) === JSON.stringify(b.spec);
}
