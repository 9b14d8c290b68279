import { FlannelWinError } from '../../errors.js';

/**
 * Errors of the Kubernetes subnet manager. Codes:
 * - `KUBE_NODE_NAME`: the node name could not be determined (env or pod lookup).
 * - `KUBE_POD_CIDR`: the own node's podCIDRs are unusable (none, unparsable, more than two,
 *   missing the needed family, or outside the configured Network).
 * - `KUBE_API`: a call to the API server failed (context names the call and the object).
 * - `KUBE_CONFIG`: no usable client configuration (kubeconfig, API URL, in-cluster).
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

export class KubeApiError extends KubeSubnetError {
  /** HTTP status when the server answered, undefined for a transport failure. */
  readonly status: number | undefined;

  constructor(call: string, object: string, cause: unknown) {
    const status = httpStatusOf(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('KUBE_API', `Cannot ${call} ${object}: ${detail}`, { call, object, status }, { cause });
    this.status = status;
  }
}

/** The HTTP status carried by an error from @kubernetes/client-node (ApiException or Watch). */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const candidate = err as { code?: unknown; statusCode?: unknown };
  if (typeof candidate.statusCode === 'number') return candidate.statusCode;
  if (typeof candidate.code === 'number') return candidate.code;
  return undefined;
}
