/**
 * The node annotation names flannel reads and writes, derived from an already-normalised
 * `--kube-annotation-prefix` (one that ends in "/" or "-"; see annotation-prefix.ts).
 */
export interface KubeAnnotationNames {
  readonly subnetKubeManaged: string;
  readonly backendType: string;
  readonly backendData: string;
  readonly backendV6Data: string;
  readonly backendPublicIp: string;
  readonly backendPublicIpv6: string;
  readonly backendPublicIpOverwrite: string;
  readonly backendPublicIpv6Overwrite: string;
  readonly nodePublicIp: string;
  readonly nodePublicIpv6: string;
}

/** flannel's default prefix, after normalisation. */
export const DEFAULT_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com/';

/**
 * @example kubeAnnotationNames('flannel.alpha.coreos.com/').backendType
 *   // 'flannel.alpha.coreos.com/backend-type'
 * @example kubeAnnotationNames('example.com/foo-').backendType // 'example.com/foo-backend-type'
 */
export function kubeAnnotationNames(normalisedPrefix: string): KubeAnnotationNames {
  const name = (suffix: string): string => `${normalisedPrefix}${suffix}`;
  return {
    subnetKubeManaged: name('kube-subnet-manager'),
    backendType: name('backend-type'),
    backendData: name('backend-data'),
    backendV6Data: name('backend-v6-data'),
    backendPublicIp: name('public-ip'),
    backendPublicIpv6: name('public-ipv6'),
    backendPublicIpOverwrite: name('public-ip-overwrite'),
    backendPublicIpv6Overwrite: name('public-ipv6-overwrite'),
    nodePublicIp: name('node-public-ip'),
    nodePublicIpv6: name('node-public-ipv6'),
  };
}
