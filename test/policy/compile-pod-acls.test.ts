import test from 'ava';
import { OUR_ACL_ID_PREFIX, parseAclId } from '../../src/policy/acl-id.js';
import { BLOCK_PRIORITY, MAX_ENTRIES_PER_RULE } from '../../src/policy/compile-pod-acls.js';
import { aclsOf, namedPorts, netpol, NODE_IP, ns, pod, reach, stateOf } from './policy-fixtures.js';

// Scenarios from the Kubernetes NetworkPolicy documentation (concepts/services-networking/network-policies).

const web = pod('prod', 'web', '10.244.1.10', { app: 'web' });
const api = pod('prod', 'api', '10.244.1.11', { app: 'api' });
const remote = pod('prod', 'remote', '10.244.2.20', { app: 'api' }, { nodeName: 'linux-1' });
const other = pod('dev', 'tool', '10.244.2.30', { app: 'api' }, { nodeName: 'linux-1' });
const namespaces = [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' })];

test('a pod no policy selects gets no ACL at all (HNS would turn any ACL into default deny)', (t) => {
  const state = stateOf({ namespaces, pods: [web, api], policies: [netpol('prod', 'only-api', { podSelector: { matchLabels: { app: 'api' } } })] });
  t.deepEqual(state.compile('prod/web')!.acls, []);
  t.true(state.compile('prod/api')!.acls.length > 0);
});

test('default deny ingress: node and self first, egress left open explicitly, ingress ends with a block (exact rules)', (t) => {
  const acls = aclsOf({ namespaces, pods: [web], policies: [netpol('prod', 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })] }, 'prod/web');
  t.deepEqual(acls, [
    { Id: 'flannel-win:node:in', Action: 'Allow', Direction: 'In', RemoteAddresses: '10.244.1.10/32,192.168.0.10/32', RuleType: 'Switch', Priority: 100 },
    { Id: 'flannel-win:node:out', Action: 'Allow', Direction: 'Out', RemoteAddresses: '10.244.1.10/32,192.168.0.10/32', RuleType: 'Switch', Priority: 100 },
    { Id: 'flannel-win:open:out', Action: 'Allow', Direction: 'Out', RuleType: 'Switch', Priority: 1000 },
    { Id: 'flannel-win:block:in', Action: 'Block', Direction: 'In', RuleType: 'Switch', Priority: 65000 },
  ]);
  const r = reach(acls);
  t.false(r.in('10.244.1.11', 80));
  t.true(r.out('8.8.8.8', 53, 17));
});

test('default deny egress and default deny all', (t) => {
  const egress = reach(aclsOf({ pods: [web], policies: [netpol('prod', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })] }, 'prod/web'));
  t.true(egress.in('10.244.1.11', 80));
  t.false(egress.out('10.244.1.11', 80));
  const all = reach(aclsOf({ pods: [web], policies: [netpol('prod', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })] }, 'prod/web'));
  t.false(all.in('10.244.1.11', 80));
  t.false(all.out('10.244.1.11', 80));
});

test('allow all ingress ({} rule) beside a default deny: the union allows everything in', (t) => {
  const acls = aclsOf({ pods: [web], policies: [
    netpol('prod', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }),
    netpol('prod', 'allow-all', { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] }),
  ] }, 'prod/web');
  const r = reach(acls);
  t.true(r.in('1.2.3.4', 1, 132));
  t.true(r.in('10.244.2.20', 65535, 17));
  const allowAll = acls.find((a) => a.Id?.includes('allow-all'))!;
  t.is(allowAll.RemoteAddresses, undefined, '"everyone" omits the address field, never "Any"');
  t.is(allowAll.Protocols, undefined);
});

test('ingress: [] and no ingress key both isolate the pod and allow nothing in', (t) => {
  for (const spec of [{ podSelector: {}, ingress: [] }, { podSelector: {} }]) {
    const r = reach(aclsOf({ pods: [web, api], policies: [netpol('prod', 'p', spec)] }, 'prod/web'));
    t.false(r.in('10.244.1.11', 80));
    t.true(r.in(NODE_IP, 80), 'the node still reaches it');
    t.true(r.out('10.244.1.11', 80), 'egress is not isolated');
  }
});

test('policyTypes: [] is defaulted: Ingress, plus Egress when egress rules exist', (t) => {
  const r = reach(aclsOf({ pods: [web, api], policies: [netpol('prod', 'p', { podSelector: {}, policyTypes: [], egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }] }] })] }, 'prod/web'));
  t.false(r.in('10.244.1.11', 80), 'isolated for ingress with no ingress rule');
  t.true(r.out('10.244.1.11', 80));
  t.false(r.out('8.8.8.8', 80));
});

