import { KubeNodeNameError } from './errors.js';

/** The one API call node-name resolution needs, so tests and callers can pass a narrow fake. */
export interface PodReader {
  readPod(namespace: string, name: string, signal: AbortSignal): Promise<{ readonly spec?: { readonly nodeName?: string } }>;
}

/**
 * flanneld's node identity: `NODE_NAME`, else the `spec.nodeName` of the pod named by
 * `POD_NAME` in `POD_NAMESPACE` (the downward API in kube-flannel.yml).
 * @throws KubeNodeNameError with flannel's messages.
 */
export async function resolveNodeName(
  env: Readonly<Record<string, string | undefined>>,
  pods: PodReader,
  signal: AbortSignal,
): Promise<string> {
  const nodeName = env['NODE_NAME'] ?? '';
  if (nodeName !== '') return nodeName;
  const podName = env['POD_NAME'] ?? '';
  const podNamespace = env['POD_NAMESPACE'] ?? '';
  if (podName === '' || podNamespace === '') {
    throw new KubeNodeNameError('env variables POD_NAME and POD_NAMESPACE must be set', { podName, podNamespace });
  }
  let pod;
  try {
    pod = await pods.readPod(podNamespace, podName, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new KubeNodeNameError(
      `error retrieving pod spec for '${podNamespace}/${podName}': ${err instanceof Error ? err.message : String(err)}`,
      { podName, podNamespace },
      err,
    );
  }
  const fromPod = pod.spec?.nodeName ?? '';
  if (fromPod === '') {
    throw new KubeNodeNameError(`node name not present in pod spec '${podNamespace}/${podName}'`, { podName, podNamespace });
  }
  return fromPod;
}
