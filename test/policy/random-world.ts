/**
 * fast-check generators of small clusters: namespaces, pods and raw NetworkPolicy objects, with
 * labels, selectors, ports and CIDRs from small domains so that selectors often match, peers
 * overlap and named ports collide.
 */
import fc from 'fast-check';
import type { NamedPort, NamespaceView, PodView } from '../../src/policy/model.js';
import { parseNetworkPolicy } from '../../src/policy/parse-network-policy.js';
import { PolicyState } from '../../src/policy/policy-state.js';

export const LOCAL_NODE = 'win-1';
export const NODE_IP = '10.0.0.1';
export const NAMESPACES = ['a', 'b', 'c'] as const;
/** Pod IPs are drawn from here; the rest of 10.0.0.0/27 and 8.8.8.8 are outside addresses. */
export const POD_IPS = Array.from({ length: 20 }, (_, i) => `10.0.0.${i + 2}`);
export const OUTSIDE_IPS = ['10.0.0.25', '10.0.0.30', '8.8.8.8'];
export const PORTS = [53, 80, 81, 8080];
export const PROTOCOLS = [6, 17, 132];

export interface RawPolicy {
  metadata: { namespace: string; name: string };
  spec: Record<string, unknown>;
}

export interface RandomWorld {
  namespaces: NamespaceView[];
  pods: PodView[];
  policies: RawPolicy[];
}

const podLabel = fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('x', 'y'), { maxKeys: 2 });
const nsLabel = fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('x', 'y'), { maxKeys: 2 });

const namedPort: fc.Arbitrary<NamedPort> = fc.record({
  name: fc.constantFrom('http', 'dns'),
  port: fc.constantFrom(53, 80, 81, 8080),
  protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'),
});

function selector(keys: string[]): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.constantFrom(...keys);
  const value = fc.constantFrom('x', 'y');
  const expr = fc.oneof(
    fc.record({ key, operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(value, { minLength: 1, maxLength: 2 }) }),
    fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
  );
  return fc.record({ matchLabels: fc.dictionary(key, value, { maxKeys: 1 }), matchExpressions: fc.array(expr, { maxLength: 1 }) }, { requiredKeys: [] });
}

const cidrs = ['10.0.0.0/28', '10.0.0.0/27', '0.0.0.0/0', '10.0.0.8/29', '10.0.0.4/32'];
const ipBlock = fc.constantFrom(...cidrs).chain((cidr) => {
  const prefix = Number(cidr.split('/')[1]);
  const excepts = ['10.0.0.0/30', '10.0.0.8/30', '10.0.0.12/31', '10.0.0.24/29', '8.8.8.0/24'].filter((e) => {
    const ep = Number(e.split('/')[1]);
    if (ep <= prefix) return false;
    if (prefix === 0) return true;
    const base = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const mask = prefix === 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
    return ((base(e.split('/')[0]!) & mask) >>> 0) === ((base(cidr.split('/')[0]!) & mask) >>> 0);
  });
  return fc.record({ cidr: fc.constant(cidr), except: fc.subarray(excepts) }, { requiredKeys: ['cidr'] });
});

const peer = fc.oneof(
  fc.record({ podSelector: selector(['app', 'tier']) }),
  fc.record({ namespaceSelector: selector(['env', 'team', 'kubernetes.io/metadata.name']) }),
  fc.record({ podSelector: selector(['app', 'tier']), namespaceSelector: selector(['env', 'kubernetes.io/metadata.name']) }),
  fc.record({ ipBlock }),
);

const port = fc.oneof(
  { weight: 6, arbitrary: fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP'), port: fc.constantFrom<number | string>(53, 80, 'http', 'dns') }, { requiredKeys: ['port'] }) },
  { weight: 2, arbitrary: fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constant(80), endPort: fc.constantFrom(81, 8080) }, { requiredKeys: ['port', 'endPort'] }) },
  { weight: 1, arbitrary: fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP') }) },
  // What the API server would reject: the rule must then allow nothing.
  { weight: 1, arbitrary: fc.oneof(fc.constant({ protocol: 'ICMP', port: 80 }), fc.constant({ port: 0 }), fc.constant({ port: 80, endPort: 79 })) },
);

function rule(peerKey: 'from' | '_from' | 'to'): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({ [peerKey]: fc.array(peer, { maxLength: 3 }), ports: fc.array(port, { maxLength: 3 }) }, { requiredKeys: [] });
}

const rules = (peerKey: 'from' | '_from' | 'to') => fc.option(fc.array(rule(peerKey), { maxLength: 3 }), { nil: undefined });

const policySpec: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    podSelector: selector(['app', 'tier']),
    policyTypes: fc.option(fc.constantFrom<string[]>([], ['Ingress'], ['Egress'], ['Ingress', 'Egress']), { nil: undefined }),
    ingress: fc.boolean().chain((listed) => rules(listed ? '_from' : 'from')),
    egress: rules('to'),
  })
  .map((spec) => Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)));

export const randomWorld: fc.Arbitrary<RandomWorld> = fc
  .record({
    nsLabels: fc.tuple(nsLabel, nsLabel, nsLabel),
    pods: fc.uniqueArray(
      fc.record({
        ipIndex: fc.integer({ min: 0, max: POD_IPS.length - 1 }),
        namespace: fc.constantFrom(...NAMESPACES),
        labels: podLabel,
        local: fc.boolean(),
        finished: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
        namedPorts: fc.uniqueArray(namedPort, { maxLength: 3, selector: (p) => `${p.name}/${p.protocol}` }),
      }),
      { minLength: 1, maxLength: 10, selector: (p) => p.ipIndex },
    ),
    policies: fc.array(fc.record({ namespace: fc.constantFrom(...NAMESPACES), spec: policySpec }), { maxLength: 4 }),
  })
  .map(({ nsLabels, pods, policies }) => ({
    namespaces: NAMESPACES.map((name, i) => ({ name, labels: nsLabels[i]! })),
    pods: pods.map((p, i) => ({
      namespace: p.namespace,
      name: `pod${i}`,
      labels: p.labels,
      ips: [POD_IPS[p.ipIndex]!],
      nodeName: p.local ? LOCAL_NODE : 'linux-1',
      hostNetwork: false,
      phase: p.finished ? 'Succeeded' : 'Running',
      namedPorts: p.namedPorts,
    })),
    policies: policies.map((p, i) => ({ metadata: { namespace: p.namespace, name: `pol${i}` }, spec: p.spec })),
  }));

/** The world loaded into a policy state for this node (`LOCAL_NODE`, `NODE_IP`). */
export function compiledState(world: RandomWorld): PolicyState {
  const state = new PolicyState({ nodeName: LOCAL_NODE, nodeIps: [NODE_IP] });
  for (const n of world.namespaces) state.applyNamespace({ type: 'upsert', view: n });
  for (const p of world.pods) state.applyPod({ type: 'upsert', view: p });
  for (const p of world.policies) state.applyPolicy({ type: 'upsert', view: parseNetworkPolicy(p) });
  return state;
}