test('namespaceSelector AND podSelector in one peer differs from the same two as separate peers', (t) => {
  const pods = [web, api, remote, other, pod('dev', 'db', '10.244.2.31', { app: 'db' }, { nodeName: 'linux-1' })];
  const and = reach(aclsOf({ namespaces, pods, policies: [netpol('prod', 'p', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } }, podSelector: { matchLabels: { app: 'api' } } }] }] })] }, 'prod/web'));
  t.true(and.in('10.244.2.30', 80), 'dev/tool: app=api in env=dev');
  t.false(and.in('10.244.2.31', 80), 'dev/db is not app=api');
  t.false(and.in('10.244.1.11', 80), 'prod/api is not in env=dev');
  const or = reach(aclsOf({ namespaces, pods, policies: [netpol('prod', 'p', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }, { podSelector: { matchLabels: { app: 'api' } } }] }] })] }, 'prod/web'));
  t.true(or.in('10.244.2.30', 80));
  t.true(or.in('10.244.2.31', 80), 'every pod of env=dev');
  t.true(or.in('10.244.1.11', 80), 'app=api of the policy namespace');
  t.true(or.in('10.244.2.20', 80), 'app=api of the policy namespace on another node');
});

test('kubernetes.io/metadata.name is a label of every namespace, and matchExpressions operators all work', (t) => {
  const pods = [web, api, other, pod('dev', 'db', '10.244.2.31', { app: 'db', tier: 'x' }, { nodeName: 'linux-1' })];
  const policy = (from: unknown): ReturnType<typeof netpol> => netpol('prod', 'p', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from }] });
  const byName = reach(aclsOf({ pods, policies: [policy([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dev' } } }])] }, 'prod/web'));
  t.true(byName.in('10.244.2.30', 80));
  t.false(byName.in('10.244.1.11', 80));
  const expr = (operator: string, values?: string[]) => reach(aclsOf({ pods, policies: [policy([{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }] } }])] }, 'prod/web'));
  t.true(expr('In', ['x']).in('10.244.2.31', 80));
  t.false(expr('In', ['x']).in('10.244.2.30', 80));
  t.false(expr('NotIn', ['x']).in('10.244.2.31', 80));
  t.true(expr('NotIn', ['x']).in('10.244.2.30', 80), 'NotIn matches a pod without the key');
  t.true(expr('Exists').in('10.244.2.31', 80));
  t.false(expr('Exists').in('10.244.1.11', 80));
  t.true(expr('DoesNotExist').in('10.244.1.11', 80));
  t.false(expr('DoesNotExist').in('10.244.2.31', 80));
});

test('ipBlock except overlapping another policy\'s pod allow: the pod stays allowed (subtraction, never a Block)', (t) => {
  const acls = aclsOf({ pods: [web, remote], policies: [
    netpol('prod', 'a-cidr', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }] }] }),
    netpol('prod', 'b-api', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] }),
  ] }, 'prod/web');
  const r = reach(acls);
  t.true(r.in('10.244.2.20', 80), 'prod/remote is allowed by b-api although a-cidr excepts its subnet');
  t.false(r.in('10.244.2.21', 80), 'the rest of the excepted subnet is not');
  t.true(r.in('10.244.3.1', 80));
  t.deepEqual(acls.filter((a) => a.Action === 'Block').map((a) => a.Id), ['flannel-win:block:in']);
  const cidrRule = acls.find((a) => a.Id === 'flannel-win:in:prod/a-cidr:0:0')!;
  t.is(cidrRule.RemoteAddresses, '10.244.0.0/23,10.244.3.0/24,10.244.4.0/22,10.244.8.0/21,10.244.16.0/20,10.244.32.0/19,10.244.64.0/18,10.244.128.0/17');
});

