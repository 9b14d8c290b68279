/**
 * NetworkPolicy compilation at cluster scale: 100 namespaces, 10,000 pods (100 of them local),
 * 500 policies. Prints the time to compile every local pod, how many local pods one event
 * makes recompile (a pod label change, a namespace label change, a policy change), the largest
 * ACL list and rule, and the heap the cluster state takes.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NamespaceView, PodView, PolicyView } from '../../src/policy/model.js';
import { parseNetworkPolicy } from '../../src/policy/parse-network-policy.js';
import { PolicyState } from '../../src/policy/policy-state.js';

type Report = (name: string, value: number, unit: string, bound?: string) => void;

const NAMESPACES = 100;
const PODS = 10_000;
const LOCAL_EVERY = 101; // pods 0, 101, 202, ...: 100 local pods spread over the namespaces
const POLICIES_PER_NAMESPACE = 5; // 500 policies
const APPS = 10;
const NODE = 'win-1';

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function namespaceView(i: number): NamespaceView {
  return { name: `ns${i}`, labels: { team: `t${i % 10}`, env: i % 2 === 0 ? 'prod' : 'dev' } };
}

function podView(i: number, labelSuffix = ''): PodView {
  return {
    namespace: `ns${i % NAMESPACES}`,
    name: `pod-${i}`,
    labels: { app: `app${Math.floor(i / NAMESPACES) % APPS}${labelSuffix}`, 'pod-template-hash': `h${i % 7}` },
    ips: [`10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`],
    nodeName: i % LOCAL_EVERY === 0 ? NODE : `linux-${i % 50}`,
    hostNetwork: false,
    phase: 'Running',
    namedPorts: [{ name: 'http', port: 8000 + (i % 3), protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }],
  };
}

/** Five policies per namespace, in the shapes the documentation shows. */
function policies(n: number): PolicyView[] {
  const ns = `ns${n}`;
  const raw = (name: string, spec: Record<string, unknown>) => parseNetworkPolicy({ metadata: { namespace: ns, name }, spec });
  return [
    raw('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    raw('same-app', { podSelector: { matchLabels: { app: `app${n % APPS}` } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: `app${n % APPS}` } } }], ports: [{ port: 'http' }] }] }),
    raw('from-team', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${n % 10}` } }, podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['app1', 'app2'] }] } }], ports: [{ port: 8080 }, { port: 9000, endPort: 9010 }] }] }),
    raw('egress', { podSelector: {}, policyTypes: ['Egress'], egress: [
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ns0' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] },
      { to: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 'metrics' }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }], ports: [{ port: 443 }] },
    ] }),
    raw('monitoring', { podSelector: { matchLabels: { app: `app${(n + 1) % APPS}` } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 'metrics' }] }] }),
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export default async function policyCompile(report: Report): Promise<void> {
  const gc = gcFunction();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const state = new PolicyState({ nodeName: NODE, nodeIps: ['192.168.1.10'] });
  for (let i = 0; i < NAMESPACES; i++) state.applyNamespace({ type: 'upsert', view: namespaceView(i) });
  for (let i = 0; i < PODS; i++) state.applyPod({ type: 'upsert', view: podView(i) });
  gc();
  const heapPods = process.memoryUsage().heapUsed - heapBefore;
  for (let i = 0; i < NAMESPACES; i++) for (const p of policies(i)) state.applyPolicy({ type: 'upsert', view: p });
  const locals = [...state.localPods()];

  // Compile time: a fresh state each round (no cached peer sets), median of 5.
  const times: number[] = [];
  let largestList = 0;
  let largestRuleEntries = 0;
  let largestRuleBytes = 0;
  let totalRules = 0;
  for (let round = 0; round < 5; round++) {
    const s = new PolicyState({ nodeName: NODE, nodeIps: ['192.168.1.10'] });
    for (let i = 0; i < NAMESPACES; i++) s.applyNamespace({ type: 'upsert', view: namespaceView(i) });
    for (let i = 0; i < PODS; i++) s.applyPod({ type: 'upsert', view: podView(i) });
    for (let i = 0; i < NAMESPACES; i++) for (const p of policies(i)) s.applyPolicy({ type: 'upsert', view: p });
    const start = performance.now();
    for (const key of locals) {
      const compiled = s.compile(key)!;
      if (round > 0) continue;
      largestList = Math.max(largestList, compiled.acls.length);
      totalRules += compiled.acls.length;
      for (const rule of compiled.acls) {
        largestRuleEntries = Math.max(largestRuleEntries, (rule.RemoteAddresses?.split(',').length ?? 0) + (rule.LocalPorts ?? rule.RemotePorts ?? '').split(',').length);
        largestRuleBytes = Math.max(largestRuleBytes, JSON.stringify(rule).length);
      }
    }
    times.push(performance.now() - start);
  }
  report('compile_all_local_pods', median(times), 'ms', `${locals.length} local pods, ${PODS} pods, ${NAMESPACES * POLICIES_PER_NAMESPACE} policies`);
  report('compile_per_local_pod', median(times) / locals.length, 'ms');

  for (const key of locals) state.compile(key); // warm the peer cache, as a running daemon has it
  const podChange = state.applyPod({ type: 'upsert', view: podView(3121, '-canary') });
  report('recompiled_after_pod_label_change', podChange.size, 'pods', `<= ${locals.length}; pod-3121 app label app1 -> app1-canary`);
  const nsChange = state.applyNamespace({ type: 'upsert', view: { name: 'ns7', labels: { team: 't3', env: 'dev' } } });
  report('recompiled_after_namespace_label_change', nsChange.size, 'pods', `<= ${locals.length}; ns7 team t7 -> t3`);
  const changed = policies(42)[1]!;
  const policyChange = state.applyPolicy({ type: 'upsert', view: { ...changed, ingress: [{ peers: 'any', ports: [{ protocol: 'TCP', port: 80 }] }] } });
  report('recompiled_after_policy_change', policyChange.recompile.size, 'pods', `<= local pods in ns42`);
  const recompileStart = performance.now();
  for (const key of new Set([...podChange, ...nsChange, ...policyChange.recompile])) state.compile(key);
  report('recompile_after_three_events', performance.now() - recompileStart, 'ms');

  report('largest_acl_list', largestList, 'rules');
  report('mean_acl_list', totalRules / locals.length, 'rules');
  report('largest_rule_entries', largestRuleEntries, 'entries', '<= 8000 (4,000 addresses + 4,000 ports)');
  report('largest_rule_bytes', largestRuleBytes, 'bytes');

  gc();
  report('heap_pods_namespaces', heapPods / 2 ** 20, 'MiB', `${PODS} pods, ${NAMESPACES} namespaces`);
  report('heap_cluster_state', (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20, 'MiB', 'with policies and cached peer sets');
  if (state.podCount !== PODS) throw new Error(`state holds ${state.podCount} pods, expected ${PODS}`);
}
