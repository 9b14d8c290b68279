import type { DaemonFlags } from '../config/flags.js';
import { FlannelWinError } from '../errors.js';
import { resolveDataplane } from './dataplane.js';

/** The simulated dataplane was combined with a shared lease store without `--sim-with-real-store`. */
export class SimWithRealStoreError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>) {
    super('SIM_WITH_REAL_STORE', message, context);
  }
}

/**
 * The simulator invents a VtepMAC and a host that does not exist; published into etcd or the
 * Kubernetes API, it makes every real peer route pods to nowhere. Only the local lease file is
 * safe by construction. A loopback etcd endpoint proves nothing (the defaults are loopback, and a
 * control-plane node's etcd listens there), so every etcd and kube combination needs the
 * explicit `--sim-with-real-store`. Returns the warning to log when it was given, undefined when
 * nothing is at stake; throws when it is missing.
 */
export function checkSimulatedDataplaneStore(flags: DaemonFlags, platform: NodeJS.Platform): string | undefined {
  if (resolveDataplane(flags.dataplane, platform) !== 'sim' || flags.localSubnetMgr) return undefined;
  const store = flags.kubeSubnetMgr
    ? `the Kubernetes API (${flags.kubeApiUrl || flags.kubeconfigFile || 'in-cluster config'})`
    : `etcd at ${flags.etcdEndpoints.join(',')}`;
  const why = `the simulated dataplane (--dataplane ${flags.dataplane}${flags.dataplane === 'auto' ? ` on ${platform}` : ''}) would publish a simulated VtepMAC into ${store}`;
  if (!flags.simWithRealStore) {
    throw new SimWithRealStoreError(
      `${why}, which breaks every real peer of that cluster; use --local-subnet-mgr for a trial, --dataplane hcn on Windows, or pass --sim-with-real-store if this store is a test store`,
      { dataplane: flags.dataplane, store },
    );
  }
  return `${why} (acknowledged with --sim-with-real-store): never point this at a production cluster`;
}
