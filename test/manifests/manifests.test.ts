import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { schemaErrors } from './k8s-schema.js';

// Compiled to dist/test/manifests/; the manifests stay in the source tree.
const MANIFESTS = new URL('../../../manifests/', import.meta.url);

type Doc = Record<string, any>;

async function loadAll(): Promise<{ file: string; doc: Doc }[]> {
  const files = (await readdir(MANIFESTS)).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml')).sort();
  const out: { file: string; doc: Doc }[] = [];
  for (const file of files) {
    for (const parsed of parseAllDocuments(await readFile(new URL(file, MANIFESTS), 'utf8'))) {
      if (parsed.errors.length > 0) throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join('; ')}`);
      const doc = parsed.toJS() as Doc | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

async function inFile(file: string, kind: string): Promise<Doc> {
  const found = (await loadAll()).find((d) => d.file === file && d.doc['kind'] === kind);
  if (!found) throw new Error(`no ${kind} in ${file}`);
  return found.doc;
}

const flannelWin = () => inFile('flannel-win-daemonset.yml', 'DaemonSet');

test('every manifest document is valid against the Kubernetes OpenAPI schemas, with no unknown field', async (t) => {
  const docs = await loadAll();
  t.is(docs.length, 8, "namespace, 3 RBAC, flannel-win ConfigMap and DaemonSet, 2 kube-proxy DaemonSets");
  for (const { file, doc } of docs) t.deepEqual(schemaErrors(doc), [], `${file}: ${doc['kind']} ${doc['metadata']?.name}`);
});

test('the validation rejects an unknown field and a wrong type (it can fail)', async (t) => {
  const ds = structuredClone(await flannelWin());
  ds['spec'].template.spec.containers[0].livenessProbes = ds['spec'].template.spec.containers[0].livenessProbe;
  t.regex(schemaErrors(ds).join('\n'), /containers\[0\]\.livenessProbes: unknown field in V1Container/);
  const bad = structuredClone(await flannelWin());
  bad['spec'].template.spec.hostNetwork = 'yes';
  t.true(schemaErrors(bad).some((e) => /hostNetwork|boolean/.test(e)), schemaErrors(bad).join('\n'));
  const volume = structuredClone(await flannelWin());
  volume['spec'].template.spec.volumes[0].configMap.item = [];
  t.regex(schemaErrors(volume).join('\n'), /configMap\.item: unknown field/);
});

test('no manifest carries a copy of the shared kube-flannel-cfg or re-declares upstream flannel RBAC', async (t) => {
  for (const { file, doc } of await loadAll()) {
    t.false(doc['kind'] === 'ConfigMap' && doc['metadata'].name === 'kube-flannel-cfg', `${file} must not declare kube-flannel-cfg`);
    t.false(['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount'].includes(doc['kind']) && doc['metadata'].name === 'flannel', `${file} must not re-declare upstream's flannel ${doc['kind']}`);
    if (doc['kind'] === 'ConfigMap') t.false('cni-conf.json' in (doc['data'] ?? {}), file);
  }
});

test('flannel-win DaemonSet: health port, probes, tolerations, selectors, requests, update strategy, init step, API endpoint', async (t) => {
  const ds = await flannelWin();
  const pod = ds['spec'].template.spec;
  const main = pod.containers[0];
  // Ports other node components hold on the host network: kubelet, kube-proxy, Linux flanneld, windows_exporter.
  const taken = [10248, 10249, 10250, 10255, 10256, 10257, 10259, 8081, 9182];
  const port = main.ports.find((p: Doc) => p.name === 'healthz').containerPort as number;
  t.false(taken.includes(port), `health port ${port}`);
  t.true(port < 30000 && (port < 10248 || port > 10259), `health port ${port} outside the NodePort and Kubernetes ranges`);
  t.true(main.args.includes(`--healthz-port=${port}`));
  t.true(main.args.includes('--healthz-ip=0.0.0.0'), 'the probe reaches the node IP');
  t.deepEqual([main.livenessProbe.httpGet.path, main.livenessProbe.httpGet.port], ['/healthz', 'healthz']);
  t.deepEqual([main.readinessProbe.httpGet.path, main.readinessProbe.httpGet.port], ['/readyz', 'healthz']);
  t.truthy(main.resources.requests.cpu);
  t.truthy(main.resources.requests.memory);
  const tolerations = pod.tolerations as Doc[];
  for (const effect of ['NoSchedule', 'NoExecute']) t.true(tolerations.some((x) => x.operator === 'Exists' && x.effect === effect && !x.key), effect);
  t.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64' });
  t.is(ds['spec'].updateStrategy.type, 'RollingUpdate');
  t.not(ds['spec'].selector.matchLabels.app, 'flannel', "not upstream's selector");
  t.true(pod.securityContext.windowsOptions.hostProcess);
  t.true(pod.hostNetwork);
  t.true(main.args.includes('--cni-conf-file=C:\\etc\\cni\\net.d\\10-flannel.conflist'));
  t.true(main.args.some((a: string) => /^--max-old-space-size=\d+$/.test(a)), 'the V8 heap cap is set');
  // V8's options go to node.exe before the script; after it they would be the daemon's flags,
  // which it refuses as unknown.
  const script = main.args.findIndex((a: string) => a.endsWith('/dist/main.js'));
  const heapFlags = main.args.filter((a: string) => /^--(max-[a-z-]+-size|heap-growing-percent)=/.test(a));
  t.true(heapFlags.length >= 3, 'the heap options are set');
  t.true(heapFlags.every((flag: string) => main.args.indexOf(flag) < script), 'V8 options precede the script');
  const init = pod.initContainers[0];
  t.regex(init.command.join(' '), /install-cni-plugins\.ps1/);
  t.true(init.env.some((e: Doc) => e.name === 'CNI_BIN_PATH' && e.value === 'C:\\opt\\cni\\bin'));
  for (const name of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']) {
    const env = main.env.find((e: Doc) => e.name === name);
    t.is(env?.valueFrom?.configMapKeyRef?.name, 'flannel-win-cfg', name);
  }
  // The shared ConfigMap is only read: net-conf.json mounted, nothing else.
  t.deepEqual(pod.volumes[0].configMap, { name: 'kube-flannel-cfg', items: [{ key: 'net-conf.json', path: 'net-conf.json' }] });
});

