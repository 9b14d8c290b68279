import { LeaseWatcher, type PeerChange } from '../../src/lease/lease-watcher.js';
import { leaseSubnets } from '../../src/lease/lease-identity.js';
import { createKubeSubnetManager, type KubeSubnetManager, type KubeTimings } from '../../src/lease/kube/kube-subnet-manager.js';
import type { Lease, LeaseAttrs, LeaseWatchResult, SubnetManager } from '../../src/lease/types.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { parseIp4Net } from '../../src/net/ip.js';
import type { ClusterEvent } from '../../src/kube/cluster-watch.js';
import { loadKubeConfig } from '../../src/kube/kube-config.js';
import { KubeHttpClient } from '../../src/kube/kube-http-client.js';
import type { NamespaceView, PodView, PolicyView } from '../../src/policy/model.js';
import { watchCluster } from '../../src/kube/cluster-watch.js';
import type { KubeApiServer, StoredObject } from './kube-api-server.js';

export const PREFIX = 'flannel.alpha.coreos.com/';
export const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';

/** Fast enough for tests, slow enough not to spin. */
export const TEST_TIMINGS: KubeTimings = {
  watchTimeoutSeconds: 60,
  watchSilenceMs: 5_000,
  backoff: { baseMs: 20, maxMs: 200, jitter: 0.2 },
  retryIntervalMs: 30,
  retryAttempts: 5,
};

export function managerFor(
  server: KubeApiServer,
  options: {
    env?: Record<string, string>;
    netConf?: string;
    setNodeNetworkUnavailable?: boolean;
    timings?: Partial<KubeTimings>;
    log?: Logger;
  } = {},
): KubeSubnetManager {
  return createKubeSubnetManager({
    kubeconfigFile: server.kubeconfigPath,
    annotationPrefix: 'flannel.alpha.coreos.com',
    setNodeNetworkUnavailable: options.setNodeNetworkUnavailable ?? true,
    netConfText: options.netConf ?? NET_CONF,
    env: options.env ?? { NODE_NAME: 'win-1' },
    log: options.log ?? silentLogger(),
    timings: { ...TEST_TIMINGS, ...options.timings },
  });
}

export function vxlanAttrs(publicIp: string, mac: string): LeaseAttrs {
  return { publicIp, publicIpv6: null, backendType: 'vxlan', backendData: `{"VNI":4096,"VtepMAC":"${mac}"}`, backendV6Data: undefined };
}

/** The annotations Linux flanneld (vxlan, VNI 4096 for a mixed cluster) writes on its node. */
export function linuxVxlanAnnotations(publicIp: string, mac: string): Record<string, string> {
  return {
    [`${PREFIX}backend-data`]: `{"VNI":4096,"VtepMAC":"${mac}"}`,
    [`${PREFIX}backend-type`]: 'vxlan',
    [`${PREFIX}kube-subnet-manager`]: 'true',
    [`${PREFIX}public-ip`]: publicIp,
  };
}

/**
 * Runs `watchLeases` in the background and feeds it to the real LeaseWatcher, as the daemon
 * does, keeping every raw result and every resulting peer change for assertions.
 */
export class LeaseCollector {
  readonly results: LeaseWatchResult[] = [];
  readonly changes: PeerChange[] = [];
  readonly watcher: LeaseWatcher;
  readonly #stop = new AbortController();
  readonly done: Promise<void>;

