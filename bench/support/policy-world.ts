/**
 * The cluster the NetworkPolicy benchmarks run against, as the API server sends it: 100
 * namespaces, 10,000 pods of which 100 run on the Windows node (one per namespace), and five
 * policies per namespace in the shapes the Kubernetes documentation shows. The compile benchmark
 * reads these objects into the compiler's views; the dataplane benchmark serves them from the
 * test API server to the daemon. One generator, so the two measure the same world.
 */
import type { StoredObject } from '../../test/support/kube-resource-store.js';

export const WORLD = {
  namespaces: 100,
  pods: 10_000,
  /** Pods 0, 101, 202, ...: 100 local pods, pod 101k in namespace k. */
  localEvery: 101,
  policiesPerNamespace: 5,
  apps: 10,
  node: 'win-1',
  /** The Windows node's pod subnet: local pod k gets 10.127.0.(k + 2). */
  nodePodCidr: '10.127.0.0/24',
  /** The cluster network (net-conf `Network`) holding every pod subnet. */
  clusterCidr: '10.0.0.0/8',
} as const;

export function isLocalPod(i: number): boolean {
  return i % WORLD.localEvery === 0;
}

/** The indexes of the local pods, in order. */
export function localPodIndexes(): number[] {
  const out: number[] = [];
  for (let i = 0; i < WORLD.pods; i += WORLD.localEvery) out.push(i);
  return out;
}

/** A remote pod's IP spreads over 10.128.0.0/10; a local pod's is in the node's subnet. */
export function podIp(i: number): string {
  if (isLocalPod(i)) return `10.127.0.${i / WORLD.localEvery + 2}`;
  return `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

export function podName(i: number): string {
  return `pod-${i}`;
}

export function podNamespace(i: number): string {
  return `ns${i % WORLD.namespaces}`;
}

/** `namespace/name`, the compiler's and the API server's key for pod `i`. */
export function podKey(i: number): string {
  return `${podNamespace(i)}/${podName(i)}`;
}

export function namespaceObject(i: number): StoredObject {
  const name = `ns${i}`;
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team: `t${i % 10}`, env: i % 2 === 0 ? 'prod' : 'dev' } } };
}

/** Pod `i`, running, with two named ports; `labelSuffix` changes its `app` label. */
export function podObject(i: number, labelSuffix = ''): StoredObject {
  const ip = podIp(i);
  return {
    metadata: {
      namespace: podNamespace(i),
      name: podName(i),
      labels: { app: `app${Math.floor(i / WORLD.namespaces) % WORLD.apps}${labelSuffix}`, 'pod-template-hash': `h${i % 7}` },
    },
    spec: {
      nodeName: isLocalPod(i) ? WORLD.node : `linux-${i % 50}`,
      containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ name: 'http', containerPort: 8000 + (i % 3), protocol: 'TCP' }, { name: 'metrics', containerPort: 9100, protocol: 'TCP' }] }],
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

function policy(namespace: string, name: string, spec: Record<string, unknown>): StoredObject {
  return { metadata: { namespace, name }, spec };
}

/** Five policies of namespace `n`: default deny, same-app, from-team, egress, monitoring. */
export function policyObjects(n: number): StoredObject[] {
  const ns = `ns${n}`;
  const app = (k: number) => `app${k % WORLD.apps}`;
  return [
    policy(ns, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy(ns, 'same-app', { podSelector: { matchLabels: { app: app(n) } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: app(n) } } }], ports: [{ port: 'http' }] }] }),
    policy(ns, 'from-team', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${n % 10}` } }, podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['app1', 'app2'] }] } }], ports: [{ port: 8080 }, { port: 9000, endPort: 9010 }] }] }),
    policy(ns, 'egress', { podSelector: {}, policyTypes: ['Egress'], egress: [
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ns0' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] },
      { to: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 'metrics' }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }], ports: [{ port: 443 }] },
    ] }),
    policy(ns, 'monitoring', { podSelector: { matchLabels: { app: app(n + 1) } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 'metrics' }] }] }),
  ];
}

/** The pod label change both benchmarks make: pod-3121 (ns21, remote) goes app1 -> app1-canary. */
export const LABEL_CHANGE_POD = 3121;

/** The policy change both benchmarks make: ns42's same-app policy opens port 80 to anyone. */
export function changedPolicy(): StoredObject {
  const original = policyObjects(42)[1]!;
  return { ...original, spec: { ...(original.spec as Record<string, unknown>), ingress: [{ ports: [{ port: 80 }] }] } };
}
