/**
 * NetworkPolicy compilation at cluster scale: 100 namespaces, 10,000 pods (100 of them local),
 * 500 policies (the world of bench/support/policy-world.ts, shared with policy-dataplane, read
 * through the cluster watch's view readers). Prints the time to compile every local pod, how many
 * local pods one event makes recompile (a pod label change, a namespace label change, a policy change), the largest
 * ACL list and rule, and the heap the cluster state takes.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readNamespace } from '../../src/kube/namespace-view.js';
import { readNetworkPolicy } from '../../src/kube/network-policy-view.js';
import { newViewPools, readPod, type ViewPools } from '../../src/kube/pod-view.js';
import type { NamespaceView, PodView, PolicyView } from '../../src/policy/model.js';
import { PolicyState } from '../../src/policy/policy-state.js';
import { changedPolicy, LABEL_CHANGE_POD, namespaceObject, podObject, policyObjects, WORLD } from '../support/policy-world.js';

type Report = (name: string, value: number, unit: string, bound?: string) => void;

const { namespaces: NAMESPACES, pods: PODS, node: NODE } = WORLD;

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** The world read into the compiler's views the way the daemon's cluster watch reads it. */
function namespaceView(i: number, pools: ViewPools): NamespaceView {
  return readNamespace(namespaceObject(i), pools)!;
}

function podView(i: number, pools: ViewPools, labelSuffix = ''): PodView {
  return readPod(podObject(i, labelSuffix), pools)!;
}

function policies(n: number): PolicyView[] {
  return policyObjects(n).map((p) => readNetworkPolicy(p)!);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export default async function policyCompile(report: Report): Promise<void> {
  const gc = gcFunction();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const pools = newViewPools();
  const state = new PolicyState({ nodeName: NODE, nodeIps: ['192.168.1.10'] });
  for (let i = 0; i < NAMESPACES; i++) state.applyNamespace({ type: 'upsert', view: namespaceView(i, pools) });
  for (let i = 0; i < PODS; i++) state.applyPod({ type: 'upsert', view: podView(i, pools) });
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
    for (let i = 0; i < NAMESPACES; i++) s.applyNamespace({ type: 'upsert', view: namespaceView(i, pools) });
    for (let i = 0; i < PODS; i++) s.applyPod({ type: 'upsert', view: podView(i, pools) });
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
  report('compile_all_local_pods', median(times), 'ms', `${locals.length} local pods, ${PODS} pods, ${NAMESPACES * WORLD.policiesPerNamespace} policies`);
  report('compile_per_local_pod', median(times) / locals.length, 'ms');

  for (const key of locals) state.compile(key); // warm the peer cache, as a running daemon has it
  const podChange = state.applyPod({ type: 'upsert', view: podView(LABEL_CHANGE_POD, pools, '-canary') });
  report('recompiled_after_pod_label_change', podChange.size, 'pods', `<= ${locals.length}; pod-3121 app label app1 -> app1-canary`);
  const nsChange = state.applyNamespace({ type: 'upsert', view: { name: 'ns7', labels: { team: 't3', env: 'dev' } } });
  report('recompiled_after_namespace_label_change', nsChange.size, 'pods', `<= ${locals.length}; ns7 team t7 -> t3`);
  const policyChange = state.applyPolicy({ type: 'upsert', view: readNetworkPolicy(changedPolicy())! });
  report('recompiled_after_policy_change', policyChange.recompile.size, 'pods', `<= local pods in ns42`);
  const recompileStart = performance.now();
  for (const key of new Set([...podChange, ...nsChange, ...policyChange.recompile])) state.compile(key);
  report('recompile_after_three_events', performance.now() - recompileStart, 'ms');

  report('largest_acl_list', largestList, 'rules');
  report('mean_acl_list', totalRules / locals.length, 'rules');
  report('largest_rule_entries', largestRuleEntries, 'entries', '<= 8000 (4,000 addresses + 4,000 ports)');
  report('largest_rule_bytes', largestRuleBytes, 'bytes');

  gc();
  report('heap_pods_namespaces', heapPods / 2 ** 20, 'MiB', `${PODS} pods, ${NAMESPACES} namespaces, labels and ports shared as the cluster watch shares them`);
  report('heap_cluster_state', (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20, 'MiB', 'with policies and cached peer sets');
  if (state.podCount !== PODS) throw new Error(`state holds ${state.podCount} pods, expected ${PODS}`);
}
