import test from 'ava';
import { KubeSubnetError } from '../../../src/lease/kube/errors.js';
import { createKubeSubnetManager } from '../../../src/lease/kube/kube-subnet-manager.js';
import { silentLogger } from '../../../src/log.js';
import { formatIp4Net } from '../../../src/net/ip.js';
import { KubeApiServer } from '../../support/kube-api-server.js';
import { managerFor, NET_CONF, PREFIX, vxlanAttrs } from '../../support/kube-fixtures.js';
import { waitFor } from '../../support/wait.js';

const signal = (): AbortSignal => new AbortController().signal;
const MAC = '0e:2a:c0:a8:01:05';

test('acquireLease patches the node status subresource with a strategic merge patch of flannel annotations', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24', annotations: { unrelated: 'x' } });
  const manager = managerFor(server);

  const lease = await manager.acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal());

  const patches = server.requests.filter((r) => r.method === 'PATCH');
  t.is(patches.length, 1);
  const patch = patches[0]!;
  t.is(patch.path, '/api/v1/nodes/win-1/status');
  t.is(patch.contentType, 'application/strategic-merge-patch+json');
  t.deepEqual(patch.body, {
    metadata: {
      annotations: {
        [`${PREFIX}backend-type`]: 'vxlan',
        [`${PREFIX}backend-data`]: `{"VNI":4096,"VtepMAC":"${MAC}"}`,
        [`${PREFIX}public-ip`]: '192.168.1.5',
        [`${PREFIX}kube-subnet-manager`]: 'true',
      },
    },
  });
  // Byte for byte what Linux flanneld writes for vxlan.
  t.is(server.node('win-1')?.metadata.annotations?.[`${PREFIX}backend-data`], '{"VNI":4096,"VtepMAC":"0e:2a:c0:a8:01:05"}');
  t.is(server.node('win-1')?.metadata.annotations?.['unrelated'], 'x');
  t.is(formatIp4Net(lease.subnet!), '10.244.5.0/24');
  t.is(lease.nodeName, 'win-1');
  t.is(lease.expiration, undefined);
  t.true(lease.enableIpv4);
  t.false(lease.enableIpv6);
});

test('host-gw publishes backend-data as the literal text null', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.6.0/24' });
  const manager = managerFor(server, { netConf: '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}' });

  await manager.acquireLease(
    { attrs: { publicIp: '192.168.1.6', publicIpv6: null, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined } },
    signal(),
  );

  const annotations = server.node('win-1')?.metadata.annotations ?? {};
  t.is(annotations[`${PREFIX}backend-data`], 'null');
  t.is(annotations[`${PREFIX}backend-type`], 'host-gw');
  t.is(annotations[`${PREFIX}public-ip`], '192.168.1.6');
  t.is(annotations[`${PREFIX}kube-subnet-manager`], 'true');
});

test('no PATCH is sent when the node already carries the same annotations', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  await managerFor(server).acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal());
  const before = server.requests.filter((r) => r.method === 'PATCH').length;

  const lease = await managerFor(server).acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal());

  t.is(before, 1);
  t.is(server.requests.filter((r) => r.method === 'PATCH').length, 1);
  t.is(formatIp4Net(lease.subnet!), '10.244.5.0/24');
});

test('public-ip-overwrite replaces the published address; node-public-ip overrides the requested one', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24', annotations: { [`${PREFIX}public-ip-overwrite`]: '203.0.113.9' } });
  server.addNode({ name: 'win-2', podCIDR: '10.244.7.0/24', annotations: { [`${PREFIX}node-public-ip`]: '192.168.9.9' } });

  const overwritten = await managerFor(server).acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal());
  const win2 = managerFor(server, { env: { NODE_NAME: 'win-2' } });
  t.deepEqual(await win2.storedPublicIps(signal()), { publicIp: '192.168.9.9', publicIpv6: undefined });
  const overridden = await win2.acquireLease({ attrs: vxlanAttrs('192.168.1.7', MAC) }, signal());

  t.is(server.node('win-1')?.metadata.annotations?.[`${PREFIX}public-ip`], '203.0.113.9');
  // As flanneld: the own lease keeps the node's own address; only peers see the overwrite.
  t.is(overwritten.attrs.publicIp, '192.168.1.5');
  t.is(server.node('win-2')?.metadata.annotations?.[`${PREFIX}public-ip`], '192.168.9.9');
  t.is(overridden.attrs.publicIp, '192.168.9.9');
});