test('the flannel-win ConfigMap the operator fills holds the API endpoint and the service CIDR the DaemonSet reads', async (t) => {
  const cfg = await inFile('flannel-win-cfg.yml', 'ConfigMap');
  t.deepEqual(Object.keys(cfg['data']).sort(), ['FLANNELD_SERVICE_CIDR', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']);
  t.is(cfg['metadata'].namespace, 'kube-flannel');
  const main = (await flannelWin())['spec'].template.spec.containers[0];
  for (const key of Object.keys(cfg['data'])) t.true(main.env.some((e: Doc) => e.valueFrom?.configMapKeyRef?.key === key), key);
});

test('kube-proxy DaemonSets: one per backend, network name, source VIP only for overlay, no feature gates, not on our health port', async (t) => {
  const overlay = await inFile('kube-proxy-windows-overlay.yml', 'DaemonSet');
  const hostGw = await inFile('kube-proxy-windows-host-gw.yml', 'DaemonSet');
  const env = (ds: Doc) => Object.fromEntries(ds['spec'].template.spec.containers[0].env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]));
  t.is(env(overlay)['KUBE_NETWORK'], 'flannel.4096');
  t.is(env(overlay)['SOURCE_VIP_FILE'], 'C:\\sourcevip\\sourceVip.json');
  t.is(env(hostGw)['KUBE_NETWORK'], 'cbr0');
  t.false('SOURCE_VIP_FILE' in env(hostGw));
  for (const ds of [overlay, hostGw]) {
    const pod = ds['spec'].template.spec;
    t.false(JSON.stringify(pod).includes('feature-gates'));
    t.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'windows', 'kubernetes.io/arch': 'amd64' });
    t.true(pod.tolerations.some((x: Doc) => x.effect === 'NoExecute'));
    t.is(pod.serviceAccountName, 'kube-proxy');
  }
  const flannelPort = (await flannelWin())['spec'].template.spec.containers[0].ports[0].containerPort;
  t.not(flannelPort, overlay['spec'].template.spec.containers[0].ports[0].containerPort);
});

test('RBAC: flannel-win may read pods, namespaces and network policies for policy enforcement', async (t) => {
  const role = await inFile('flannel-win-rbac.yml', 'ClusterRole');
  const allows = (group: string, resource: string, verbs: string[]) =>
    (role['rules'] as Doc[]).some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && verbs.every((v) => r.verbs.includes(v)));
  t.true(allows('', 'pods', ['get', 'list', 'watch']));
  t.true(allows('', 'namespaces', ['get', 'list', 'watch']));
  t.true(allows('networking.k8s.io', 'networkpolicies', ['get', 'list', 'watch']));
  t.true(allows('', 'nodes/status', ['patch']));
  t.is(role['metadata'].name, 'flannel-win');
});

test('the namespace carries the privileged Pod Security label HostProcess pods need', async (t) => {
  const ns = await inFile('namespace.yml', 'Namespace');
  t.is(ns['metadata'].labels['pod-security.kubernetes.io/enforce'], 'privileged');
  for (const { doc } of await loadAll()) if (doc['metadata'].namespace) t.true(['kube-flannel', 'kube-system'].includes(doc['metadata'].namespace));
});
