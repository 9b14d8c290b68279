import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { KubeApiServer } from '../../support/kube-api-server.js';
import { describe, LeaseCollector, linuxVxlanAnnotations, managerFor, PREFIX, vxlanAttrs } from '../../support/kube-fixtures.js';
import { waitFor } from '../../support/wait.js';

const MAC_A = 'aa:bb:cc:dd:ee:01';
const MAC_B = 'aa:bb:cc:dd:ee:02';
const MAC_C = 'aa:bb:cc:dd:ee:03';

function changeList(collector: LeaseCollector): string[] {
  return collector.changes.map((c) => `${c.type} ${describe(c.lease)}`);
}

/** A logger whose JSON lines the test can read. */
function capturedLog(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines: () => lines };
}

async function clusterWithPeers(): Promise<KubeApiServer> {
  const server = await KubeApiServer.start();
  server.addNode({ name: 'win-1', podCIDR: '10.244.250.0/24', annotations: linuxVxlanAnnotations('192.168.1.250', MAC_C) });
  server.addNode({ name: 'linux-a', podCIDR: '10.244.1.0/24', annotations: linuxVxlanAnnotations('192.168.1.1', MAC_A) });
  server.addNode({ name: 'linux-b', podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24'], annotations: linuxVxlanAnnotations('192.168.1.2', MAC_B) });
  return server;
}

test('the first result is a snapshot of every flannel node, own included; Linux-annotated peers become leases', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  server.addNode({ name: 'no-flannel', podCIDR: '10.244.9.0/24' });
  const manager = managerFor(server);
  const collector = new LeaseCollector(manager);
  t.teardown(() => collector.stop());

  await waitFor(() => collector.results.length >= 1, { what: 'the first snapshot' });

  const first = collector.results[0]!;
  t.is(first.kind, 'snapshot');
  t.deepEqual(first.kind === 'snapshot' ? first.leases.map(describe).sort() : [], [
    `10.244.1.0/24 192.168.1.1 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
    `10.244.2.0/24 192.168.1.2 {"VNI":4096,"VtepMAC":"${MAC_B}"}`,
    `10.244.250.0/24 192.168.1.250 {"VNI":4096,"VtepMAC":"${MAC_C}"}`,
  ]);
  t.deepEqual(first.kind === 'snapshot' ? first.leases.map((l) => l.nodeName).sort() : [], ['linux-a', 'linux-b', 'win-1']);
  t.deepEqual(collector.peers(), [
    `10.244.1.0/24 192.168.1.1 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
    `10.244.2.0/24 192.168.1.2 {"VNI":4096,"VtepMAC":"${MAC_B}"}`,
  ]);
  const a = collector.changes.find((c) => c.lease.attrs.publicIp === '192.168.1.1')!.lease;
  t.like(a.attrs, { backendType: 'vxlan', publicIpv6: null, backendV6Data: undefined });
  t.is(a.expiration, undefined);
});

test('invalid nodes are skipped without affecting others, and warned about once until they change', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  server.addNode({ name: 'bad-ip', podCIDR: '10.244.3.0/24', annotations: { ...linuxVxlanAnnotations('not-an-ip', MAC_A) } });
  server.addNode({ name: 'no-cidr', annotations: linuxVxlanAnnotations('192.168.1.4', MAC_A) });
  server.addNode({ name: 'three-cidrs', podCIDRs: ['10.244.5.0/24', 'fd00::/64', '10.244.6.0/24'], annotations: linuxVxlanAnnotations('192.168.1.5', MAC_A) });
  server.addNode({ name: 'not-true', podCIDR: '10.244.7.0/24', annotations: { ...linuxVxlanAnnotations('192.168.1.7', MAC_A), [`${PREFIX}kube-subnet-manager`]: 'True' } });
  server.addNode({ name: 'no-flannel', podCIDR: '10.244.8.0/24' });
  const { log, lines } = capturedLog();
  const collector = new LeaseCollector(managerFor(server, { log }));
  t.teardown(() => collector.stop());
  await waitFor(() => collector.results.length >= 1, { what: 'the first snapshot' });
  const warningsFor = (node: string): number => lines().filter((l) => l['level'] === 40 && l['node'] === node).length;

  t.deepEqual(collector.peers().map((p) => p.split(' ')[0]), ['10.244.1.0/24', '10.244.2.0/24']);
  t.is(warningsFor('bad-ip'), 1);
  t.is(warningsFor('no-cidr'), 1);
  t.is(warningsFor('three-cidrs'), 1);
  t.is(warningsFor('not-true'), 1);
  // A node without flannel is not a fault: a debug line only.
  t.is(warningsFor('no-flannel'), 0);
  t.is(lines().filter((l) => l['level'] === 20 && l['node'] === 'no-flannel').length, 1);

  // A heartbeat-like update and a relist (410) do not repeat the warning.
  server.updateNode('bad-ip', (node) => {
    node.metadata.labels = { heartbeat: '1' };
  });
  server.expireResourceVersions();
  server.updateNode('linux-a', (node) => {
    node.metadata.labels = { heartbeat: '1' };
  });
  server.dropWatches();
  await waitFor(() => collector.snapshots >= 2, { what: 'the relist snapshot' });
  t.is(warningsFor('bad-ip'), 1);
  t.is(warningsFor('no-cidr'), 1);

  // A different problem is reported; a fix turns the node into a peer.
  server.updateNode('bad-ip', (node) => {
    node.metadata.annotations![`${PREFIX}public-ip`] = 'still-bad';
  });
  server.updateNode('no-cidr', (node) => {
    node.spec.podCIDR = '10.244.4.0/24';
  });
  await waitFor(() => collector.peers().some((p) => p.startsWith('10.244.4.0/24')), { what: 'the fixed node as a peer' });
  await waitFor(() => warningsFor('bad-ip') === 2, { what: 'the new problem of bad-ip' });
  t.deepEqual(collector.peers().map((p) => p.split(' ')[0]), ['10.244.1.0/24', '10.244.2.0/24', '10.244.4.0/24']);
});

