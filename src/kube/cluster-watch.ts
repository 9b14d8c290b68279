import type { Logger } from '../log.js';
import type { KubeHttpClient } from './kube-http-client.js';
import { runListWatch, type ListWatchTimings, type WatchedResource } from './list-watch.js';
import type { NamespaceView, PodView, PolicyView } from '../policy/model.js';
import { readNamespace, sameNamespace } from './namespace-view.js';
import { readNetworkPolicy, samePolicy } from './network-policy-view.js';
import { newViewPools, readPod, samePod } from './pod-view.js';
import { ViewStore, type ViewChange, type ViewReader } from './view-store.js';

/** The views of each watched kind. */
export interface ClusterViewTypes {
  readonly Pod: PodView;
  readonly Namespace: NamespaceView;
  readonly NetworkPolicy: PolicyView;
}

export type ClusterKind = keyof ClusterViewTypes;

/** Everything watched, by key (`namespace/name`, or `name` for namespaces). */
export interface ClusterViews {
  readonly pods: ReadonlyMap<string, PodView>;
  readonly namespaces: ReadonlyMap<string, NamespaceView>;
  readonly policies: ReadonlyMap<string, PolicyView>;
}

/**
 * What a policy controller consumes: one `snapshot` once pods, namespaces and policies have all
 * been listed, then an `upsert` or `delete` per change that alters a view (a pod's status
 * heartbeat or an annotation yields nothing). After a relist (410 Gone) only the differences
 * come, as upserts and deletes. The snapshot's maps are the live stores: read them during the
 * call (or copy what is needed), do not keep them.
 */
export type ClusterEvent =
  | { readonly type: 'snapshot'; readonly views: ClusterViews }
  | { [K in ClusterKind]: ViewChange<ClusterViewTypes[K]> & { readonly kind: K } }[ClusterKind];

export interface ClusterWatchOptions {
  readonly client: KubeHttpClient;
  readonly timings: ListWatchTimings;
  readonly log: Logger;
  /** Objects per list page. @default DEFAULT_PAGE_SIZE */
  readonly pageSize?: number | undefined;
}

/** Where each kind is listed and watched (all namespaces). */
export const CLUSTER_RESOURCES = {
  Pod: { path: '/api/v1/pods', what: 'pods' },
  Namespace: { path: '/api/v1/namespaces', what: 'namespaces' },
  NetworkPolicy: { path: '/apis/networking.k8s.io/v1/networkpolicies', what: 'networkpolicies' },
} as const satisfies Record<ClusterKind, WatchedResource>;

/** How each kind's raw objects become views, keyed and compared: one reading for the watch and a one-off list. */
export function clusterViewReaders(): { [K in ClusterKind]: ViewReader<ClusterViewTypes[K]> } {
  const pools = newViewPools();
  return {
    Pod: { read: (raw) => readPod(raw, pools), key: (pod) => `${pod.namespace}/${pod.name}`, same: samePod },
    Namespace: { read: (raw) => readNamespace(raw, pools), key: (ns) => ns.name, same: sameNamespace },
    NetworkPolicy: { read: readNetworkPolicy, key: (policy) => `${policy.namespace}/${policy.name}`, same: samePolicy },
  };
}

/**
 * Watches Pods and NetworkPolicies of all namespaces, and Namespaces, keeping per object only
 * the compact view policy compilation needs (the views of src/policy/model.ts), and reports to `onEvent` (synchronously; a throw
 * is logged). Each kind runs the supervised list-watch (paged lists, resume, relist on 410).
 * Resolves when `signal` aborts. RBAC: list and watch of pods, namespaces and
 * networking.k8s.io networkpolicies.
 */
export async function watchCluster(options: ClusterWatchOptions, onEvent: (event: ClusterEvent) => void, signal: AbortSignal): Promise<void> {
  const { log } = options;
  const readers = clusterViewReaders();
  const stores: { [K in ClusterKind]: ViewStore<ClusterViewTypes[K]> } = {
    Pod: store('Pod', readers.Pod),
    Namespace: store('Namespace', readers.Namespace),
    NetworkPolicy: store('NetworkPolicy', readers.NetworkPolicy),
  };

  function store<K extends ClusterKind>(kind: K, reader: ViewReader<ClusterViewTypes[K]>): ViewStore<ClusterViewTypes[K]> {
    return new ViewStore<ClusterViewTypes[K]>(reader, {
      onChange: (change) => deliver({ ...change, kind } as ClusterEvent),
      onSynced: () => {
        log.info({ kind, objects: stores[kind].views.size }, `Listed ${CLUSTER_RESOURCES[kind].what}`);
        if (!(Object.values(stores) as ViewStore<unknown>[]).every((s) => s.synced)) return;
        for (const s of Object.values(stores) as ViewStore<unknown>[]) s.live = true;
        deliver({ type: 'snapshot', views: { pods: stores.Pod.views, namespaces: stores.Namespace.views, policies: stores.NetworkPolicy.views } });
      },
      onUnreadable: (raw) => {
        const metadata = (raw as { metadata?: unknown } | null)?.metadata;
        log.warn({ kind, metadata: JSON.stringify(metadata ?? null).slice(0, 200) }, `Ignoring a ${kind} without namespace or name`);
      },
    });
  }

  function deliver(event: ClusterEvent): void {
    try {
      onEvent(event);
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err), event: event.type }, 'Cluster event handler failed');
    }
  }

  await Promise.all(
    (Object.keys(CLUSTER_RESOURCES) as ClusterKind[]).map((kind) =>
      runListWatch(
        { client: options.client, resource: CLUSTER_RESOURCES[kind], timings: options.timings, log, signal, pageSize: options.pageSize },
        stores[kind] as ViewStore<unknown>,
      ),
    ),
  );
}