test('a named port resolves on each destination pod for egress and on the pod itself for ingress', (t) => {
  const a = pod('prod', 'metrics-a', '10.244.2.40', { role: 'm' }, { nodeName: 'linux-1', ...namedPorts(['metrics', 9100], ['dns', 53, 'UDP']) });
  const b = pod('prod', 'metrics-b', '10.244.2.41', { role: 'm' }, { nodeName: 'linux-1', ...namedPorts(['metrics', 9200]) });
  const c = pod('prod', 'metrics-c', '10.244.2.42', { role: 'm' }, { nodeName: 'linux-1', ...namedPorts(['metrics', 9100, 'UDP']) });
  const self = pod('prod', 'web', '10.244.1.10', { app: 'web' }, namedPorts(['http', 8080]));
  const acls = aclsOf({ pods: [self, a, b, c], policies: [netpol('prod', 'p', {
    podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress', 'Egress'],
    ingress: [{ ports: [{ port: 'http' }] }],
    egress: [{ to: [{ podSelector: { matchLabels: { role: 'm' } } }], ports: [{ port: 'metrics' }] }],
  })] }, 'prod/web');
  const r = reach(acls);
  t.true(r.out('10.244.2.40', 9100));
  t.false(r.out('10.244.2.40', 9200));
  t.true(r.out('10.244.2.41', 9200));
  t.false(r.out('10.244.2.41', 9100));
  t.false(r.out('10.244.2.42', 9100), 'metrics-c declares metrics over UDP only');
  t.false(r.out('10.244.2.42', 9100, 17), 'the rule asks for TCP');
  t.true(r.in('1.2.3.4', 8080));
  t.false(r.in('1.2.3.4', 80));
  t.deepEqual(acls.filter((x) => x.Direction === 'Out' && x.Action === 'Allow' && x.Priority !== 100).map((x) => [x.RemoteAddresses, x.RemotePorts]), [['10.244.2.40/32', '9100'], ['10.244.2.41/32', '9200']]);
});

test('endPort makes an inclusive range; SCTP and UDP get their own protocol numbers, one per rule', (t) => {
  const acls = aclsOf({ pods: [web], policies: [netpol('prod', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 32000, endPort: 32003 }, { protocol: 'SCTP', port: 7777 }, { protocol: 'UDP', port: 53 }, { protocol: 'UDP', port: 5353 }] }] })] }, 'prod/web');
  const r = reach(acls);
  for (const p of [32000, 32001, 32003]) t.true(r.in('1.2.3.4', p));
  t.false(r.in('1.2.3.4', 32004));
  t.false(r.in('1.2.3.4', 31999));
  t.true(r.in('1.2.3.4', 7777, 132));
  t.false(r.in('1.2.3.4', 7777, 6));
  t.true(r.in('1.2.3.4', 5353, 17));
  t.deepEqual(acls.filter((a) => a.Id?.startsWith('flannel-win:in:')).map((a) => [a.Protocols, a.LocalPorts]), [['6', '32000,32001,32002,32003'], ['17', '53,5353'], ['132', '7777']]);
});

test('node traffic is allowed both ways ahead of a deny-all', (t) => {
  const r = reach(aclsOf({ pods: [web], policies: [netpol('prod', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })], nodeIps: ['192.168.0.10', '10.244.1.1', 'fe80::1'] }, 'prod/web'));
  t.true(r.in('192.168.0.10', 10250));
  t.true(r.in('10.244.1.1', 8080));
  t.true(r.out('192.168.0.10', 443));
  t.false(r.in('192.168.0.11', 80));
});

test('pod IPs aggregate into CIDRs where exact, and long lists split at 4,000 entries with the other fields equal', (t) => {
  const peers = Array.from({ length: 9000 }, (_, i) => pod('dev', `p${i}`, `10.${100 + (i % 3)}.${(i >> 8) & 255}.${((i * 2) & 255)}`, { app: 'x' }, { nodeName: 'linux-1' }));
  const dense = Array.from({ length: 256 }, (_, i) => pod('dev', `d${i}`, `10.200.0.${i}`, { app: 'x' }, { nodeName: 'linux-1' }));
  const acls = aclsOf({ pods: [web, ...peers, ...dense], policies: [netpol('prod', 'p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'x' } } }], ports: [{ port: 80 }] }] })] }, 'prod/web');
  const rules = acls.filter((a) => a.Id?.startsWith('flannel-win:in:prod/p:0:'));
  const entries = rules.flatMap((a) => a.RemoteAddresses!.split(','));
  t.true(rules.length >= 2);
  for (const rule of rules) {
    t.true(rule.RemoteAddresses!.split(',').length <= MAX_ENTRIES_PER_RULE);
    t.is(rule.LocalPorts, '80');
    t.is(rule.Protocols, '6');
  }
  t.true(entries.includes('10.200.0.0/24'), 'a full /24 of pods is one entry');
  const r = reach(acls);
  t.true(r.in('10.200.0.77', 80));
  t.true(r.in(peers[8999]!.ips[0]!, 80));
  t.false(r.in('10.100.0.1', 80), 'odd addresses are not pods');
});

test('every rule is ours, within the Priority range, and no two rules share a Priority with different actions', (t) => {
  const acls = aclsOf({ pods: [web, api], policies: [
    netpol('prod', 'a', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: {} }] }], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }),
  ] }, 'prod/web');
  const byPriority = new Map<number, Set<string>>();
  for (const a of acls) {
    t.true(a.Id!.startsWith(OUR_ACL_ID_PREFIX));
    t.truthy(parseAclId(a.Id), a.Id);
    t.true(a.Priority! >= 100 && a.Priority! <= 65500);
    t.is(a.RuleType, 'Switch');
    t.false(/any/i.test(a.RemoteAddresses ?? ''));
    byPriority.set(a.Priority!, (byPriority.get(a.Priority!) ?? new Set()).add(a.Action));
  }
  for (const actions of byPriority.values()) t.is(actions.size, 1);
  t.is(acls.at(-1)!.Priority, BLOCK_PRIORITY);
  t.deepEqual(parseAclId('flannel-win:out:prod/a:0:0'), { kind: 'policy', direction: 'out', policyRef: 'prod/a', rule: 0, piece: 0 });
});