test('node changes become lease events only when the lease changes', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  const collector = new LeaseCollector(managerFor(server));
  t.teardown(() => collector.stop());
  await waitFor(() => collector.results.length >= 1, { what: 'the first snapshot' });
  const initial = collector.changes.length;
  const afterEvents = async (count: number): Promise<string[]> => {
    await waitFor(() => collector.changes.length >= initial + count, { what: `${count} changes` });
    return changeList(collector).slice(initial);
  };

  server.updateNode('linux-a', (node) => {
    node.metadata.labels = { 'kubernetes.io/heartbeat': 'now' };
    node.status.conditions = [{ type: 'Ready', status: 'True' }];
  });
  server.updateNode('linux-a', (node) => {
    node.metadata.annotations![`${PREFIX}public-ip`] = '192.168.1.11';
  });
  server.updateNode('linux-b', (node) => {
    node.spec.podCIDR = '10.244.12.0/24';
    node.spec.podCIDRs = ['10.244.12.0/24'];
  });
  server.addNode({ name: 'linux-d', podCIDR: '10.244.4.0/24', annotations: linuxVxlanAnnotations('192.168.1.4', MAC_A) });
  server.updateNode('linux-d', (node) => {
    delete node.metadata.annotations![`${PREFIX}kube-subnet-manager`];
  });
  server.deleteNode('linux-a');

  t.deepEqual(await afterEvents(6), [
    `changed 10.244.1.0/24 192.168.1.11 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
    `removed 10.244.2.0/24 192.168.1.2 {"VNI":4096,"VtepMAC":"${MAC_B}"}`,
    `added 10.244.12.0/24 192.168.1.2 {"VNI":4096,"VtepMAC":"${MAC_B}"}`,
    `added 10.244.4.0/24 192.168.1.4 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
    `removed 10.244.4.0/24 192.168.1.4 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
    `removed 10.244.1.0/24 192.168.1.11 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
  ]);
  // The heartbeat produced nothing, not even an empty batch.
  t.true(collector.results.slice(1).every((r) => r.kind === 'events' && r.events.length > 0));
  t.is(collector.snapshots, 1);
});

