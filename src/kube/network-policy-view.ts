import type { PolicyView } from '../policy/model.js';
import { parseNetworkPolicy, PolicyParseError } from '../policy/parse-network-policy.js';

/**
 * Reads a NetworkPolicy from raw API JSON, listed or watched alike, with the compiler's parser
 * (which reads a typed model's `_from` as `from`). A policy the API server would reject keeps
 * its problems on the view and fails closed in the compiler.
 * @returns undefined when it has no namespace or name.
 */
export function readNetworkPolicy(raw: unknown): PolicyView | undefined {
  try {
    return parseNetworkPolicy(raw);
  } catch (err) {
    if (err instanceof PolicyParseError) return undefined;
    throw err;
  }
}

/** Parsed views are plain data and policies few: comparing their JSON is cheap and exact. */
export function samePolicy(a: PolicyView, b: PolicyView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