test('a peer selector that matches no pod produces no rule (an empty address list would mean "any")', (t) => {
  const acls = aclsOf({ pods: [web], policies: [netpol('prod', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'nobody' } } }] }] })] }, 'prod/web');
  t.deepEqual(acls.map((a) => a.Id), ['flannel-win:node:in', 'flannel-win:node:out', 'flannel-win:open:out', 'flannel-win:block:in']);
});

test('a bad policy fails closed: it isolates what it selects, allows nothing through its bad rule, and the others still compile', (t) => {
  const state = stateOf({ pods: [web, api], policies: [
    netpol('prod', 'bad', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 80, protocol: 'ICMP' }] }] }),
    netpol('prod', 'good', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 443 }] }] }),
  ] });
  const r = reach(state.compile('prod/web')!.acls);
  t.false(r.in('1.2.3.4', 80));
  t.false(r.in('10.244.1.11', 80));
  t.true(r.in('10.244.1.11', 443));
  t.deepEqual(state.compile('prod/api')!.acls, [], 'pods the bad policy does not select are untouched');
});

test('the problems of a bad policy are returned once, when first seen or changed', (t) => {
  const state = stateOf({ pods: [web], policies: [] });
  const bad = netpol('prod', 'bad', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] });
  const first = state.applyPolicy({ type: 'upsert', view: bad });
  t.deepEqual(first.newProblems, ['spec.ingress[0].ports[0].port must be 1-65535, not "0"']);
  t.deepEqual([...first.recompile], ['prod/web']);
  t.deepEqual(state.applyPolicy({ type: 'upsert', view: netpol('prod', 'bad', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] }) }).newProblems, []);
});

test('an IPv6 peer is ignored (with a note) and IPv6 pod and node IPs never reach a rule', (t) => {
  const dual = pod('prod', 'api', '10.244.1.11', { app: 'api' }, { ips: ['10.244.1.11', 'fd00::11'] });
  const acls = aclsOf({ pods: [web, dual], policies: [netpol('prod', 'p', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/64' } }, { podSelector: {} }] }] })], nodeIps: [NODE_IP, 'fd00::1'] }, 'prod/web');
  t.false(acls.some((a) => (a.RemoteAddresses ?? '').includes(':')));
  t.true(reach(acls).in('10.244.1.11', 80));
});

test('a hostNetwork pod is never a target, nor a pod peer', (t) => {
  const hostPod = pod('prod', 'agent', NODE_IP, { app: 'api' }, { hostNetwork: true });
  const state = stateOf({ pods: [web, hostPod], policies: [netpol('prod', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] })] });
  t.is(state.compile('prod/agent'), undefined);
  const acls = state.compile('prod/web')!.acls;
  t.is(acls.filter((a) => a.Id === 'flannel-win:in:prod/p:0:0').length, 0, 'no pod peer address: the node IP is allowed by the node rule only');
});

test('equal inputs give equal bytes, whatever the order they arrived in', (t) => {
  const pods = [web, api, remote, other];
  const policies = [
    netpol('prod', 'b', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
    netpol('prod', 'a', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: {} }], ports: [{ port: 80 }] }] }),
  ];
  const one = JSON.stringify(stateOf({ namespaces, pods, policies }).compile('prod/web'));
  const two = JSON.stringify(stateOf({ namespaces: [...namespaces].reverse(), pods: [...pods].reverse(), policies: [...policies].reverse() }).compile('prod/web'));
  t.is(one, two);
});

test('a listed policy (_from) and the same policy watched (from) compile to identical bytes', (t) => {
  const spec = (key: string) => ({ podSelector: {}, ingress: [{ [key]: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 80 }] }] });
  const watched = JSON.stringify(aclsOf({ pods: [web, api], policies: [netpol('prod', 'p', spec('from'))] }, 'prod/web'));
  const listed = JSON.stringify(aclsOf({ pods: [web, api], policies: [netpol('prod', 'p', spec('_from'))] }, 'prod/web'));
  t.is(listed, watched);
  t.false(reach(JSON.parse(listed)).in('1.2.3.4', 80), 'the listed rule is not "from anyone"');
});