test('a dropped watch resumes from the last resourceVersion: changes in the gap are neither lost nor repeated', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  const collector = new LeaseCollector(managerFor(server));
  t.teardown(() => collector.stop());
  await waitFor(() => collector.results.length >= 1 && server.activeWatches === 1, { what: 'the watch' });
  const initial = collector.changes.length;

  t.is(server.dropWatches(), 1);
  server.updateNode('linux-a', (node) => {
    node.metadata.annotations![`${PREFIX}backend-data`] = `{"VNI":4096,"VtepMAC":"${MAC_C}"}`;
  });
  server.addNode({ name: 'linux-d', podCIDR: '10.244.4.0/24', annotations: linuxVxlanAnnotations('192.168.1.4', MAC_A) });
  await waitFor(() => collector.changes.length >= initial + 2, { what: 'the gap changes' });
  await waitFor(() => server.activeWatches === 1, { what: 'the resumed watch' });
  server.deleteNode('linux-b');
  await waitFor(() => collector.changes.length >= initial + 3, { what: 'the change after the gap' });

  t.deepEqual(changeList(collector).slice(initial), [
    `changed 10.244.1.0/24 192.168.1.1 {"VNI":4096,"VtepMAC":"${MAC_C}"}`,
    `added 10.244.4.0/24 192.168.1.4 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
    `removed 10.244.2.0/24 192.168.1.2 {"VNI":4096,"VtepMAC":"${MAC_B}"}`,
  ]);
  t.is(collector.snapshots, 1);
  const watches = server.requests.filter((r) => r.query['watch'] === 'true');
  t.is(watches.length, 2);
  t.is(Number(watches[1]!.query['resourceVersion']), Number(watches[0]!.query['resourceVersion']));
});

for (const goneAs of ['event', 'status'] as const) {
  test(`410 Gone (${goneAs}) relists and yields a new snapshot; the consumer sees exactly the gap's changes`, async (t) => {
    const server = await clusterWithPeers();
    t.teardown(() => server.close());
    server.goneAs = goneAs;
    const collector = new LeaseCollector(managerFor(server));
    t.teardown(() => collector.stop());
    await waitFor(() => collector.results.length >= 1 && server.activeWatches === 1, { what: 'the watch' });
    const initial = collector.changes.length;

    server.pauseWatches();
    server.updateNode('linux-a', (node) => {
      node.metadata.annotations![`${PREFIX}public-ip`] = '192.168.1.11';
    });
    server.deleteNode('linux-b');
    server.addNode({ name: 'linux-d', podCIDR: '10.244.4.0/24', annotations: linuxVxlanAnnotations('192.168.1.4', MAC_A) });
    server.expireResourceVersions();
    server.dropWatches();

    await waitFor(() => collector.snapshots >= 2, { what: 'the relist snapshot' });
    await waitFor(() => server.activeWatches === 1, { what: 'the new watch' });
    t.deepEqual(changeList(collector).slice(initial).sort(), [
      `added 10.244.4.0/24 192.168.1.4 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
      `changed 10.244.1.0/24 192.168.1.11 {"VNI":4096,"VtepMAC":"${MAC_A}"}`,
      `removed 10.244.2.0/24 192.168.1.2 {"VNI":4096,"VtepMAC":"${MAC_B}"}`,
    ]);

    // The watch after the relist carries on from the new list.
    server.deleteNode('linux-d');
    await waitFor(() => collector.changes.length >= initial + 4, { what: 'a change after the relist' });
    t.is(changeList(collector).at(-1), `removed 10.244.4.0/24 192.168.1.4 {"VNI":4096,"VtepMAC":"${MAC_A}"}`);
    t.deepEqual(collector.peers().map((p) => p.split(' ')[0]), ['10.244.1.0/24']);
    t.is(collector.snapshots, 2);
    const lists = server.requestsTo('GET', '/api/v1/nodes').filter((r) => r.query['watch'] !== 'true');
    t.is(lists.length, 2);
  });
}

test('a watch silent past the deadline is restarted from where it was', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  const collector = new LeaseCollector(managerFor(server, { timings: { watchSilenceMs: 300 } }));
  t.teardown(() => collector.stop());
  await waitFor(() => collector.results.length >= 1 && server.activeWatches === 1, { what: 'the watch' });
  const initial = collector.changes.length;

  server.pauseWatches();
  server.deleteNode('linux-a');

  await waitFor(() => collector.changes.length > initial, { what: 'the change after the restart' });
  t.deepEqual(changeList(collector).slice(initial), [`removed 10.244.1.0/24 192.168.1.1 {"VNI":4096,"VtepMAC":"${MAC_A}"}`]);
  t.is(collector.snapshots, 1);
  t.true(server.requests.filter((r) => r.query['watch'] === 'true').length >= 2);
});

test('failing list and watch calls are retried with back-off', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  server.failRequests('GET', /^\/api\/v1\/nodes$/, 503, 3);
  const collector = new LeaseCollector(managerFor(server));
  t.teardown(() => collector.stop());

  await waitFor(() => collector.results.length >= 1 && server.activeWatches === 1, { what: 'the first snapshot and watch' });

  t.is(server.requestsTo('GET', '/api/v1/nodes').filter((r) => r.query['watch'] !== 'true').length, 4);
  t.is(collector.peers().length, 2);
  server.deleteNode('linux-b');
  await waitFor(() => collector.peers().length === 1, { what: 'the removal' });
});

test('stopping the iteration closes the watch', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  const collector = new LeaseCollector(managerFor(server));
  await waitFor(() => server.activeWatches === 1, { what: 'the watch' });

  await collector.stop();

  await waitFor(() => server.activeWatches === 0, { what: 'the watch to close' });
  t.is(collector.snapshots, 1);
});

test('keepLease patches back annotations someone removed, and reports a podCIDR change', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  const manager = managerFor(server);
  const request = { attrs: vxlanAttrs('192.168.1.5', MAC_A) };
  const lease = await manager.acquireLease(request, new AbortController().signal);
  const stop = new AbortController();
  const events: string[] = [];
  const keeping = manager.keepLease(lease, request, stop.signal, {
    onLost: (reason) => events.push(`lost: ${reason}`),
    onReacquired: (next) => events.push(`reacquired ${describe(next)}`),
  });
  t.teardown(async () => {
    stop.abort();
    await keeping;
  });
  await waitFor(() => server.activeWatches === 1, { what: 'the own-node watch' });
  const watch = server.requests.find((r) => r.query['watch'] === 'true');
  t.is(watch?.query['fieldSelector'], 'metadata.name=win-1');

  server.updateNode('win-1', (node) => {
    delete node.metadata.annotations![`${PREFIX}backend-data`];
    delete node.metadata.annotations![`${PREFIX}kube-subnet-manager`];
  });
  await waitFor(() => server.node('win-1')?.metadata.annotations?.[`${PREFIX}kube-subnet-manager`] === 'true', { what: 'the re-patch' });
  t.is(server.node('win-1')?.metadata.annotations?.[`${PREFIX}backend-data`], `{"VNI":4096,"VtepMAC":"${MAC_A}"}`);
  const repatch = server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').at(-1);
  t.deepEqual(repatch?.body, {
    metadata: { annotations: { [`${PREFIX}backend-data`]: `{"VNI":4096,"VtepMAC":"${MAC_A}"}`, [`${PREFIX}kube-subnet-manager`]: 'true' } },
  });
  t.deepEqual(events, []);

  server.updateNode('win-1', (node) => {
    node.spec.podCIDR = '10.244.15.0/24';
  });
  await waitFor(() => events.length === 2, { what: 'lost and reacquired' });
  t.deepEqual(events, ['lost: podCIDR of node win-1 changed', `reacquired 10.244.15.0/24 192.168.1.5 {"VNI":4096,"VtepMAC":"${MAC_A}"}`]);
  const patches = server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length;

  stop.abort();
  await keeping;
  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, patches);
  await waitFor(() => server.activeWatches === 0, { what: 'the own-node watch to close' });
});

test('nodes are listed in pages; the snapshot comes once the last page is folded in, also after a relist', async (t) => {
  const server = await clusterWithPeers();
  t.teardown(() => server.close());
  for (let i = 10; i < 15; i++) {
    server.addNode({ name: `linux-${i}`, podCIDR: `10.244.${i}.0/24`, annotations: linuxVxlanAnnotations(`192.168.1.${i}`, MAC_A) });
  }
  server.maxPageSize = 2;
  const collector = new LeaseCollector(managerFor(server));
  t.teardown(() => collector.stop());
  await waitFor(() => collector.results.length >= 1 && server.activeWatches === 1, { timeoutMs: 30_000, what: 'the watch' });
  const first = collector.results[0]!;
  t.is(first.kind === 'snapshot' ? first.leases.length : 0, 8);
  const lists = (): { query: Readonly<Record<string, string>> }[] => server.requestsTo('GET', '/api/v1/nodes').filter((r) => r.query['watch'] === undefined);
  t.deepEqual(lists().map((r) => [r.query['limit'], r.query['continue'] !== undefined]), [
    ['500', false],
    ['500', true],
    ['500', true],
    ['500', true],
  ]);
  const initial = collector.changes.length;

  server.pauseWatches();
  server.deleteNode('linux-12');
  server.expireResourceVersions();
  server.dropWatches();
  await waitFor(() => collector.snapshots >= 2, { timeoutMs: 30_000, what: 'the relist snapshot' });
  t.deepEqual(changeList(collector).slice(initial), [`removed 10.244.12.0/24 192.168.1.12 {"VNI":4096,"VtepMAC":"${MAC_A}"}`]);
  t.is(lists().length, 8);
});