  constructor(manager: SubnetManager, ownSubnet = '10.244.250.0/24', ownNode = 'win-1') {
    const watcher = new LeaseWatcher({ subnet: parseIp4Net(ownSubnet), ipv6Subnet: undefined, nodeName: ownNode });
    this.watcher = watcher;
    this.done = (async () => {
      for await (const result of manager.watchLeases(this.#stop.signal)) {
        this.results.push(result);
        this.changes.push(...watcher.apply(result));
      }
    })();
  }

  get snapshots(): number {
    return this.results.filter((r) => r.kind === 'snapshot').length;
  }

  /** Known peers as "subnet publicIp backendData", sorted. */
  peers(): string[] {
    return [...this.watcher.peers()].map(describe).sort();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.done;
  }
}

export function describe(lease: Lease): string {
  return `${leaseSubnets(lease)} ${lease.attrs.publicIp} ${lease.attrs.backendData ?? '-'}`;
}

// ---- pods, namespaces and policies as the API sends them -----------------------------------

export interface PodInput {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  nodeName?: string;
  ips?: string[];
  hostNetwork?: boolean;
  phase?: string;
  /** Container ports: `[name, port, protocol?]`. */
  ports?: [string, number, string?][];
}

/** A Pod shaped as kubelet and the scheduler fill it (status and annotations included). */
export function podObject(input: PodInput): StoredObject {
  const ips = input.ips ?? [];
  return {
    metadata: {
      name: input.name,
      namespace: input.namespace,
      labels: input.labels ?? {},
      annotations: { 'kubernetes.io/config.seen': '2026-11-29T09:00:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${input.name}-rs`, uid: 'rs-uid', controller: true }],
    },
    spec: {
      nodeName: input.nodeName ?? 'win-1',
      ...(input.hostNetwork ? { hostNetwork: true } : {}),
      containers: [
        {
          name: 'main',
          image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022',
          ports: (input.ports ?? []).map(([name, containerPort, protocol]) => ({ name, containerPort, ...(protocol ? { protocol } : {}) })),
        },
      ],
    },
    status: {
      phase: input.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-29T09:00:00Z' }],
      ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
    },
  };
}

/** A Namespace with the label the API server always sets. */
export function namespaceObject(name: string, labels: Record<string, string> = {}): StoredObject {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

/** A NetworkPolicy with the given spec. */
export function policyObject(namespace: string, name: string, spec: Record<string, unknown>): StoredObject {
  return { metadata: { name, namespace }, spec };
}

/**
 * Runs watchCluster against a server in the background, keeping every event and a mirror of
 * the views built only from the events (snapshot, then upserts and deletes), as a consumer
 * would.
 */
export class ClusterCollector {
  readonly events: ClusterEvent[] = [];
  readonly pods = new Map<string, PodView>();
  readonly namespaces = new Map<string, NamespaceView>();
  readonly policies = new Map<string, PolicyView>();
  readonly done: Promise<void>;
  readonly #stop = new AbortController();
  readonly #client: KubeHttpClient;

  constructor(server: KubeApiServer, options: { pageSize?: number; timings?: Partial<KubeTimings>; log?: Logger } = {}) {
    this.#client = new KubeHttpClient(loadKubeConfig({ kubeApiUrl: '', kubeconfigFile: server.kubeconfigPath }));
    this.done = watchCluster(
      { client: this.#client, timings: { ...TEST_TIMINGS, ...options.timings }, log: options.log ?? silentLogger(), pageSize: options.pageSize },
      (event) => this.#apply(event),
      this.#stop.signal,
    );
  }

  /** Events after the snapshot, as `kind type key`. */
  changes(): string[] {
    return this.events.flatMap((e) => (e.type === 'snapshot' ? [] : [`${e.kind} ${e.type} ${e.key}`]));
  }

  get snapshots(): number {
    return this.events.filter((e) => e.type === 'snapshot').length;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.done;
    this.#client.close();
  }

  #apply(event: ClusterEvent): void {
    this.events.push(event);
    if (event.type === 'snapshot') {
      copyInto(this.pods, event.views.pods);
      copyInto(this.namespaces, event.views.namespaces);
      copyInto(this.policies, event.views.policies);
      return;
    }
    const target = (event.kind === 'Pod' ? this.pods : event.kind === 'Namespace' ? this.namespaces : this.policies) as Map<string, unknown>;
    if (event.type === 'delete') target.delete(event.key);
    else target.set(event.key, event.object);
  }
}

function copyInto<V>(target: Map<string, V>, source: ReadonlyMap<string, V>): void {
  target.clear();
  for (const [key, value] of source) target.set(key, value);
}
