import { FlannelWinError } from '../../errors.js';

/**
 * Errors of the Kubernetes subnet manager (API and configuration errors are the shared
 * `KubeApiError` and `KubeConfigError` of src/kube). Codes:
 * - `KUBE_NODE_NAME`: the node name could not be determined (env or pod lookup).
 * - `KUBE_POD_CIDR`: the own node's podCIDRs are unusable (none, unparsable, more than two,
 *   missing the needed family, or outside the configured Network).
 * - `KUBE_ANNOTATION_PREFIX`: `--kube-annotation-prefix` is not a valid annotation prefix.
 * - `KUBE_NET_CONFIG`: net-conf.json could not be read.
 * - `KUBE_CLOSED`: the manager was closed while a call was waiting.
 */
export class KubeSubnetError extends FlannelWinError {}

export class KubeNodeNameError extends KubeSubnetError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super('KUBE_NODE_NAME', message, context, { cause });
  }
}

export class PodCidrError extends KubeSubnetError {
  constructor(message: string, context: Record<string, unknown>) {
    super('KUBE_POD_CIDR', message, context);
  }
}
