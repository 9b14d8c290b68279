import test from 'ava';
import { netpol, ns, pod, stateOf } from './policy-fixtures.js';

// The index must name exactly the local pods whose ACLs can change, and no others.

const world = () => stateOf({
  namespaces: [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' }), ns('qa', { env: 'qa' })],
  pods: [
    pod('prod', 'web', '10.244.1.10', { app: 'web' }),
    pod('prod', 'api', '10.244.1.11', { app: 'api' }),
    pod('dev', 'tool', '10.244.1.12', { app: 'tool' }),
    pod('dev', 'far', '10.244.2.12', { app: 'tool' }, { nodeName: 'linux-1' }),
    pod('qa', 'probe', '10.244.2.13', { app: 'probe' }, { nodeName: 'linux-1' }),
  ],
  policies: [
    netpol('prod', 'web-from-tools', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } }, podSelector: { matchLabels: { app: 'tool' } } }] }] }),
    netpol('prod', 'api-from-web', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] }),
  ],
});

test('a remote pod gaining a label a peer selects recompiles only the local pods that peer\'s policy selects', (t) => {
  const state = world();
  t.deepEqual([...state.applyPod({ type: 'upsert', view: pod('qa', 'probe', '10.244.2.13', { app: 'tool' }, { nodeName: 'linux-1' }) })], [], 'qa is not env=dev');
  t.deepEqual([...state.applyPod({ type: 'upsert', view: pod('dev', 'far', '10.244.2.12', { app: 'other' }, { nodeName: 'linux-1' }) })], ['prod/web']);
});

test('a label change no selector reads recompiles nothing; an IP change of a selected peer recompiles its readers', (t) => {
  const state = world();
  t.deepEqual([...state.applyPod({ type: 'upsert', view: pod('dev', 'far', '10.244.2.12', { app: 'tool', version: '2' }, { nodeName: 'linux-1' }) })], []);
  t.deepEqual([...state.applyPod({ type: 'upsert', view: pod('dev', 'far', '10.244.2.99', { app: 'tool', version: '2' }, { nodeName: 'linux-1' }) })], ['prod/web']);
});

test('a local pod\'s own change recompiles it, and the pods whose peers it is', (t) => {
  const state = world();
  const changed = state.applyPod({ type: 'upsert', view: pod('prod', 'web', '10.244.1.10', { app: 'web2' }) });
  t.deepEqual([...changed].sort(), ['prod/api', 'prod/web']);
  t.deepEqual(state.compile('prod/web')!.acls, [], 'web2 is no longer selected');
});

test('a namespace label change recompiles only the readers of a namespace selector whose match flips', (t) => {
  const state = world();
  t.deepEqual([...state.applyNamespace({ type: 'upsert', view: ns('qa', { env: 'qa', team: 'x' }) })], []);
  t.deepEqual([...state.applyNamespace({ type: 'upsert', view: ns('qa', { env: 'dev' }) })], [], 'qa has no app=tool pod');
  t.deepEqual([...state.applyNamespace({ type: 'upsert', view: ns('dev', { env: 'staging' }) })], ['prod/web']);
});

test('a policy change recompiles the local pods it selected before or selects now', (t) => {
  const state = world();
  const r = state.applyPolicy({ type: 'upsert', view: netpol('prod', 'api-from-web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] }) });
  t.deepEqual([...r.recompile].sort(), ['prod/api', 'prod/web']);
  t.deepEqual([...state.applyPolicy({ type: 'delete', namespace: 'dev', name: 'nothing-here' }).recompile], []);
  t.deepEqual([...state.applyPolicy({ type: 'upsert', view: netpol('qa', 'x', { podSelector: {} }) }).recompile], [], 'no local pod in qa');
});

test('node IP changes recompile every local pod; an unchanged list recompiles none', (t) => {
  const state = world();
  t.deepEqual([...state.setNodeIps(['192.168.0.10'])], []);
  t.deepEqual([...state.setNodeIps(['192.168.0.11'])].sort(), ['dev/tool', 'prod/api', 'prod/web']);
});

test('a deleted local pod is named once, and compiles to nothing', (t) => {
  const state = world();
  t.deepEqual([...state.applyPod({ type: 'delete', namespace: 'prod', name: 'api' })], ['prod/api']);
  t.is(state.compile('prod/api'), undefined);
  t.deepEqual([...state.applyPod({ type: 'delete', namespace: 'prod', name: 'api' })], []);
});
