import { formatIp4Net, maskIp4Net, type Ip4Net } from '../net/ip.js';

/**
 * The delegate plugins flannel-win configures: containernetworking/plugins' `win-overlay` and
 * `win-bridge` with `apiVersion: 2` (HCN v2, the containerd path). Not Microsoft's
 * `sdnoverlay`/`sdnbridge`: those speak another dialect (`AdditionalArgs`, `optionalFlags`),
 * ignore `ipMasq`, and create the HNS network themselves when it is missing, which would let a
 * pod start before flannel-win has set the network up.
 */
export const DELEGATE_BY_BACKEND = { vxlan: 'win-overlay', 'host-gw': 'win-bridge' } as const;

export type CniBackend = keyof typeof DELEGATE_BY_BACKEND;

/** The conflist's CNI version: the image's flannel.exe (v1.9.1-flannel3) and win-overlay/win-bridge (v1.9.1) accept it, as RKE2 runs them. */
export const CNI_VERSION = '1.0.0';

/** Everything the CNI config depends on; equal inputs give byte-equal output. */
export interface CniConfigInput {
  backend: CniBackend;
  /** The HNS network's name (flannel.<VNI> or cbr0): the delegates look the network up by it. */
  networkName: string;
  /** net-conf.json `Network`: pod-to-pod traffic is never NATed. */
  clusterCidr: Ip4Net;
  /** --service-cidr: service traffic is neither NATed nor sent out of the host unencapsulated. */
  serviceCidr: Ip4Net;
  /** The node's address on the network flannel uses (overlay: the VXLAN provider address). */
  nodeIp: string;
  /** --ip-masq; flannel.exe also copies FLANNEL_IPMASQ into the delegate at each ADD. */
  ipMasq: boolean;
}

interface EndpointPolicyArg {
  Name: 'EndpointPolicy';
  Value: { Type: string; Settings: Record<string, unknown> };
}

function endpointPolicy(type: string, settings: Record<string, unknown>): EndpointPolicyArg {
  return { Name: 'EndpointPolicy', Value: { Type: type, Settings: settings } };
}

/**
 * The flannel CNI config as a conflist object. flannel.exe reads subnet.env at every ADD and
 * adds `ipam` (host-local on the node subnet) and `ipMasqNetwork` to the delegate itself, so
 * neither is written here (a delegate `ipam` is a hard error in flannel.exe). The MTU is not a
 * field either: neither delegate reads one; HNS gives pods the network's MTU, and flannel.exe
 * only requires FLANNEL_MTU to be present in subnet.env.
 */
export function buildCniConfig(input: CniConfigInput): Record<string, unknown> {
  const cluster = formatIp4Net(maskIp4Net(input.clusterCidr));
  const services = formatIp4Net(maskIp4Net(input.serviceCidr));
  const outboundNat = endpointPolicy('OutBoundNAT', { Exceptions: [cluster, services] });
  // Service VIPs are answered by kube-proxy's load balancers in the host's vSwitch; NeedEncap
  // sends that traffic through the host instead of out of the NIC as is.
  const serviceRoute = endpointPolicy('SDNRoute', { DestinationPrefix: services, NeedEncap: true });
  const delegate: Record<string, unknown> =
    input.backend === 'vxlan'
      ? {
          type: DELEGATE_BY_BACKEND.vxlan,
          apiVersion: 2,
          // win-overlay: true adds an OutBoundNAT of its own excepting the node subnet.
          ipMasq: input.ipMasq,
          Policies: [outboundNat, serviceRoute, endpointPolicy('ProviderAddress', { ProviderAddress: input.nodeIp })],
        }
      : {
          type: DELEGATE_BY_BACKEND['host-gw'],
          apiVersion: 2,
          // win-bridge has no ipMasq switch: it always NATs what leaves the cluster network.
          Policies: [outboundNat, serviceRoute, endpointPolicy('SDNRoute', { DestinationPrefix: `${input.nodeIp}/32`, NeedEncap: true })],
        };
  return {
    cniVersion: CNI_VERSION,
    name: input.networkName,
    plugins: [
      {
        type: 'flannel',
        capabilities: { portMappings: true, dns: true },
        delegate,
      },
    ],
  };
}

/** The file's bytes: two-space JSON and a final newline, stable for the "content changed" test. */
export function formatCniConfig(input: CniConfigInput): string {
  return `${JSON.stringify(buildCniConfig(input), null, 2)}\n`;
}
