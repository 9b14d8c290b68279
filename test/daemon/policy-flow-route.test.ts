import test from 'ava';
import { answerPolicyFlow, type FlowExplainer } from '../../src/daemon/policy-flow-route.js';
import { FlannelWinError } from '../../src/errors.js';
import { answerFlowQuestion, MAX_LISTED, type FlowAnswer } from '../../src/policy/flow-question.js';
import { netpol, pod, stateOf } from '../policy/policy-fixtures.js';

const state = stateOf({
  pods: [
    pod('default', 'web', '10.244.1.5', { app: 'web' }),
    pod('default', 'db', '10.244.1.6', { app: 'db' }),
    pod('default', 'far', '10.244.2.9', { app: 'db' }, { nodeName: 'linux-1' }),
    pod('default', 'done', '10.244.1.7', {}, { phase: 'Succeeded' }),
    pod('default', 'new', '10.244.1.7'),
    pod('default', 'twin-a', '10.244.1.8'),
    pod('default', 'twin-b', '10.244.1.8'),
    pod('default', 'pending', '', {}, { ips: [] }),
  ],
  policies: [
    netpol('default', 'allow-db', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 80 }] }] }),
    // Many policies selecting web: the answer lists a bounded number and counts them all.
    ...Array.from({ length: 30 }, (_, i) => netpol('default', `deny-${String(i).padStart(2, '0')}`, { podSelector: { matchLabels: { app: 'web' } } })),
  ],
});
const explainer: FlowExplainer = { explainFlow: (q) => answerFlowQuestion(state, q) };
const askWith = (query: string, e: FlowExplainer | 'starting' | undefined) => answerPolicyFlow(new URLSearchParams(query), e);
const ask = (query: string) => askWith(query, explainer);

test('a pod named by namespace/pod resolves to its address, node and locality; the verdict names the allowing rule', (t) => {
  const reply = ask('from=default/db&to=10.244.1.5&port=80');
  t.is(reply.status, 200);
  const answer = reply.body as FlowAnswer;
  t.like(answer, {
    from: { input: 'default/db', ip: '10.244.1.6', pod: 'default/db', node: 'win-1', local: true },
    to: { input: '10.244.1.5', ip: '10.244.1.5', pod: 'default/web', local: true },
    protocol: 6,
    port: 80,
    allowed: true,
    egress: { reason: 'not-isolated' },
    ingress: { reason: 'rule', allowedBy: [{ policy: 'default/allow-db', rule: 0 }], isolatedByCount: 31, allowedByCount: 1 },
  });
  t.is(answer.ingress.isolatedBy.length, MAX_LISTED);
  t.like(ask('from=default/far&to=default/web&port=81&protocol=UDP').body, { from: { node: 'linux-1', local: false }, protocol: 17, allowed: false, ingress: { reason: 'no-rule' } });
  t.like(ask('from=8.8.8.8&to=default/web&port=80').body, { from: { ip: '8.8.8.8', local: false }, egress: { reason: 'not-a-pod' } });
});

test('an address held by a finished pod and a running one is the running one; two running pods are ambiguous', (t) => {
  t.like(ask('from=10.244.1.7&to=10.244.1.5&port=80').body, { from: { pod: 'default/new' } });
  t.like(ask('from=10.244.1.8&to=10.244.1.5&port=80'), { status: 409, body: { code: 'ADDRESS_AMBIGUOUS' } });
  t.regex((ask('from=10.244.1.8&to=10.244.1.5&port=80').body as { message: string }).message, /default\/twin-a, default\/twin-b/);
});

test('pods that cannot be an end: missing 404, finished or without an address 409', (t) => {
  t.like(ask('from=default/ghost&to=10.244.1.5&port=80'), { status: 404, body: { code: 'POD_NOT_FOUND' } });
  t.like(ask('from=default/done&to=10.244.1.5&port=80'), { status: 409, body: { code: 'POD_FINISHED' } });
  t.like(ask('from=default/pending&to=10.244.1.5&port=80'), { status: 409, body: { code: 'POD_HAS_NO_IPV4' } });
});

test('bad queries are refused with 400 naming the field, before anything else', (t) => {
  const cases: [string, RegExp][] = [
    ['to=10.244.1.5&port=80', /from is required/],
    ['from=default/db&to=10.244.1.5', /port is required/],
    ['from=default/db&to=10.244.1.5&port=0', /port "0" is not a port number/],
    ['from=default/db&to=10.244.1.5&port=80&protocol=icmpv9', /protocol "icmpv9" is not tcp, udp, sctp/],
    ['from=Default/DB&to=10.244.1.5&port=80', /from "Default\/DB" is neither namespace\/pod nor an IPv4 address/],
    ['from=10.244.1.300&to=10.244.1.5&port=80', /neither namespace\/pod nor an IPv4/],
    ['from=default/db&to=10.244.1.5&port=80&port=81', /port is given more than once/],
    ['from=default/db&to=10.244.1.5&port=80&proto=tcp', /unknown field "proto"/],
    [`from=${'a'.repeat(5000)}&to=10.244.1.5&port=80`, /^from "a{61}\.\.\." is neither/],
  ];
  for (const [query, message] of cases) {
    const reply = askWith(query, undefined);
    t.is(reply.status, 400, query.slice(0, 80));
    t.regex((reply.body as { message: string }).message, message);
  }
});

test('enforcement off, the daemon starting, the view not loaded yet, an unexpected failure', (t) => {
  t.like(askWith('from=default/db&to=10.244.1.5&port=80', undefined), { status: 404, body: { code: 'POLICY_ENFORCEMENT_OFF' } });
  t.like(askWith('from=default/db&to=10.244.1.5&port=80', 'starting'), { status: 503, body: { code: 'DAEMON_STARTING' } });
  const loading: FlowExplainer = { explainFlow: () => { throw new FlannelWinError('POLICY_NOT_LOADED', 'not yet'); } };
  t.like(askWith('from=default/db&to=10.244.1.5&port=80', loading), { status: 503, body: { code: 'POLICY_NOT_LOADED' } });
  const broken: FlowExplainer = { explainFlow: () => { throw new TypeError('boom'); } };
  t.like(askWith('from=default/db&to=10.244.1.5&port=80', broken), { status: 500, body: { code: 'INTERNAL', message: 'boom' } });
});
