import { networkPolicyEnabled, type DaemonFlags } from '../config/flags.js';
import type { ControllerFactory } from '../daemon/controller.js';
import { FlannelWinError } from '../errors.js';
import type { Logger } from '../log.js';

/** The controllers the command line asks for beyond the peer controller, and how to release what they hold. */
export interface ExtraControllers {
  factories: ControllerFactory[];
  close(): void;
}

/**
 * Local pods are those whose spec.nodeName is this node: without a way to learn the name nothing
 * can be enforced.
 * @throws FlannelWinError `POLICY_NODE_NAME` when neither NODE_NAME nor POD_NAME and POD_NAMESPACE is set.
 */
export function requirePolicyNodeName(env: Readonly<Record<string, string | undefined>>): void {
  if (!env['NODE_NAME'] && !(env['POD_NAME'] && env['POD_NAMESPACE'])) {
    throw new FlannelWinError('POLICY_NODE_NAME', 'NetworkPolicy enforcement needs the node name: set NODE_NAME (or POD_NAME and POD_NAMESPACE), or turn it off with --network-policy=false', {});
  }
}

/**
 * The NetworkPolicy controller when `--network-policy` is in effect (see networkPolicyEnabled),
 * over its own Kubernetes client built from the same flags as the kube subnet manager's. The
 * Kubernetes modules are imported only then.
 * @throws KubeConfigError `KUBE_CONFIG` when no client configuration can be loaded;
 *   FlannelWinError `POLICY_NODE_NAME` when the node's name cannot be known.
 */
export async function openPolicyControllers(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, log: Logger): Promise<ExtraControllers> {
  if (!networkPolicyEnabled(flags)) {
    log.info({ flag: flags.networkPolicy ? 'no Kubernetes API configured' : '--network-policy=false' }, 'NetworkPolicy enforcement off');
    return { factories: [], close: () => undefined };
  }
  requirePolicyNodeName(env);
  const [{ loadKubeConfig }, { KubeHttpClient }, { watchCluster }, { DEFAULT_KUBE_TIMINGS }, { httpNodeApi }, { resolveNodeName }, { policyController }, { existsSync }] = await Promise.all([
    import('../kube/kube-config.js'),
    import('../kube/kube-http-client.js'),
    import('../kube/cluster-watch.js'),
    import('../lease/kube/kube-subnet-manager.js'),
    import('../lease/kube/kube-node-api.js'),
    import('../lease/kube/node-name.js'),
    import('../daemon/policy-controller.js'),
    import('node:fs'),
  ]);
  const client = new KubeHttpClient(loadKubeConfig({ kubeApiUrl: flags.kubeApiUrl, kubeconfigFile: flags.kubeconfigFile }, { env, fileExists: existsSync }));
  const watchLog = log.child({ component: 'cluster-watch' });
  return {
    factories: [
      policyController({
        nodeName: (signal) => resolveNodeName(env, httpNodeApi(client), signal),
        watch: (onEvent, signal) => watchCluster({ client, timings: DEFAULT_KUBE_TIMINGS, log: watchLog }, onEvent, signal),
      }),
    ],
    close: () => client.close(),
  };
}
