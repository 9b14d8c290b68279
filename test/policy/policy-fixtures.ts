import type { AclPolicySetting } from '../../src/hns/types.js';
import { HnsAclEvaluator } from '../../src/policy/hns-acl-evaluator.js';
import type { NamedPort, NamespaceView, PodView, PolicyView } from '../../src/policy/model.js';
import { parseNetworkPolicy } from '../../src/policy/parse-network-policy.js';
import { PolicyState } from '../../src/policy/policy-state.js';

export const NODE = 'win-1';
export const NODE_IP = '192.168.0.10';

export function pod(namespace: string, name: string, ip: string, labels: Record<string, string> = {}, extra: Partial<PodView> = {}): PodView {
  return { namespace, name, labels, ips: [ip], nodeName: NODE, hostNetwork: false, phase: 'Running', namedPorts: [], ...extra };
}

export function namedPorts(...ports: [string, number, NamedPort['protocol']?][]): { namedPorts: NamedPort[] } {
  return { namedPorts: ports.map(([name, port, protocol]) => ({ name, port, protocol: protocol ?? 'TCP' })) };
}

export function ns(name: string, labels: Record<string, string> = {}): NamespaceView {
  return { name, labels };
}

/** A NetworkPolicy as the API serves it (`spec` as given). */
export function netpol(namespace: string, name: string, spec: Record<string, unknown>): PolicyView {
  return parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec });
}

export interface World {
  namespaces?: NamespaceView[];
  pods: PodView[];
  policies: PolicyView[];
  nodeIps?: string[];
}

export function stateOf(world: World): PolicyState {
  const state = new PolicyState({ nodeName: NODE, nodeIps: world.nodeIps ?? [NODE_IP] });
  for (const n of world.namespaces ?? []) state.applyNamespace({ type: 'upsert', view: n });
  for (const p of world.pods) state.applyPod({ type: 'upsert', view: p });
  for (const p of world.policies) state.applyPolicy({ type: 'upsert', view: p });
  return state;
}

export function aclsOf(world: World, podKey: string): readonly AclPolicySetting[] {
  const compiled = stateOf(world).compile(podKey);
  if (!compiled) throw new Error(`${podKey} is not a local pod`);
  return compiled.acls;
}

/** A verdict helper: can `remoteIp` reach the pod on `port`/`protocol` (In), or the pod reach it (Out)? */
export function reach(acls: readonly AclPolicySetting[]) {
  const ev = new HnsAclEvaluator(acls);
  return {
    in: (remoteIp: string, port: number, protocol = 6): boolean => ev.evaluate({ direction: 'In', remoteIp, localPort: port, protocol }).allowed,
    out: (remoteIp: string, port: number, protocol = 6): boolean => ev.evaluate({ direction: 'Out', remoteIp, remotePort: port, protocol }).allowed,
  };
}
