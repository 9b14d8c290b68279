import test from 'ava';
import { readNetworkPolicy } from '../../src/kube/network-policy-view.js';
import { newViewPools, readPod } from '../../src/kube/pod-view.js';
import type { PodView } from '../../src/policy/model.js';
import { parseNetworkPolicy } from '../../src/policy/parse-network-policy.js';
import { PolicyState } from '../../src/policy/policy-state.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { ClusterCollector, namespaceObject, podObject, policyObject } from '../support/kube-fixtures.js';
import { reach } from '../policy/policy-fixtures.js';
import { waitFor } from '../support/wait.js';

/** A policy using every peer form, named ports and both directions. */
const POLICY_SPEC = {
  podSelector: { matchLabels: { app: 'web' } },
  policyTypes: ['Ingress', 'Egress'],
  ingress: [
    {
      from: [
        { podSelector: { matchLabels: { role: 'client' } }, namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a', 'b'] }] } },
        { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
      ],
      ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'SCTP', port: 7000, endPort: 7010 }],
    },
  ],
  egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] }],
};

async function cluster(): Promise<KubeApiServer> {
  const server = await KubeApiServer.start();
  server.put('namespaces', namespaceObject('web', { team: 'a' }));
  server.put('namespaces', namespaceObject('db'));
  server.put('pods', podObject({ namespace: 'web', name: 'web-1', labels: { app: 'web' }, ips: ['10.244.5.10'], ports: [['http', 8080], ['metrics', 9090, 'TCP']] }));
  server.put('pods', podObject({ namespace: 'web', name: 'web-2', labels: { app: 'web' }, nodeName: 'linux-1', ips: ['10.244.1.7'], ports: [['http', 80]] }));
  server.put('pods', podObject({ namespace: 'db', name: 'pending', labels: { app: 'db' }, phase: 'Pending' }));
  server.put('networkpolicies', policyObject('web', 'allow-clients', POLICY_SPEC));
  return server;
}

async function started(server: KubeApiServer, options: ConstructorParameters<typeof ClusterCollector>[1] = {}): Promise<ClusterCollector> {
  const collector = new ClusterCollector(server, options);
  await waitFor(() => collector.snapshots === 1 && server.activeWatches === 3, { timeoutMs: 30_000, what: 'the snapshot and three watches' });
  return collector;
}

test('the snapshot comes first, once pods, namespaces and policies are listed, holding only compact views', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  const collector = await started(server);
  t.teardown(() => collector.stop());

  t.is(collector.events[0]?.type, 'snapshot');
  t.deepEqual(collector.changes(), []);
  t.deepEqual({ ...collector.pods.get('web/web-1') }, {
    namespace: 'web',
    name: 'web-1',
    labels: { app: 'web' },
    ips: ['10.244.5.10'],
    nodeName: 'win-1',
    hostNetwork: false,
    phase: 'Running',
    namedPorts: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ],
  });
  t.like(collector.pods.get('db/pending'), { ips: [], phase: 'Pending', namedPorts: [] });
  t.deepEqual([...collector.namespaces.values()].map((ns) => [ns.name, { ...ns.labels }]), [
    ['db', { 'kubernetes.io/metadata.name': 'db' }],
    ['web', { 'kubernetes.io/metadata.name': 'web', team: 'a' }],
  ]);
  const policy = collector.policies.get('web/allow-clients')!;
  t.deepEqual(policy, parseNetworkPolicy(policyObject('web', 'allow-clients', POLICY_SPEC)));
  t.is(policy.ingress[0]!.peers.length, 2, 'the listed rule keeps its peers');
  t.deepEqual(policy.problems, []);
  // Equal label maps are one shared object.
  t.is(collector.pods.get('web/web-1')!.labels, collector.pods.get('web/web-2')!.labels);
  // Each kind listed in pages of 500.
  for (const path of ['/api/v1/pods', '/api/v1/namespaces', '/apis/networking.k8s.io/v1/networkpolicies']) {
    t.like(server.requestsTo('GET', path).find((r) => r.query['watch'] === undefined)?.query, { limit: '500' }, path);
  }
});

