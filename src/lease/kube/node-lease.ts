import { formatIp4, formatIp6, ip4NetEqual, ip6NetEqual, tryParseIp4, tryParseIp6 } from '../../net/ip.js';
import type { Lease } from '../types.js';
import type { KubeAnnotationNames } from './annotations.js';
import { annotationsOf, nodeNameOf, type NodeView } from './node-view.js';
import { selectPodCidrs } from './pod-cidrs.js';

export interface LeaseFamilies {
  readonly enableIpv4: boolean;
  readonly enableIpv6: boolean;
}

/** Either the node's lease, or the reason it cannot be one (for a log line an operator reads). */
export type NodeLeaseResult =
  | { readonly ok: true; readonly lease: Lease }
  | {
      readonly ok: false;
      readonly reason: string;
      /** The node does not run flannel at all (no kube-subnet-manager annotation): not a fault. */
      readonly notFlannel?: boolean;
    };

/**
 * Turns a peer's Node into the lease it publishes, with flannel's rules: only nodes whose
 * kube-subnet-manager annotation is exactly "true"; a valid public IP for every enabled family;
 * a podCIDR of every enabled family; at most two podCIDRs. Backend data is the annotation text
 * as written, so it reaches the backend byte for byte.
 */
export function nodeToLease(node: NodeView, names: KubeAnnotationNames, families: LeaseFamilies): NodeLeaseResult {
  const annotations = annotationsOf(node);
  const nodeName = nodeNameOf(node);
  const managed = annotations[names.subnetKubeManaged];
  if (managed === undefined) return { ok: false, reason: `annotation ${names.subnetKubeManaged} is missing`, notFlannel: true };
  if (managed !== 'true') return { ok: false, reason: `annotation ${names.subnetKubeManaged} is "${managed}", not "true"` };
  const cidrs = selectPodCidrs(node, nodeName);
  if (!cidrs.ok) return cidrs;

  let publicIp = '';
  if (families.enableIpv4) {
    const text = annotations[names.backendPublicIp];
    const ip = text === undefined ? undefined : tryParseIp4(text);
    if (ip === undefined) return { ok: false, reason: describeBadAddress(names.backendPublicIp, text, 'IPv4') };
    publicIp = formatIp4(ip);
    if (cidrs.ipv4 === undefined) return { ok: false, reason: 'Missing IPv4 address on n.Spec.PodCIDRs' };
  }
  let publicIpv6: string | null = null;
  if (families.enableIpv6) {
    const text = annotations[names.backendPublicIpv6];
    const ip = text === undefined ? undefined : tryParseIp6(text);
    if (ip === undefined) return { ok: false, reason: describeBadAddress(names.backendPublicIpv6, text, 'IPv6') };
    publicIpv6 = formatIp6(ip);
    if (cidrs.ipv6 === undefined) return { ok: false, reason: 'Missing IPv6 address on n.Spec.PodCIDRs' };
  }
  return {
    ok: true,
    lease: {
      enableIpv4: families.enableIpv4,
      enableIpv6: families.enableIpv6,
      subnet: families.enableIpv4 ? cidrs.ipv4 : undefined,
      ipv6Subnet: families.enableIpv6 ? cidrs.ipv6 : undefined,
      attrs: {
        publicIp,
        publicIpv6,
        backendType: annotations[names.backendType] ?? '',
        backendData: nonEmpty(families.enableIpv4 ? annotations[names.backendData] : undefined),
        backendV6Data: nonEmpty(families.enableIpv6 ? annotations[names.backendV6Data] : undefined),
      },
      expiration: undefined,
      nodeName,
    },
  };
}

function describeBadAddress(annotation: string, text: string | undefined, family: string): string {
  return text === undefined ? `annotation ${annotation} is missing` : `annotation ${annotation} "${text}" is not an ${family} address`;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

/** True when two leases would program the same dataplane (subnets and published attributes). */
export function leasesEqual(a: Lease, b: Lease): boolean {
  return (
    a.enableIpv4 === b.enableIpv4 &&
    a.enableIpv6 === b.enableIpv6 &&
    sameOptional(a.subnet, b.subnet, ip4NetEqual) &&
    sameOptional(a.ipv6Subnet, b.ipv6Subnet, ip6NetEqual) &&
    a.attrs.publicIp === b.attrs.publicIp &&
    a.attrs.publicIpv6 === b.attrs.publicIpv6 &&
    a.attrs.backendType === b.attrs.backendType &&
    a.attrs.backendData === b.attrs.backendData &&
    a.attrs.backendV6Data === b.attrs.backendV6Data
  );
}

/** True when both leases claim the same subnets, so a change can be sent as one "added". */
export function sameSubnets(a: Lease, b: Lease): boolean {
  return sameOptional(a.subnet, b.subnet, ip4NetEqual) && sameOptional(a.ipv6Subnet, b.ipv6Subnet, ip6NetEqual);
}

function sameOptional<T>(a: T | undefined, b: T | undefined, equal: (x: T, y: T) => boolean): boolean {
  if (a === undefined || b === undefined) return a === b;
  return equal(a, b);
}
