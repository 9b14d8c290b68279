import type { NetConfig } from '../../config/net-config.js';
import {
  formatIp4Net,
  formatIp6Net,
  ip4NetContainsNet,
  ip6NetContainsNet,
  tryParseIp4,
  tryParseIp6,
  type Ip4Net,
  type Ip6Net,
} from '../../net/ip.js';
import type { LeaseAttrs } from '../types.js';
import { DEFAULT_ANNOTATION_PREFIX, kubeAnnotationNames, type KubeAnnotationNames } from './annotations.js';
import { PodCidrError } from './errors.js';
import type { NodeView } from './node-view.js';
import { selectPodCidrs } from './pod-cidrs.js';

export interface OwnSubnets {
  readonly ipv4: Ip4Net | undefined;
  readonly ipv6: Ip6Net | undefined;
}

/**
 * The own node's subnets, checked as flannel checks them before publishing a lease.
 * @throws PodCidrError when a needed family is missing, there are more than two podCIDRs, one
 *   does not parse, or a subnet lies outside the configured Network.
 */
export function ownSubnets(node: NodeView, nodeName: string, config: NetConfig): OwnSubnets {
  const selection = selectPodCidrs(node, nodeName);
  if (!selection.ok) throw new PodCidrError(selection.reason, { node: nodeName, podCIDRs: node.spec?.podCIDRs, podCIDR: node.spec?.podCIDR });
  if (config.enableIpv4) {
    if (selection.ipv4 === undefined) {
      throw new PodCidrError('Missing IPv4 address on n.Spec.PodCIDRs', { node: nodeName, podCIDRs: node.spec?.podCIDRs });
    }
    const network = config.network;
    if (network === undefined || network.prefixLen === 0 || !ip4NetContainsNet(network, selection.ipv4)) {
      const networkText = network === undefined ? '0.0.0.0/0' : formatIp4Net(network);
      const cidr = formatIp4Net(selection.ipv4);
      throw new PodCidrError(
        `subnet "${networkText}" specified in the flannel net config doesn't contain "${cidr}" PodCIDR of the "${nodeName}" node`,
        { node: nodeName, network: networkText, podCIDR: cidr },
      );
    }
  }
  if (config.enableIpv6) {
    if (selection.ipv6 === undefined) {
      throw new PodCidrError('Missing IPv6 address on n.Spec.PodCIDRs', { node: nodeName, podCIDRs: node.spec?.podCIDRs });
    }
    const network = config.ipv6Network;
    if (network === undefined) {
      const cidr = formatIp6Net(selection.ipv6);
      throw new PodCidrError(
        `subnet "${cidr}" specified in the PodCIDR, but doesn't exist in the flannel net config of the "${nodeName}" node`,
        { node: nodeName, podCIDR: cidr },
      );
    }
    if (network.prefixLen === 0 || !ip6NetContainsNet(network, selection.ipv6)) {
      const networkText = formatIp6Net(network);
      const cidr = formatIp6Net(selection.ipv6);
      throw new PodCidrError(
        `subnet "${networkText}" specified in the flannel net config doesn't contain "${cidr}" IPv6 PodCIDR of the "${nodeName}" node`,
        { node: nodeName, ipv6Network: networkText, podCIDR: cidr },
      );
    }
  }
  return { ipv4: config.enableIpv4 ? selection.ipv4 : undefined, ipv6: config.enableIpv6 ? selection.ipv6 : undefined };
}

export interface OwnAnnotationPlan {
  /** Only the annotations whose value must change; empty means no PATCH is sent. */
  readonly changed: Readonly<Record<string, string>>;
  /**
   * The attributes peers will read back from the node once the patch is applied (with
   * public-ip-overwrite applied). The own lease keeps the requested attributes, as flannel's.
   */
  readonly published: LeaseAttrs;
}

/**
 * What flannel writes on its own node. Backend data is Go's JSON of the raw message, so an
 * absent value is the text `null` (host-gw). vxlan with `null` data skips the per-family data
 * and public IP (that family is off); an admin's `public-ip-overwrite` replaces the address.
 */
