import {
  maskIp4Net,
  maskIp6Net,
  parseIp4Net,
  parseIp6Net,
  type Ip4Net,
  type Ip6Net,
} from '../../net/ip.js';
import type { NodeView } from './node-view.js';

export type PodCidrSelection =
  | { readonly ok: true; readonly ipv4: Ip4Net | undefined; readonly ipv6: Ip6Net | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * flannel's choice of a node's pod subnets: `spec.podCIDRs` when it has one or two entries
 * (sorted into families by address length), `spec.podCIDR` when the list is empty, an error for
 * three or more. Parsed CIDRs are masked, as Go's net.ParseCIDR masks them.
 */
export function selectPodCidrs(node: NodeView, nodeName: string): PodCidrSelection {
  const list = node.spec?.podCIDRs ?? [];
  if (list.length > 2) {
    return { ok: false, reason: `node "${nodeName}" pod cidrs should be IPv4/IPv6 only or dual-stack` };
  }
  const texts = list.length === 0 ? [node.spec?.podCIDR ?? ''] : list;
  let ipv4: Ip4Net | undefined;
  let ipv6: Ip6Net | undefined;
  for (const text of texts) {
    if (text === '') continue;
    const parsed = parsePodCidr(text);
    if (parsed === undefined) return { ok: false, reason: `invalid pod CIDR "${text}"` };
    if (parsed.family === 4) ipv4 = parsed.net;
    else ipv6 = parsed.net;
  }
  return { ok: true, ipv4, ipv6 };
}

function parsePodCidr(text: string): { family: 4; net: Ip4Net } | { family: 6; net: Ip6Net } | undefined {
  try {
    return text.includes(':')
      ? { family: 6, net: maskIp6Net(parseIp6Net(text)) }
      : { family: 4, net: maskIp4Net(parseIp4Net(text)) };
  } catch {
    return undefined;
  }
}
