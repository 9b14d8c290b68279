import type { DaemonFlags } from '../config/flags.js';
import { FlannelWinError } from '../errors.js';
import type { SubnetManager } from '../lease/types.js';
import type { Logger } from '../log.js';

/**
 * flanneld's choice of subnet manager (--kube-subnet-mgr, else etcd), plus our local one
 * (--local-subnet-mgr) for the embedded default. Each is imported only when chosen.
 */
export async function openSubnetManager(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<SubnetManager> {
  if (flags.kubeSubnetMgr && flags.localSubnetMgr) {
    throw new FlannelWinError('FLAGS_CONFLICT', '--kube-subnet-mgr and --local-subnet-mgr are mutually exclusive', {});
  }
  if (flags.localSubnetMgr) {
    const { LocalSubnetManager } = await import('../lease/local/local-subnet-manager.js');
    log.info({ leaseFile: flags.localLeaseFile }, 'subnet manager: local lease file (embedded default; not for clusters)');
    return new LocalSubnetManager({ path: flags.localLeaseFile, log: log.child({ subnetManager: 'local' }) });
  }
  if (flags.kubeSubnetMgr) {
    const { createKubeSubnetManager } = await import('../lease/kube/kube-subnet-manager.js');
    log.info({ apiUrl: flags.kubeApiUrl || undefined, kubeconfig: flags.kubeconfigFile || undefined }, 'subnet manager: Kubernetes API');
    return createKubeSubnetManager({
      apiUrl: flags.kubeApiUrl,
      kubeconfigFile: flags.kubeconfigFile,
      annotationPrefix: flags.kubeAnnotationPrefix,
      setNodeNetworkUnavailable: flags.setNodeNetworkUnavailable,
      netConfPath: flags.netConfigPath,
      env,
      log: log.child({ subnetManager: 'kube' }),
    });
  }
  const { EtcdSubnetManager } = await import('../lease/etcd/etcd-subnet-manager.js');
  log.info({ endpoints: flags.etcdEndpoints, prefix: flags.etcdPrefix }, 'subnet manager: etcd');
  return new EtcdSubnetManager({
    endpoints: flags.etcdEndpoints,
    prefix: flags.etcdPrefix,
    ...(flags.etcdCafile || flags.etcdCertfile || flags.etcdKeyfile
      ? { tls: { caFile: flags.etcdCafile, certFile: flags.etcdCertfile, keyFile: flags.etcdKeyfile } }
      : {}),
    ...(flags.etcdUsername ? { username: flags.etcdUsername, password: flags.etcdPassword } : {}),
    renewMarginMinutes: flags.subnetLeaseRenewMargin,
    log: log.child({ subnetManager: 'etcd' }),
  });
}
