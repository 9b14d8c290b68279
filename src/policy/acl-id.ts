/**
 * The `Id` of every ACL rule flannel-win writes. The prefix marks a rule as ours (the endpoint
 * ACL kind only ever replaces rules that carry it); the rest says where the rule came from, so
 * `explain` can map a rule back to its NetworkPolicy:
 *
 *   flannel-win:node:in              node and the pod itself, always allowed (both directions)
 *   flannel-win:open:out             allow-all for a direction no policy isolates
 *   flannel-win:in:<ns>/<name>:<rule>:<piece>
 *                                    an allow from rule <rule> (index in spec.ingress / spec.egress)
 *                                    of the policy; <piece> counts the rules one policy rule becomes
 *                                    (protocols, resolved named ports, chunks of 4,000 entries)
 *   flannel-win:block:in             the final block of an isolated direction
 *
 * `<ns>/<name>` is written as is up to 120 characters; a longer one (names may reach 253) is
 * cut and followed by `~` and 8 hex digits of its FNV-1a hash, which `policyIdRef` computes the
 * same way for the lookup.
 */

/** The prefix that marks an ACL rule as written by flannel-win. */
export const OUR_ACL_ID_PREFIX = 'flannel-win:';

export type AclDirectionTag = 'in' | 'out';

const MAX_POLICY_REF = 120;

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** How a policy is named inside rule Ids: `<ns>/<name>`, shortened with a hash past 120 characters. */
export function policyIdRef(namespace: string, name: string): string {
  const full = `${namespace}/${name}`;
  if (full.length <= MAX_POLICY_REF) return full;
  return `${full.slice(0, MAX_POLICY_REF - 9)}~${fnv1a(full)}`;
}

export function nodeRuleId(dir: AclDirectionTag): string {
  return `${OUR_ACL_ID_PREFIX}node:${dir}`;
}

export function openRuleId(dir: AclDirectionTag): string {
  return `${OUR_ACL_ID_PREFIX}open:${dir}`;
}

export function blockRuleId(dir: AclDirectionTag): string {
  return `${OUR_ACL_ID_PREFIX}block:${dir}`;
}

export function policyRuleId(dir: AclDirectionTag, namespace: string, name: string, rule: number, piece: number): string {
  return `${OUR_ACL_ID_PREFIX}${dir}:${policyIdRef(namespace, name)}:${rule}:${piece}`;
}

/** What an Id of ours says; `undefined` for a rule that is not ours or not in this format. */
export type ParsedAclId =
  | { readonly kind: 'node' | 'open' | 'block'; readonly direction: AclDirectionTag }
  | { readonly kind: 'policy'; readonly direction: AclDirectionTag; readonly policyRef: string; readonly rule: number; readonly piece: number };

/** Reads an Id written by this module. */
export function parseAclId(id: string | undefined): ParsedAclId | undefined {
  if (id === undefined || !id.startsWith(OUR_ACL_ID_PREFIX)) return undefined;
  const rest = id.slice(OUR_ACL_ID_PREFIX.length);
  const fixed = /^(node|open|block):(in|out)$/.exec(rest);
  if (fixed) return { kind: fixed[1] as 'node' | 'open' | 'block', direction: fixed[2] as AclDirectionTag };
  const policy = /^(in|out):([^:]+):(\d+):(\d+)$/.exec(rest);
  if (!policy) return undefined;
  return { kind: 'policy', direction: policy[1] as AclDirectionTag, policyRef: policy[2]!, rule: Number(policy[3]), piece: Number(policy[4]) };
}
