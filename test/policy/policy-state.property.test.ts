import test from 'ava';
import fc from 'fast-check';
import type { NamespaceView, PodView } from '../../src/policy/model.js';
import { parseNetworkPolicy } from '../../src/policy/parse-network-policy.js';
import { PolicyState } from '../../src/policy/policy-state.js';
import { LOCAL_NODE, NODE_IP, randomWorld, type RandomWorld, type RawPolicy } from './random-world.js';

/** An event drawn from a second random world: its pods, namespaces and policies replace or delete the first's. */
type Event =
  | { t: 'pod'; index: number; from: number }
  | { t: 'deletePod'; index: number }
  | { t: 'namespace'; from: number }
  | { t: 'deleteNamespace'; index: number }
  | { t: 'policy'; index: number; from: number }
  | { t: 'deletePolicy'; index: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('pod' as const), index: fc.nat(12), from: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deletePod' as const), index: fc.nat(12) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('namespace' as const), from: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteNamespace' as const), index: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('policy' as const), index: fc.nat(5), from: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deletePolicy' as const), index: fc.nat(5) }) },
);

function fresh(pods: Map<string, PodView>, namespaces: Map<string, NamespaceView>, policies: Map<string, RawPolicy>): PolicyState {
  const state = new PolicyState({ nodeName: LOCAL_NODE, nodeIps: [NODE_IP] });
  for (const n of namespaces.values()) state.applyNamespace({ type: 'upsert', view: n });
  for (const p of pods.values()) state.applyPod({ type: 'upsert', view: p });
  for (const p of policies.values()) state.applyPolicy({ type: 'upsert', view: parseNetworkPolicy(p) });
  return state;
}

function allCompiled(state: PolicyState): Map<string, string> {
  return new Map([...state.localPods()].sort().map((k) => [k, JSON.stringify(state.compile(k))]));
}

test('property: recompiling only the pods an event names keeps every local pod\'s ACLs equal to a full recompilation', (t) => {
  let events = 0;
  let recompiled = 0;
  let skipped = 0;
  fc.assert(
    fc.property(randomWorld, randomWorld, fc.array(event, { minLength: 1, maxLength: 12 }), (world: RandomWorld, other: RandomWorld, evs) => {
      const pods = new Map(world.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
      const namespaces = new Map(world.namespaces.map((n) => [n.name, n]));
      const policies = new Map(world.policies.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
      const state = fresh(pods, namespaces, policies);
      const last = allCompiled(state);
      for (const ev of evs) {
        let recompile: ReadonlySet<string> = new Set();
        const pick = <T>(list: readonly T[], i: number): T | undefined => list[i % Math.max(1, list.length)];
        if (ev.t === 'pod') {
          const source = pick(other.pods, ev.from);
          if (!source) continue;
          const target = pick([...pods.values()], ev.index);
          // Either a new pod or an existing one changed (labels, IP, ports, node, phase).
          const view: PodView = target && ev.index % 3 !== 0 ? { ...source, namespace: target.namespace, name: target.name } : { ...source, name: `new${ev.from}-${ev.index}` };
          if ([...pods.values()].some((p) => p.ips[0] === view.ips[0] && `${p.namespace}/${p.name}` !== `${view.namespace}/${view.name}`)) continue; // IPs stay unique
          pods.set(`${view.namespace}/${view.name}`, view);
          recompile = state.applyPod({ type: 'upsert', view });
        } else if (ev.t === 'deletePod') {
          const target = pick([...pods.values()], ev.index);
          if (!target) continue;
          pods.delete(`${target.namespace}/${target.name}`);
          recompile = state.applyPod({ type: 'delete', namespace: target.namespace, name: target.name });
        } else if (ev.t === 'namespace') {
          const view = pick(other.namespaces, ev.from)!;
          namespaces.set(view.name, view);
          recompile = state.applyNamespace({ type: 'upsert', view });
        } else if (ev.t === 'deleteNamespace') {
          const name = pick([...namespaces.keys()], ev.index);
          if (!name) continue;
          namespaces.delete(name);
          recompile = state.applyNamespace({ type: 'delete', name });
        } else if (ev.t === 'policy') {
          const source = pick(other.policies, ev.from);
          if (!source) continue;
          const target = pick([...policies.values()], ev.index);
          const raw: RawPolicy = { metadata: target && ev.index % 2 === 0 ? target.metadata : { namespace: source.metadata.namespace, name: `new${ev.from}` }, spec: source.spec };
          policies.set(`${raw.metadata.namespace}/${raw.metadata.name}`, raw);
          recompile = state.applyPolicy({ type: 'upsert', view: parseNetworkPolicy(raw) }).recompile;
        } else {
          const target = pick([...policies.values()], ev.index);
          if (!target) continue;
          policies.delete(`${target.metadata.namespace}/${target.metadata.name}`);
          recompile = state.applyPolicy({ type: 'delete', namespace: target.metadata.namespace, name: target.metadata.name }).recompile;
        }
        events++;
        for (const key of recompile) {
          const compiled = state.compile(key);
          if (compiled) last.set(key, JSON.stringify(compiled));
          else last.delete(key);
          recompiled++;
        }
        const expected = allCompiled(fresh(pods, namespaces, policies));
        skipped += [...expected.keys()].filter((k) => !recompile.has(k)).length;
        if (JSON.stringify([...last].sort()) !== JSON.stringify([...expected].sort())) {
          const wrong = [...expected].filter(([k, v]) => last.get(k) !== v).map(([k]) => k);
          throw new Error(`after ${JSON.stringify(ev)} (recompiled ${[...recompile].join(',') || 'nothing'}): stale or missing ${wrong.join(',') || [...last.keys()].filter((k) => !expected.has(k)).join(',')}`);
        }
      }
    }),
    { numRuns: 200 },
  );
  t.true(events > 500, `events: ${events}`);
  t.true(skipped > recompiled, `recompiled ${recompiled}, left alone ${skipped}: the index must spare pods an event cannot affect`);
});
