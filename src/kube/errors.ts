import { FlannelWinError } from '../errors.js';

/**
 * Errors of the Kubernetes API plumbing shared by every watched kind. Codes:
 * - `KUBE_API`: a call to the API server failed (context names the call, the object and the
 *   HTTP status when the server answered).
 * - `KUBE_CONFIG`: no usable client configuration (kubeconfig, API URL, in-cluster).
 */
export class KubeError extends FlannelWinError {}

/** A request to the API server failed: transport error, or a non-2xx answer. */
export class KubeApiError extends KubeError {
  /** HTTP status when the server answered, undefined for a transport failure. */
  readonly status: number | undefined;

  constructor(call: string, object: string, cause: unknown) {
    const status = httpStatusOf(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('KUBE_API', `Cannot ${call} ${object}: ${detail}`, { call, object, status }, { cause });
    this.status = status;
  }
}

/**
 * The resourceVersion (of a watch) or the continue token (of a paged list) is older than the
 * server keeps: the caller must list again from scratch.
 */
export class GoneError extends KubeApiError {}

/** No data (not even a bookmark) arrived on a watch within the silence deadline. */
export class WatchSilentError extends KubeApiError {
  constructor(object: string, silenceMs: number) {
    super('watch', object, new Error(`no data for ${silenceMs} ms`));
  }
}

/** The client configuration cannot be used. */
export class KubeConfigError extends KubeError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super('KUBE_CONFIG', `Cannot load the Kubernetes client configuration: ${message}`, context, { cause });
  }
}

/** An HTTP failure as the API server reported it (its Status object), before context is added. */
export class HttpStatusError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'HttpStatusError';
    this.statusCode = statusCode;
  }
}

/** The HTTP status carried by an error (ours, or one thrown by @kubernetes/client-node). */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const candidate = err as { status?: unknown; code?: unknown; statusCode?: unknown };
  if (typeof candidate.statusCode === 'number') return candidate.statusCode;
  if (typeof candidate.status === 'number') return candidate.status;
  if (typeof candidate.code === 'number') return candidate.code;
  return undefined;
}