test('acquireLease waits for the podCIDR to be assigned', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1' });
  const manager = managerFor(server, { timings: { retryAttempts: 1000 } });

  const acquiring = manager.acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal());
  await waitFor(() => server.requestsTo('GET', '/api/v1/nodes/win-1').length >= 2, { what: 'a second GET of the node' });
  server.updateNode('win-1', (node) => {
    node.spec.podCIDR = '10.244.8.0/24';
    node.spec.podCIDRs = ['10.244.8.0/24'];
  });

  const lease = await acquiring;
  t.is(formatIp4Net(lease.subnet!), '10.244.8.0/24');
});

test('acquireLease fails with flannel\'s messages for a missing podCIDR and for one outside Network', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1' });
  server.addNode({ name: 'win-2', podCIDR: '10.99.1.0/24' });

  const missing = await t.throwsAsync(managerFor(server, { timings: { retryAttempts: 2 } }).acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal()));
  const outside = await t.throwsAsync(
    managerFor(server, { env: { NODE_NAME: 'win-2' } }).acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, signal()),
  );

  t.is(missing?.message, 'node "win-1" pod cidr not assigned');
  t.is((missing as KubeSubnetError).code, 'KUBE_POD_CIDR');
  t.is(outside?.message, 'subnet "10.244.0.0/16" specified in the flannel net config doesn\'t contain "10.99.1.0/24" PodCIDR of the "win-2" node');
  t.is(server.requests.filter((r) => r.method === 'PATCH').length, 0);
});

test('the node name comes from POD_NAME/POD_NAMESPACE when NODE_NAME is unset', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-7', podCIDR: '10.244.7.0/24' });
  server.addPod('kube-flannel', 'kube-flannel-ds-abcde', 'win-7');

  const manager = managerFor(server, { env: { POD_NAME: 'kube-flannel-ds-abcde', POD_NAMESPACE: 'kube-flannel' } });
  const lease = await manager.acquireLease({ attrs: vxlanAttrs('192.168.1.7', MAC) }, signal());

  t.is(lease.nodeName, 'win-7');
  t.is(server.requestsTo('GET', '/api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-abcde').length, 1);
  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-7/status').length, 1);
});

test('NODE_NAME wins over the pod; without either, flannel\'s error', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());

  t.is(await managerFor(server, { env: { NODE_NAME: 'n1', POD_NAME: 'p', POD_NAMESPACE: 'ns' } }).nodeName(signal()), 'n1');
  t.is(server.requests.length, 0);
  const err = await t.throwsAsync(managerFor(server, { env: { POD_NAME: 'p' } }).nodeName(signal()));
  t.is(err?.message, 'env variables POD_NAME and POD_NAMESPACE must be set');
  t.is((err as KubeSubnetError).code, 'KUBE_NODE_NAME');
});

