import type { Logger } from '../../log.js';
import type { KubeHttpClient } from '../../kube/kube-http-client.js';
import { runListWatch, type ListWatchHandler, type ListWatchTimings } from '../../kube/list-watch.js';
import type { NodeView } from './node-view.js';

const STRATEGIC_MERGE = 'application/strategic-merge-patch+json';

/** How a node list-watch runs: its timings, its logger, and until when. */
export interface NodeWatchOptions {
  /** e.g. `metadata.name=node-a` to follow one node. */
  readonly fieldSelector?: string | undefined;
  readonly timings: ListWatchTimings;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/**
 * The calls the kube subnet manager makes, narrowed to the shapes it reads, so the manager
 * and its tests do not depend on the HTTP client. RBAC needed is flannel's: pods get, nodes
 * get/list/watch, nodes/status patch.
 */
export interface KubeNodeApi {
  getNode(name: string, signal: AbortSignal): Promise<NodeView>;
  /** The supervised list-watch of nodes (see runListWatch); resolves when the signal aborts. */
  listWatchNodes(options: NodeWatchOptions, handler: ListWatchHandler): Promise<void>;
  /** Strategic-merge PATCH of the `status` subresource (where flannel writes annotations too). */
  patchNodeStatus(name: string, patch: object, signal: AbortSignal): Promise<NodeView>;
  readPod(namespace: string, name: string, signal: AbortSignal): Promise<{ readonly spec?: { readonly nodeName?: string } }>;
}

/** KubeNodeApi over the API server's HTTP interface. */
export function httpNodeApi(client: KubeHttpClient): KubeNodeApi {
  const node = (name: string): string => `/api/v1/nodes/${encodeURIComponent(name)}`;
  return {
    getNode: async (name, signal) =>
      (await client.json('GET', node(name), {}, undefined, undefined, { call: 'get', object: `node "${name}"` }, signal)) as NodeView,
    listWatchNodes: ({ fieldSelector, timings, log, signal }, handler) =>
      runListWatch({ client, resource: { path: '/api/v1/nodes', what: 'nodes', fieldSelector }, timings, log, signal }, handler),
    patchNodeStatus: async (name, patch, signal) =>
      (await client.json('PATCH', `${node(name)}/status`, {}, patch, STRATEGIC_MERGE, { call: 'patch', object: `node "${name}" status` }, signal)) as NodeView,
    readPod: async (namespace, name, signal) =>
      (await client.json(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
        {},
        undefined,
        undefined,
        { call: 'get', object: `pod "${namespace}/${name}"` },
        signal,
      )) as { spec?: { nodeName?: string } },
  };
}
