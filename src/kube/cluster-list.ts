/**
 * The cluster as the policy controller's first snapshot sees it, read once: Pods,
 * NetworkPolicies (all namespaces) and Namespaces, each one paged list, no watch. For `plan`,
 * which must read what the daemon would act on without staying connected.
 * @module
 */
import type { Logger } from '../log.js';
import { CLUSTER_RESOURCES, clusterViewReaders, type ClusterKind, type ClusterViews } from './cluster-watch.js';
import { GoneError } from './errors.js';
import type { KubeHttpClient } from './kube-http-client.js';
import { DEFAULT_PAGE_SIZE, listPages } from './paged-list.js';
import { ViewStore, type ViewReader } from './view-store.js';

export interface ClusterListOptions {
  readonly client: KubeHttpClient;
  readonly log: Logger;
  /** @default DEFAULT_PAGE_SIZE */
  readonly pageSize?: number | undefined;
}

/** A list whose continue token expired half-way is started again this many times in all. */
const LIST_ATTEMPTS = 3;

async function listKind<K extends ClusterKind, V>(options: ClusterListOptions, kind: K, reader: ViewReader<V>, signal: AbortSignal): Promise<ReadonlyMap<string, V>> {
  const resource = CLUSTER_RESOURCES[kind];
  const store = new ViewStore<V>(reader, {
    onChange: () => undefined,
    onSynced: () => undefined,
    onUnreadable: (raw) => {
      const metadata = (raw as { metadata?: unknown } | null)?.metadata;
      options.log.warn({ kind, metadata: JSON.stringify(metadata ?? null).slice(0, 200) }, `Ignoring a ${kind} without namespace or name`);
    },
  });
  for (let attempt = 1; ; attempt++) {
    try {
      store.listStart();
      for await (const page of listPages(options.client, { path: resource.path, what: resource.what, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE }, signal)) store.listPage(page.items);
      store.listEnd();
      return store.views;
    } catch (err) {
      // The server forgot the continue token (a list slower than its retention): list again.
      if (!(err instanceof GoneError) || attempt >= LIST_ATTEMPTS) throw err;
    }
  }
}

/**
 * Lists pods, namespaces and policies once (the three in parallel), read with the watch's own
 * readers. Read-only (GET only). Throws the list's KubeApiError (RBAC, transport).
 */
export async function listCluster(options: ClusterListOptions, signal: AbortSignal): Promise<ClusterViews> {
  const readers = clusterViewReaders();
  const [pods, namespaces, policies] = await Promise.all([
    listKind(options, 'Pod', readers.Pod, signal),
    listKind(options, 'Namespace', readers.Namespace, signal),
    listKind(options, 'NetworkPolicy', readers.NetworkPolicy, signal),
  ]);
  return { pods, namespaces, policies };
}
