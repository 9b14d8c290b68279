import { LeaseWatcher, type PeerChange } from '../../src/lease/lease-watcher.js';
import { leaseIdentity } from '../../src/lease/lease-identity.js';
import { createKubeSubnetManager, type KubeSubnetManager, type KubeTimings } from '../../src/lease/kube/kube-subnet-manager.js';
import type { Lease, LeaseAttrs, LeaseWatchResult, SubnetManager } from '../../src/lease/types.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { parseIp4Net } from '../../src/net/ip.js';
import type { KubeApiServer } from './kube-api-server.js';

export const PREFIX = 'flannel.alpha.coreos.com/';
export const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';

/** Fast enough for tests, slow enough not to spin. */
export const TEST_TIMINGS: KubeTimings = {
  watchTimeoutSeconds: 60,
  watchSilenceMs: 5_000,
  backoff: { initialMs: 20, maxMs: 200 },
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

  constructor(manager: SubnetManager, ownSubnet = '10.244.250.0/24') {
    const watcher = new LeaseWatcher({ subnet: parseIp4Net(ownSubnet), ipv6Subnet: undefined });
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
  return `${leaseIdentity(lease)} ${lease.attrs.publicIp} ${lease.attrs.backendData ?? '-'}`;
}