test('objects of each kind added, changed and deleted become upserts and deletes; changes the views ignore yield nothing', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  const collector = await started(server);
  t.teardown(() => collector.stop());

  // Ignored: a pod's status condition and annotation, a namespace's annotation, a policy's label.
  server.update('pods', 'web/web-1', (pod) => {
    (pod['status'] as { conditions: unknown[] }).conditions = [{ type: 'Ready', status: 'False' }];
    pod.metadata['annotations'] = { note: 'x' };
  });
  server.update('namespaces', 'db', (ns) => {
    ns.metadata['annotations'] = { owner: 'dba' };
  });
  server.update('networkpolicies', 'web/allow-clients', (policy) => {
    policy.metadata['labels'] = { audited: 'yes' };
  });
  // Seen.
  server.put('pods', podObject({ namespace: 'db', name: 'db-0', labels: { app: 'db' }, ips: ['10.244.5.20'] }));
  server.update('pods', 'db/pending', (pod) => {
    (pod.metadata['labels'] as Record<string, string>)['tier'] = 'backend';
  });
  server.remove('pods', 'web/web-2');
  server.put('namespaces', namespaceObject('cache'));
  server.update('namespaces', 'db', (ns) => {
    (ns.metadata['labels'] as Record<string, string>)['team'] = 'b';
  });
  server.remove('namespaces', 'cache');
  server.put('networkpolicies', policyObject('db', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }));
  server.update('networkpolicies', 'web/allow-clients', (policy) => {
    (policy['spec'] as { policyTypes: string[] }).policyTypes = ['Ingress'];
  });
  server.remove('networkpolicies', 'db/deny-all');

  await waitFor(() => collector.changes().length >= 9, { what: 'nine changes' });
  const byKind = (kind: string): string[] => collector.changes().filter((c) => c.startsWith(`${kind} `));
  t.deepEqual(byKind('Pod'), ['Pod upsert db/db-0', 'Pod upsert db/pending', 'Pod delete web/web-2']);
  t.deepEqual(byKind('Namespace'), ['Namespace upsert cache', 'Namespace upsert db', 'Namespace delete cache']);
  t.deepEqual(byKind('NetworkPolicy'), ['NetworkPolicy upsert db/deny-all', 'NetworkPolicy upsert web/allow-clients', 'NetworkPolicy delete db/deny-all']);
  const labelChange = collector.events.find((e) => e.type === 'upsert' && e.key === 'db/pending');
  t.like(labelChange, { kind: 'Pod', previous: { labels: { app: 'db' } }, object: { labels: { app: 'db', tier: 'backend' } } });
  t.deepEqual(collector.policies.get('web/allow-clients')!.policyTypes, { ingress: true, egress: false });
  t.deepEqual([...collector.pods.keys()].sort(), ['db/db-0', 'db/pending', 'web/web-1']);
  t.deepEqual([...collector.namespaces.keys()].sort(), ['db', 'web']);
});

test('a dropped watch resumes from the last resourceVersion: changes in the gap are neither lost nor repeated', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  const collector = await started(server);
  t.teardown(() => collector.stop());

  t.is(server.dropWatches(), 3);
  server.put('pods', podObject({ namespace: 'web', name: 'web-3', labels: { app: 'web' }, ips: ['10.244.5.11'] }));
  server.remove('pods', 'web/web-1');
  server.update('namespaces', 'web', (ns) => {
    (ns.metadata['labels'] as Record<string, string>)['team'] = 'c';
  });
  server.remove('networkpolicies', 'web/allow-clients');
  await waitFor(() => collector.changes().length >= 4 && server.activeWatches === 3, { what: 'the gap changes and resumed watches' });
  server.put('pods', podObject({ namespace: 'db', name: 'after', ips: ['10.244.5.12'] }));
  await waitFor(() => collector.changes().length >= 5, { what: 'the change after the gap' });

  t.deepEqual(collector.changes().sort(), ['Namespace upsert web', 'NetworkPolicy delete web/allow-clients', 'Pod delete web/web-1', 'Pod upsert db/after', 'Pod upsert web/web-3']);
  t.is(collector.snapshots, 1);
  const podWatches = server.requestsTo('GET', '/api/v1/pods').filter((r) => r.query['watch'] === 'true');
  t.is(podWatches.length, 2);
  t.is(podWatches[1]!.query['resourceVersion'], podWatches[0]!.query['resourceVersion']);
});

