import type { DaemonFlags } from '../config/flags.js';
import { FlannelWinError } from '../errors.js';
import type { SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';
import { withCheckedNetConfig, type NetConfigPolicy } from './checked-net-config.js';

/**
 * flanneld's choice of subnet manager (--kube-subnet-mgr, else etcd), plus our local one
 * (--local-subnet-mgr) for the embedded default. Each is imported only when chosen.
 */
export async function openSubnetManager(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<SubnetManager> {
  const { manager, source } = await openUncheckedSubnetManager(flags, env, log);
  // A config the store can change under us (etcd) is waited for; one read once (kube's file,
  // the local lease file) is fatal when it cannot work, as in flanneld.
  const policy: NetConfigPolicy = manager.kind === 'etcd' ? { mode: 'wait' } : { mode: 'fail', graceMs: flags.netConfigGracePeriod * 1000 };
  return withCheckedNetConfig(manager, { policy, source, log: log.child({ netConf: source }) });
}

async function openUncheckedSubnetManager(
  flags: DaemonFlags,
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
): Promise<{ manager: SubnetManager; source: string }> {
  if (flags.kubeSubnetMgr && flags.localSubnetMgr) {
    throw new FlannelWinError('FLAGS_CONFLICT', '--kube-subnet-mgr and --local-subnet-mgr are mutually exclusive', {});
  }
  if (flags.localSubnetMgr) {
    const { LocalSubnetManager } = await import('../lease/local/local-subnet-manager.js');
    log.info({ leaseFile: flags.localLeaseFile }, 'subnet manager: local lease file (embedded default; not for clusters)');
    const manager = new LocalSubnetManager({ path: flags.localLeaseFile, log: log.child({ subnetManager: 'local' }) });
    return { manager, source: `${flags.localLeaseFile} "config"` };
  }
  if (flags.kubeSubnetMgr) {
    const { createKubeSubnetManager } = await import('../lease/kube/kube-subnet-manager.js');
    log.info({ apiUrl: flags.kubeApiUrl || undefined, kubeconfig: flags.kubeconfigFile || undefined }, 'subnet manager: Kubernetes API');
    const manager = createKubeSubnetManager({
      apiUrl: flags.kubeApiUrl,
      kubeconfigFile: flags.kubeconfigFile,
      annotationPrefix: flags.kubeAnnotationPrefix,
      setNodeNetworkUnavailable: flags.setNodeNetworkUnavailable,
      netConfPath: flags.netConfigPath,
      env,
      log: log.child({ subnetManager: 'kube' }),
    });
    return { manager, source: flags.netConfigPath };
  }
  const { EtcdSubnetManager } = await import('../lease/etcd/etcd-subnet-manager.js');
  log.info({ endpoints: flags.etcdEndpoints, prefix: flags.etcdPrefix }, 'subnet manager: etcd');
  const manager = new EtcdSubnetManager({
    endpoints: flags.etcdEndpoints,
    prefix: flags.etcdPrefix,
    ...(flags.etcdCafile || flags.etcdCertfile || flags.etcdKeyfile
      ? { tls: { caFile: flags.etcdCafile, certFile: flags.etcdCertfile, keyFile: flags.etcdKeyfile } }
      : {}),
    ...(flags.etcdUsername ? { username: flags.etcdUsername, password: flags.etcdPassword } : {}),
    renewMarginMinutes: flags.subnetLeaseRenewMargin,
    log: log.child({ subnetManager: 'etcd' }),
  });
  return { manager, source: `etcd key ${flags.etcdPrefix.replace(/\/+$/, '')}/config` };
}
