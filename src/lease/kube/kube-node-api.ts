import { CoreV1Api, PatchStrategy, Watch, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, httpStatusOf } from './errors.js';
import type { NodeView } from './node-view.js';

export interface NodeList {
  readonly nodes: readonly NodeView[];
  /** The list's resourceVersion: where a watch that follows it starts. */
  readonly resourceVersion: string;
}

export type NodeWatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly node: NodeView }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string };

export interface NodeWatchRequest {
  readonly resourceVersion: string;
  /** e.g. `metadata.name=node-a` to follow one node. */
  readonly fieldSelector?: string | undefined;
  /** Asks the server to end the watch after this long (it is then resumed). */
  readonly timeoutSeconds: number;
  /** The watch is abandoned (rejects with a WatchSilentError) after this long without data. */
  readonly silenceMs: number;
}

/**
 * The calls the kube subnet manager makes, narrowed to the shapes it reads, so the manager
 * and its tests do not depend on the client library. RBAC needed is flannel's: pods get,
 * nodes get/list/watch, nodes/status patch.
 */
export interface KubeNodeApi {
  getNode(name: string, signal: AbortSignal): Promise<NodeView>;
  listNodes(fieldSelector: string | undefined, signal: AbortSignal): Promise<NodeList>;
  /**
   * Streams node changes after `resourceVersion` to `onEvent`. Resolves when the server ends
   * the stream; rejects with `WatchGoneError` when the version has expired (410), with
   * `WatchSilentError` after `silenceMs` without data, else with a `KubeApiError`.
   */
  watchNodes(request: NodeWatchRequest, onEvent: (event: NodeWatchEvent) => void, signal: AbortSignal): Promise<void>;
  /** Strategic-merge PATCH of the `status` subresource (where flannel writes annotations too). */
  patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<NodeView>;
  readPod(namespace: string, name: string, signal: AbortSignal): Promise<{ readonly spec?: { readonly nodeName?: string } }>;
}

/** The watch's resourceVersion is older than the server keeps: the caller must list again. */
export class WatchGoneError extends KubeApiError {
  constructor(object: string, cause: unknown) {
    super('watch', object, cause);
  }
}

/** No data (not even a bookmark) arrived within the silence deadline. */
export class WatchSilentError extends KubeApiError {
  constructor(object: string, silenceMs: number) {
    super('watch', object, new Error(`no data for ${silenceMs} ms`));
  }
}

/** Wires KubeNodeApi to @kubernetes/client-node 2 (CoreV1Api for calls, Watch for streams). */
export function clientNodeApi(kc: KubeConfig): KubeNodeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const strategicMerge = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  return {
    getNode: (name, signal) => call('get', `node "${name}"`, signal, () => core.readNode({ name })),
    async listNodes(fieldSelector, signal) {
      const list = await call('list', 'nodes', signal, () => core.listNode(fieldSelector ? { fieldSelector } : {}));
      return { nodes: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    watchNodes: (request, onEvent, signal) => watchNodes(kc, request, onEvent, signal),
    patchNodeStatus: (name, patch, signal) =>
      call('patch', `node "${name}" status`, signal, () => core.patchNodeStatus({ name, body: patch }, strategicMerge)),
    readPod: (namespace, name, signal) =>
      call('get', `pod "${namespace}/${name}"`, signal, () => core.readNamespacedPod({ name, namespace })),
  };
}

/**
 * The generated client takes no AbortSignal: stop waiting on abort and let the request finish
 * in the background (its result is dropped).
 */
async function call<T>(verb: string, object: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(), aborted]);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new KubeApiError(verb, object, err);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

interface RawWatchStatus {
  readonly code?: number;
  readonly message?: string;
}

function watchNodes(
  kc: KubeConfig,
  request: NodeWatchRequest,
  onEvent: (event: NodeWatchEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const object = request.fieldSelector ? `nodes (${request.fieldSelector})` : 'nodes';
  const watch = new Watch(kc);
  // Watch (client-node 2.0.1, dist/watch.js) restarts this timer on every chunk, so it is an
  // inactivity deadline; the field is private in the typings only.
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = request.silenceMs;
  return new Promise<void>((resolve, reject) => {
    let controller: AbortController | undefined;
    let failure: Error | undefined;
    const onAbort = (): void => controller?.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = (err: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else if (failure) reject(failure);
      else if (err === null || err === undefined) resolve();
      else if (err instanceof Error && err.name === 'TimeoutError') reject(new WatchSilentError(object, request.silenceMs));
      else if (httpStatusOf(err) === 410) reject(new WatchGoneError(object, err));
      else reject(new KubeApiError('watch', object, err));
    };
    const query: Record<string, string | number | boolean> = {
      resourceVersion: request.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: request.timeoutSeconds,
    };
    if (request.fieldSelector) query['fieldSelector'] = request.fieldSelector;
    const handle = (type: string, raw: unknown): void => {
      if (type === 'ERROR') {
        // The server reports an expired resourceVersion inside a 200 stream, then closes it.
        const status = (raw ?? {}) as RawWatchStatus;
        const cause = Object.assign(new Error(status.message ?? 'watch error'), { statusCode: status.code });
        failure = status.code === 410 ? new WatchGoneError(object, cause) : new KubeApiError('watch', object, cause);
        controller?.abort();
        return;
      }
      if (type === 'BOOKMARK') {
        const resourceVersion = (raw as NodeView | undefined)?.metadata?.resourceVersion;
        if (resourceVersion) onEvent({ type, resourceVersion });
        return;
      }
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, node: raw as NodeView });
    };
    watch.watch('/api/v1/nodes', query, handle, finish).then(
      (c) => {
        controller = c;
        if (signal.aborted) c.abort();
      },
      finish,
    );
  });
}