export function planOwnAnnotations(
  current: Readonly<Record<string, string>>,
  attrs: LeaseAttrs,
  names: KubeAnnotationNames,
): OwnAnnotationPlan {
  const type = attrs.backendType;
  const data = attrs.backendData ?? 'null';
  const v6Data = attrs.backendV6Data ?? 'null';
  const hasIpv6 = attrs.publicIpv6 !== null && attrs.publicIpv6 !== '';
  const desired: Record<string, string> = { [names.backendType]: type };
  let publishedIp = attrs.publicIp;
  let publishedIpv6 = attrs.publicIpv6;

  // flannel also spells out a wireguard case here, but every type other than vxlan writes.
  const writeV4 = attrs.publicIp !== '' && (type !== 'vxlan' || data !== 'null');
  if (writeV4) {
    desired[names.backendData] = data;
    publishedIp = nonEmpty(current[names.backendPublicIpOverwrite]) ?? attrs.publicIp;
    desired[names.backendPublicIp] = publishedIp;
  }
  const writeV6 =
    (type === 'vxlan' && v6Data !== 'null') ||
    (type === 'wireguard' && v6Data !== 'null' && hasIpv6) ||
    ((type === 'host-gw' || type === 'extension') && hasIpv6);
  if (writeV6 && hasIpv6) {
    desired[names.backendV6Data] = v6Data;
    publishedIpv6 = nonEmpty(current[names.backendPublicIpv6Overwrite]) ?? attrs.publicIpv6;
    desired[names.backendPublicIpv6] = publishedIpv6 ?? '';
  }
  desired[names.subnetKubeManaged] = 'true';

  const changed: Record<string, string> = {};
  for (const [key, value] of Object.entries(desired)) {
    if (current[key] !== value) changed[key] = value;
  }
  return {
    changed,
    published: { ...attrs, publicIp: publishedIp, publicIpv6: publishedIpv6 },
  };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

export interface NodePublicIpOverride {
  readonly publicIp: string | undefined;
  readonly publicIpv6: string | undefined;
  /** Annotations that are set but do not hold an address of their family (to be logged). */
  readonly invalid: readonly { readonly annotation: string; readonly value: string }[];
}

/**
 * The admin's `node-public-ip` / `node-public-ipv6` annotations, which override
 * `--public-ip` / `--public-ipv6` (and so the interface choice).
 */
export function nodePublicIpOverride(
  annotations: Readonly<Record<string, string>>,
  names: KubeAnnotationNames = kubeAnnotationNames(DEFAULT_ANNOTATION_PREFIX),
): NodePublicIpOverride {
  const invalid: { annotation: string; value: string }[] = [];
  const read = (annotation: string, valid: (text: string) => boolean): string | undefined => {
    const value = annotations[annotation];
    if (value === undefined || value === '') return undefined;
    if (valid(value)) return value;
    invalid.push({ annotation, value });
    return undefined;
  };
  const publicIp = read(names.nodePublicIp, (text) => tryParseIp4(text) !== undefined);
  const publicIpv6 = read(names.nodePublicIpv6, (text) => tryParseIp6(text) !== undefined);
  return { publicIp, publicIpv6, invalid };
}

/**
 * What marking the node's network as up would change: the NetworkUnavailable condition's status
 * and reason as they are → as flannel sets them; empty when the node already says False for
 * FlannelIsUp (then nothing is written, so a restart makes no API write).
 */
export function networkUpConditionChanges(node: NodeView): string[] {
  const current = node.status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
  const changes: string[] = [];
  if (current?.status !== 'False') changes.push(`status: ${current?.status ?? '(no condition)'} -> False`);
  if (current?.reason !== 'FlannelIsUp') changes.push(`reason: ${current?.reason ?? '(none)'} -> FlannelIsUp`);
  return changes;
}

/** The strategic-merge patch body that marks the node's network as up (merged by `type`). */
export function networkUpConditionPatch(now: Date): { status: { conditions: Record<string, string>[] } } {
  // Kubernetes serialises metav1.Time at second precision.
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    status: {
      conditions: [
        {
          // Field order of Go's v1.NodeCondition, so the body matches flanneld's.
          type: 'NetworkUnavailable',
          status: 'False',
          lastHeartbeatTime: time,
          lastTransitionTime: time,
          reason: 'FlannelIsUp',
          message: 'Flannel is running on this node',
        },
      ],
    },
  };
}