test('markNetworkUp patches the NetworkUnavailable condition on the status subresource', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  server.updateNode('win-1', (node) => {
    node.status.conditions = [{ type: 'Ready', status: 'True' }, { type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated' }];
  });

  await managerFor(server).markNetworkUp(signal());

  const [patch] = server.requestsTo('PATCH', '/api/v1/nodes/win-1/status');
  t.is(patch?.contentType, 'application/strategic-merge-patch+json');
  const condition = (patch?.body as { status: { conditions: Record<string, string>[] } }).status.conditions[0]!;
  t.like(condition, { type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node' });
  t.regex(condition['lastHeartbeatTime'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(condition['lastTransitionTime'], condition['lastHeartbeatTime']);
  const stored = server.node('win-1')?.status.conditions ?? [];
  t.deepEqual(stored.map((c) => [c['type'], c['status'], c['reason']]), [
    ['Ready', 'True', undefined],
    ['NetworkUnavailable', 'False', 'FlannelIsUp'],
  ]);
});

test('markNetworkUp writes nothing when the node already says False for FlannelIsUp; plan sees the same', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  server.updateNode('win-1', (node) => {
    node.status.conditions = [{ type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated' }];
  });
  const manager = managerFor(server);
  t.deepEqual(await manager.networkUpChanges(signal()), ['status: True -> False', 'reason: NoRouteCreated -> FlannelIsUp']);
  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, 0, 'asking is read-only');

  await manager.markNetworkUp(signal());
  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, 1);
  t.deepEqual(await manager.networkUpChanges(signal()), []);
  // A restart: the condition is already what flannel sets, so nothing is sent.
  await managerFor(server).markNetworkUp(signal());
  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, 1);
  // Someone else flips it back: the next start sets it again.
  server.updateNode('win-1', (node) => {
    node.status.conditions = [{ type: 'NetworkUnavailable', status: 'True', reason: 'RouteCreated' }];
  });
  await managerFor(server).markNetworkUp(signal());
  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, 2);
});

test('markNetworkUp sends nothing with --set-node-network-unavailable=false', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });

  await managerFor(server, { setNodeNetworkUnavailable: false }).markNetworkUp(signal());

  t.is(server.requests.length, 0);
});

test('markNetworkUp retries a failed patch', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  server.failRequests('PATCH', /\/status$/, 500, 2);

  await managerFor(server).markNetworkUp(signal());

  t.is(server.requestsTo('PATCH', '/api/v1/nodes/win-1/status').length, 3);
  t.is(server.node('win-1')?.status.conditions?.[0]?.['reason'], 'FlannelIsUp');
});

test('getNetworkConfig parses net-conf.json once and reports the file path in errors', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  const manager = managerFor(server, { netConf: NET_CONF });
  const config = await manager.getNetworkConfig(signal());
  t.is(formatIp4Net(config.network!), '10.244.0.0/16');
  t.is(config.backendType, 'vxlan');

  const broken = createKubeSubnetManager({
    kubeconfigFile: server.kubeconfigPath,
    annotationPrefix: 'flannel.alpha.coreos.com',
    setNodeNetworkUnavailable: true,
    netConfPath: '/nonexistent/net-conf.json',
    env: { NODE_NAME: 'win-1' },
    log: silentLogger(),
  });
  const err = await t.throwsAsync(broken.getNetworkConfig(signal()));
  t.regex(err?.message ?? '', /\/nonexistent\/net-conf\.json/);
});

test('an invalid annotation prefix is refused when the manager is built', (t) => {
  const err = t.throws(() =>
    createKubeSubnetManager({
      apiUrl: 'https://127.0.0.1:1',
      annotationPrefix: 'org.COM',
      setNodeNetworkUnavailable: true,
      env: {},
      log: silentLogger(),
    }),
  );
  t.is((err as KubeSubnetError).code, 'KUBE_ANNOTATION_PREFIX');
});

test('aborting acquireLease while it waits for the podCIDR rejects it and stops the polling', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1' });
  const manager = managerFor(server, { timings: { retryAttempts: 1000 } });
  const controller = new AbortController();

  const acquiring = manager.acquireLease({ attrs: vxlanAttrs('192.168.1.5', MAC) }, controller.signal);
  await waitFor(() => server.requestsTo('GET', '/api/v1/nodes/win-1').length >= 2, { what: 'polling' });
  controller.abort();

  await t.throwsAsync(acquiring, { name: 'AbortError' });
  const polls = server.requestsTo('GET', '/api/v1/nodes/win-1').length;
  // Poll interval is 30 ms; several intervals later nothing more arrived.
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.is(server.requestsTo('GET', '/api/v1/nodes/win-1').length, polls);
});