for (const goneAs of ['event', 'status'] as const) {
  test(`410 Gone (${goneAs}) relists page by page and reports exactly the differences`, async (t) => {
    const server = await cluster();
    t.teardown(() => server.close());
    for (let i = 0; i < 7; i++) server.put('pods', podObject({ namespace: 'db', name: `p${i}`, labels: { app: 'db' }, ips: [`10.244.5.${30 + i}`] }));
    server.goneAs = goneAs;
    server.maxPageSize = 2;
    const collector = await started(server);
    t.teardown(() => collector.stop());

    server.pauseWatches();
    server.update('pods', 'db/p3', (pod) => {
      (pod.metadata['labels'] as Record<string, string>)['app'] = 'cache';
    });
    server.update('pods', 'db/p4', (pod) => {
      pod.metadata['annotations'] = { ignored: 'yes' };
    });
    server.remove('pods', 'db/p5');
    server.put('pods', podObject({ namespace: 'db', name: 'p9', ips: ['10.244.5.49'] }));
    server.remove('namespaces', 'db');
    server.expireResourceVersions();
    const listsBefore = server.requestsTo('GET', '/api/v1/pods').filter((r) => r.query['watch'] === undefined).length;
    server.dropWatches();

    await waitFor(() => collector.changes().length >= 4 && server.activeWatches === 3, { what: 'the relist differences' });
    t.deepEqual(collector.changes().sort(), ['Namespace delete db', 'Pod delete db/p5', 'Pod upsert db/p3', 'Pod upsert db/p9']);
    t.is(collector.snapshots, 1);
    const lists = server.requestsTo('GET', '/api/v1/pods').filter((r) => r.query['watch'] === undefined).slice(listsBefore);
    t.is(lists.length, 5, 'ten pods in pages of two');
    t.true(lists.slice(1).every((r) => typeof r.query['continue'] === 'string'));

    // The watch after the relist carries on from the new list.
    server.remove('pods', 'db/p9');
    await waitFor(() => collector.changes().length >= 5, { what: 'a change after the relist' });
    t.is(collector.changes().at(-1), 'Pod delete db/p9');
    t.deepEqual([...collector.pods.keys()].sort(), ['db/p0', 'db/p1', 'db/p2', 'db/p3', 'db/p4', 'db/p6', 'db/pending', 'web/web-1', 'web/web-2'].sort());
  });
}

test('a continue token that expires half-way through a list starts the list again; nothing is lost', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  for (let i = 0; i < 5; i++) server.put('pods', podObject({ namespace: 'db', name: `p${i}`, ips: [`10.244.5.${30 + i}`] }));
  server.maxPageSize = 2;
  let expired = false;
  server.beforeEachPage((kind, continued) => {
    if (kind !== 'pods' || !continued || expired) return;
    expired = true;
    // Between two pages: a pod is added and the server compacts.
    server.put('pods', podObject({ namespace: 'db', name: 'late', ips: ['10.244.5.99'] }));
    server.expireResourceVersions();
  });
  const collector = await started(server);
  t.teardown(() => collector.stop());

  t.true(expired);
  t.deepEqual([...collector.pods.keys()].sort(), ['db/late', 'db/p0', 'db/p1', 'db/p2', 'db/p3', 'db/p4', 'db/pending', 'web/web-1', 'web/web-2']);
  t.deepEqual(collector.changes(), []);
  const lists = server.requestsTo('GET', '/api/v1/pods').filter((r) => r.query['watch'] === undefined);
  t.is(lists[0]!.query['continue'], undefined);
  t.is(typeof lists[1]!.query['continue'], 'string');
  t.is(lists[2]!.query['continue'], undefined, 'the list starts again without the expired token');
});

test('a listed policy and the same policy watched give identical views; a typed model\'s _from reads as from', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  const collector = await started(server);
  t.teardown(() => collector.stop());

  server.put('networkpolicies', policyObject('web', 'watched-copy', POLICY_SPEC));
  await waitFor(() => collector.policies.has('web/watched-copy'), { what: 'the watched policy' });
  const listed = collector.policies.get('web/allow-clients')!;
  const watched = collector.policies.get('web/watched-copy')!;
  t.deepEqual({ ...watched, name: listed.name }, listed);

  const typed = { metadata: { namespace: 'web', name: 'allow-clients' }, spec: { ...POLICY_SPEC, ingress: POLICY_SPEC.ingress.map(({ from, ...rest }) => ({ ...rest, _from: from })) } };
  t.deepEqual(readNetworkPolicy(typed), listed);
});

