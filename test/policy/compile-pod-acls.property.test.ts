import test from 'ava';
import fc from 'fast-check';
import { HnsAclEvaluator } from '../../src/policy/hns-acl-evaluator.js';
import { Reference } from './kube-reference.js';
import { compiledState, LOCAL_NODE, NODE_IP, OUTSIDE_IPS, PORTS, PROTOCOLS, randomWorld } from './random-world.js';

test('property: for every pod pair, port and protocol, HNS evaluating the compiled ACLs agrees with Kubernetes semantics', (t) => {
  let flows = 0;
  let isolatedPods = 0;
  let denied = 0;
  fc.assert(
    fc.property(randomWorld, (world) => {
      const state = compiledState(world);
      const reference = new Reference(world);
      const remotes = [...world.pods.flatMap((p) => p.ips), NODE_IP, ...OUTSIDE_IPS];
      for (const local of world.pods.filter((p) => p.nodeName === LOCAL_NODE)) {
        const compiled = state.compile(`${local.namespace}/${local.name}`)!;
        if (compiled.acls.length > 0) isolatedPods++;
        const hns = new HnsAclEvaluator(compiled.acls);
        for (const remoteIp of remotes) {
          for (const port of PORTS) {
            for (const protocol of PROTOCOLS) {
              for (const direction of ['In', 'Out'] as const) {
                const verdict = hns.evaluate(direction === 'In' ? { direction, remoteIp, localPort: port, protocol } : { direction, remoteIp, remotePort: port, protocol });
                const expected = reference.allows(local, direction, remoteIp, port, protocol);
                flows++;
                if (!expected) denied++;
                if (verdict.ambiguous || verdict.allowed !== expected) {
                  throw new Error(`${local.namespace}/${local.name} ${direction} ${remoteIp}:${port}/${protocol}: HNS ${verdict.allowed ? 'allows' : 'denies'} (${verdict.rule?.Id ?? verdict.reason}${verdict.ambiguous ? ', ambiguous' : ''}), Kubernetes ${expected ? 'allows' : 'denies'}`);
                }
              }
            }
          }
        }
      }
    }),
    { numRuns: 250 },
  );
  // The worlds must exercise both outcomes, or the property says little.
  t.true(isolatedPods > 100, `isolated local pods: ${isolatedPods}`);
  t.true(denied > flows / 20, `denied ${denied} of ${flows} flows`);
});

test('property: a connection between two local pods passes both ACL lists exactly when Kubernetes allows it', (t) => {
  let allowed = 0;
  let pairs = 0;
  fc.assert(
    fc.property(randomWorld, (world) => {
      const state = compiledState(world);
      const reference = new Reference(world);
      const locals = world.pods.filter((p) => p.nodeName === LOCAL_NODE && p.phase === 'Running');
      const evaluators = new Map(locals.map((p) => [p, new HnsAclEvaluator(state.compile(`${p.namespace}/${p.name}`)!.acls)]));
      for (const a of locals) {
        for (const b of locals) {
          for (const port of PORTS) {
            for (const protocol of PROTOCOLS) {
              const hns = evaluators.get(a)!.evaluate({ direction: 'Out', remoteIp: b.ips[0]!, remotePort: port, protocol }).allowed && evaluators.get(b)!.evaluate({ direction: 'In', remoteIp: a.ips[0]!, localPort: port, protocol }).allowed;
              const k8s = reference.allows(a, 'Out', b.ips[0]!, port, protocol) && reference.allows(b, 'In', a.ips[0]!, port, protocol);
              if (hns !== k8s) throw new Error(`${a.name} -> ${b.name}:${port}/${protocol}: HNS ${hns}, Kubernetes ${k8s}`);
              pairs++;
              if (k8s) allowed++;
            }
          }
        }
      }
    }),
    { numRuns: 200 },
  );
  t.true(allowed > 0 && allowed < pairs, `allowed ${allowed} of ${pairs} connections`);
});
