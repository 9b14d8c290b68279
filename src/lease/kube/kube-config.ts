import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeSubnetError } from './errors.js';

export interface KubeConfigFlags {
  /** `--kube-api-url`; "" when unset. */
  readonly kubeApiUrl: string;
  /** `--kubeconfig-file`; "" when unset. */
  readonly kubeconfigFile: string;
}

export interface KubeConfigEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fileExists: (path: string) => boolean;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Builds the client configuration the way flanneld does (client-go BuildConfigFromFlags):
 * the kubeconfig file when given (its server replaced by `--kube-api-url` when both are set),
 * else the API URL alone, else the in-cluster service account, else the default kubeconfig
 * (KUBECONFIG, then ~/.kube/config).
 * @throws KubeSubnetError `KUBE_CONFIG` when the file cannot be read or has no current cluster.
 */
export function loadKubeConfig(
  flags: KubeConfigFlags,
  environment: KubeConfigEnvironment = { env: process.env, fileExists: existsSync },
): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfigFile !== '') {
      kc.loadFromFile(flags.kubeconfigFile);
      if (flags.kubeApiUrl !== '') return withServer(kc, flags.kubeApiUrl);
    } else if (flags.kubeApiUrl !== '') {
      kc.loadFromClusterAndUser({ name: 'flannel', server: flags.kubeApiUrl, skipTLSVerify: false }, { name: 'flannel' });
    } else if (runsInCluster(environment)) {
      kc.loadFromCluster();
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    throw new KubeSubnetError('KUBE_CONFIG', `Cannot load the Kubernetes client configuration: ${String(err)}`, { ...flags }, { cause: err });
  }
  if (kc.getCurrentCluster() === null) {
    throw new KubeSubnetError('KUBE_CONFIG', 'Cannot load the Kubernetes client configuration: no current cluster', { ...flags });
  }
  return kc;
}

function runsInCluster({ env, fileExists }: KubeConfigEnvironment): boolean {
  return Boolean(env['KUBERNETES_SERVICE_HOST']) && Boolean(env['KUBERNETES_SERVICE_PORT']) && fileExists(SERVICE_ACCOUNT_TOKEN);
}

/** client-go's ConfigOverrides.ClusterInfo.Server: the flag wins over the file's server. */
function withServer(kc: KubeConfig, server: string): KubeConfig {
  const current = kc.getContextObject(kc.getCurrentContext())?.cluster;
  const replaced = new KubeConfig();
  replaced.loadFromOptions({
    clusters: kc.getClusters().map((cluster) => (cluster.name === current ? { ...cluster, server } : cluster)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return replaced;
}
