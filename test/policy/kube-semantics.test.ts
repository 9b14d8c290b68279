import test from 'ava';
import { tryParseIp4 } from '../../src/net/ip.js';
import { evaluateKubeFlow, type FlowEnd } from '../../src/policy/kube-semantics.js';
import type { PodView } from '../../src/policy/model.js';
import { namedPorts, netpol, NODE_IP, ns, pod, stateOf } from './policy-fixtures.js';

const web = pod('shop', 'web', '10.244.1.5', { app: 'web' }, namedPorts(['http', 8080]));
const db = pod('shop', 'db', '10.244.1.6', { app: 'db' });
const tool = pod('ops', 'tool', '10.244.2.7', { app: 'tool' }, { nodeName: 'linux-1' });
const hostPod = pod('kube-system', 'proxy', NODE_IP, {}, { hostNetwork: true });
const world = {
  namespaces: [ns('shop'), ns('ops', { team: 'ops' })],
  pods: [web, db, tool, hostPod],
  policies: [
    netpol('shop', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    netpol('shop', 'web-from-db', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 'http' }] }] }),
    netpol('shop', 'web-from-ops', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 9 }] }, { from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] }] }),
    netpol('shop', 'db-egress', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }] }] }),
    netpol('shop', 'broken', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }),
  ],
};
const state = stateOf(world);
const end = (p: PodView): FlowEnd => ({ ip: tryParseIp4(p.ips[0]!)!, pod: p });
const address = (ip: string): FlowEnd => ({ ip: tryParseIp4(ip)! });
const flow = (from: FlowEnd, to: FlowEnd, port: number, protocol = 6) => evaluateKubeFlow(state, { from, to, port, protocol, nodeIps: [NODE_IP] });

test('a named port resolves on the destination pod, and every isolating policy is named', (t) => {
  const v = flow(end(db), end(web), 8080);
  t.true(v.allowed);
  t.like(v.ingress, { reason: 'rule', allowedBy: [{ policy: 'shop/web-from-db', rule: 0 }] });
  t.deepEqual(v.ingress.isolatedBy, ['shop/broken', 'shop/deny-all', 'shop/web-from-db', 'shop/web-from-ops']);
  t.like(v.egress, { allowed: true, reason: 'rule', allowedBy: [{ policy: 'shop/db-egress', rule: 0 }] });
  t.false(flow(end(db), end(web), 80).ingress.allowed, 'http is 8080 on web');
});

test('several rules admitting one flow are all named; a rule the API server refuses admits nothing', (t) => {
  const v = flow(end(tool), end(web), 9);
  t.deepEqual(v.ingress.allowedBy, [{ policy: 'shop/web-from-ops', rule: 0 }, { policy: 'shop/web-from-ops', rule: 1 }]);
  t.like(flow(address('10.0.0.9'), end(web), 10).ingress, { allowed: false, reason: 'no-rule' });
});

test('isolated without an allowing rule blocks; except carves out of an ipBlock; the node is always allowed', (t) => {
  t.like(flow(end(web), end(db), 80), { allowed: false, egress: { allowed: false, reason: 'no-rule', isolatedBy: ['shop/deny-all'] } });
  t.like(flow(end(db), end(tool), 80).egress, { allowed: false, reason: 'no-rule' });
  t.like(flow(end(db), address('10.244.3.3'), 80).egress, { allowed: true, reason: 'rule' });
  t.like(flow(address(NODE_IP), end(db), 5432).ingress, { allowed: true, reason: 'node' });
  t.like(flow(end(hostPod), end(web), 1), { allowed: true, egress: { reason: 'host-network' }, ingress: { reason: 'node' } });
});

test('an address that is no pod, and a pod no policy selects, are not policy targets', (t) => {
  const v = flow(address('8.8.8.8'), end(tool), 53, 17);
  t.like(v, { allowed: true, egress: { reason: 'not-a-pod' }, ingress: { reason: 'not-isolated', isolatedBy: [] } });
});

test('the policy state finds pods by address, across changes and deletions', (t) => {
  const s = stateOf({ pods: [pod('a', 'one', '10.1.0.1'), pod('a', 'two', '10.1.0.1', {}, { phase: 'Succeeded' })], policies: [] });
  const at = (ip: string) => s.podsAt(tryParseIp4(ip)!).map((p) => p.name).sort();
  t.deepEqual(at('10.1.0.1'), ['one', 'two']);
  s.applyPod({ type: 'upsert', view: pod('a', 'one', '10.1.0.2') });
  t.deepEqual(at('10.1.0.1'), ['two']);
  t.deepEqual(at('10.1.0.2'), ['one']);
  s.applyPod({ type: 'delete', namespace: 'a', name: 'two' });
  t.deepEqual(at('10.1.0.1'), []);
  t.is(s.pod('a', 'one')?.ips[0], '10.1.0.2');
});
