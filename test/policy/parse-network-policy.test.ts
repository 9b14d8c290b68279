import test from 'ava';
import { parseNetworkPolicy, PolicyParseError } from '../../src/policy/parse-network-policy.js';

const meta = { namespace: 'prod', name: 'web' };

test('policyTypes is defaulted as the API server does: Ingress, plus Egress when egress rules exist', (t) => {
  t.deepEqual(parseNetworkPolicy({ metadata: meta, spec: { podSelector: {} } }).policyTypes, { ingress: true, egress: false });
  t.deepEqual(parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, egress: [{}] } }).policyTypes, { ingress: true, egress: true });
  t.deepEqual(parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, egress: [] } }).policyTypes, { ingress: true, egress: false });
  t.deepEqual(parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, policyTypes: [], egress: [{}] } }).policyTypes, { ingress: true, egress: true });
  t.deepEqual(parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, policyTypes: ['Egress'] } }).policyTypes, { ingress: false, egress: true });
});

test('a listed policy (typed model, _from) reads exactly like the same policy watched (raw from)', (t) => {
  const from = [{ podSelector: { matchLabels: { app: 'api' } } }];
  const watched = parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, ingress: [{ from, ports: [{ port: 80 }] }] } });
  const listed = parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, ingress: [{ _from: from, ports: [{ port: 80 }] }] } });
  t.deepEqual(listed, watched);
  t.not(watched.ingress[0]!.peers, 'any');
});

test('absent or empty from means everyone; ports default to TCP', (t) => {
  const p = parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, ingress: [{ from: [], ports: [{ port: 80 }] }, { ports: [{ protocol: 'UDP' }] }] } });
  t.is(p.ingress[0]!.peers, 'any');
  t.deepEqual(p.ingress[0]!.ports, [{ protocol: 'TCP', port: 80 }]);
  t.deepEqual(p.ingress[1]!.ports, [{ protocol: 'UDP' }]);
});

test('what the API server rejects marks the rule invalid, names the field and value, and keeps the other rules', (t) => {
  const cases: [unknown, RegExp][] = [
    [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }, /from\[0\]\.ipBlock\.cidr is not a CIDR: "10.0.0.0\/33"/],
    [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }, /except\[0\] "11.0.0.0\/16" is not a strict subset/],
    [{ ports: [{ protocol: 'ICMP', port: 1 }] }, /protocol must be TCP, UDP or SCTP, not "ICMP"/],
    [{ ports: [{ port: 70000 }] }, /port must be 1-65535, not "70000"/],
    [{ ports: [{ port: 2000, endPort: 1000 }] }, /endPort 1000 is below port 2000/],
    [{ ports: [{ port: 'http', endPort: 90 }] }, /endPort needs a numeric port/],
    [{ from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] } }] }, /operator must be In, NotIn, Exists or DoesNotExist, not "Equals"/],
    [{ from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }] }, /values must be non-empty for In/],
    [{ from: [{}] }, /names no peer/],
    [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }, /ipBlock cannot be combined/],
  ];
  for (const [rule, reason] of cases) {
    const p = parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, ingress: [rule, { ports: [{ port: 443 }] }] } });
    t.regex(p.ingress[0]!.invalid ?? '', reason);
    t.is(p.problems.length, 1);
    t.regex(p.problems[0]!, /^spec\.ingress\[0\]/);
    t.is(p.ingress[1]!.invalid, undefined, 'the next rule is unaffected');
  }
});

test('an IPv6 ipBlock is dropped with a note, and does not turn the rule into "from anyone"', (t) => {
  const p = parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/64', except: ['fd00::/80'] } }] }] } });
  t.deepEqual(p.ingress[0]!.peers, []);
  t.deepEqual(p.problems, []);
  t.regex(p.notes[0]!, /IPv6 ipBlock "fd00::\/64" ignored/);
});

test('ipBlock host bits are masked off', (t) => {
  const p = parseNetworkPolicy({ metadata: meta, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.1.2.3/16' } }] }] } });
  t.deepEqual(p.ingress[0]!.peers, [{ kind: 'ipBlock', cidr: { ip: 0x0a010000, prefixLen: 16 }, except: [] }]);
});

test('a bad pod selector makes the policy select its whole namespace, with the problem named', (t) => {
  const p = parseNetworkPolicy({ metadata: meta, spec: { podSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } } });
  t.is(p.podSelector, undefined);
  t.regex(p.problems[0]!, /spec\.podSelector\.matchExpressions\[0\]\.values must be empty for Exists/);
});

test('an object without namespace or name is refused with a PolicyParseError', (t) => {
  const err = t.throws(() => parseNetworkPolicy({ metadata: { name: 'x' }, spec: {} }), { instanceOf: PolicyParseError });
  t.is(err?.code, 'POLICY_UNREADABLE');
});