/** The compiler's state fed only from what a watch consumer receives. */
function stateFrom(collector: ClusterCollector): PolicyState {
  const state = new PolicyState({ nodeName: 'win-1', nodeIps: ['192.168.1.10'] });
  for (const view of collector.namespaces.values()) state.applyNamespace({ type: 'upsert', view });
  for (const view of collector.pods.values()) state.applyPod({ type: 'upsert', view });
  for (const view of collector.policies.values()) state.applyPolicy({ type: 'upsert', view });
  return state;
}

test('a policy listed at start-up and the same policy arriving by watch compile to identical ACLs', async (t) => {
  const listedServer = await cluster();
  t.teardown(() => listedServer.close());
  const watchedServer = await cluster();
  t.teardown(() => watchedServer.close());
  watchedServer.remove('networkpolicies', 'web/allow-clients');
  const listing = await started(listedServer);
  t.teardown(() => listing.stop());
  const watching = await started(watchedServer);
  t.teardown(() => watching.stop());
  watchedServer.put('networkpolicies', policyObject('web', 'allow-clients', POLICY_SPEC));
  await waitFor(() => watching.policies.has('web/allow-clients'), { timeoutMs: 30_000, what: 'the watched policy' });

  const listed = stateFrom(listing).compile('web/web-1')!;
  const watched = stateFrom(watching).compile('web/web-1')!;
  t.is(JSON.stringify(watched.acls), JSON.stringify(listed.acls));
  t.true(listed.acls.length > 0);
  // The listed rule is not "from anyone": only its ipBlock (minus the except) and selected pods.
  const verdict = reach(listed.acls);
  t.true(verdict.in('10.2.0.1', 8080));
  t.false(verdict.in('10.1.0.1', 8080));
  t.false(verdict.in('172.16.0.1', 8080));
  t.false(verdict.in('10.2.0.1', 9090));
});

test('a silent watch is restarted and a malformed line skipped; nothing is lost', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  const collector = await started(server, { timings: { watchSilenceMs: 300 } });
  t.teardown(() => collector.stop());

  server.sendMalformedLine();
  server.remove('pods', 'web/web-2');
  await waitFor(() => collector.changes().length >= 1, { what: 'the change after the malformed line' });
  server.pauseWatches();
  server.remove('pods', 'web/web-1');
  await waitFor(() => collector.changes().length >= 2, { what: 'the change after the restart' });

  t.deepEqual(collector.changes(), ['Pod delete web/web-2', 'Pod delete web/web-1']);
  t.is(collector.snapshots, 1);
});

test('failing lists are retried with back-off; the snapshot waits for every kind', async (t) => {
  const server = await cluster();
  t.teardown(() => server.close());
  server.failRequests('GET', /^\/apis\/networking\.k8s\.io\/v1\/networkpolicies$/, 503, 3);
  const collector = await started(server);
  t.teardown(() => collector.stop());

  t.is(collector.events[0]?.type, 'snapshot');
  t.true(collector.policies.has('web/allow-clients'));
  t.true(server.requestsTo('GET', '/apis/networking.k8s.io/v1/networkpolicies').length >= 5);
});

test('pod views read podIPs, hostNetwork, protocols and native sidecar ports; unnamed ports are dropped', (t) => {
  const pools = newViewPools();
  const raw = {
    metadata: { namespace: 'ns', name: 'p' },
    spec: {
      nodeName: 'win-1',
      hostNetwork: true,
      initContainers: [
        { name: 'init', ports: [{ name: 'never', containerPort: 1 }] },
        { name: 'proxy', restartPolicy: 'Always', ports: [{ name: 'proxy', containerPort: 15001, protocol: 'TCP' }] },
      ],
      containers: [{ name: 'c', ports: [{ containerPort: 80 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'sig', containerPort: 2905, protocol: 'SCTP' }] }],
    },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }] },
  };
  const view = readPod(raw, pools) as PodView;
  t.deepEqual(view.ips, ['10.0.0.1', 'fd00::1']);
  t.true(view.hostNetwork);
  t.deepEqual(view.namedPorts, [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'sig', port: 2905, protocol: 'SCTP' },
    { name: 'proxy', port: 15001, protocol: 'TCP' },
  ]);
  t.is(readPod({ metadata: { name: 'no-namespace' } }, pools), undefined);
});
