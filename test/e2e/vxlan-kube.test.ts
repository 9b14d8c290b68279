import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { kubeSimNode, restartWrites, simDaemonArgs, SimHostFile, startReady } from '../support/e2e-host.js';
import { freePort } from '../support/free-port.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { linuxVxlanAnnotations, PREFIX } from '../support/kube-fixtures.js';
import { waitFor } from '../support/wait.js';

const NETWORK_NAME = 'flannel.4096';
const normalMac = (mac: string) => mac.toLowerCase().replaceAll('-', ':');

test('vxlan in kube mode: annotations, NetworkUnavailable, subnet.env, peers from Linux nodes, removal, drift, zero-write restart', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24', labels: { 'kubernetes.io/os': 'windows' } });
  server.addNode({ name: 'linux-1', podCIDR: '10.244.1.0/24', annotations: linuxVxlanAnnotations('192.168.1.21', '52:a1:00:00:00:01') });
  server.addNode({ name: 'linux-2', podCIDR: '10.244.2.0/24', annotations: linuxVxlanAnnotations('192.168.1.22', '52:a1:00:00:00:02') });
  server.addNode({ name: 'linux-3', podCIDR: '10.244.3.0/24', annotations: linuxVxlanAnnotations('192.168.1.23', '52:a1:00:00:00:03') });
  // A node whose annotation is garbage: skipped, and it must not hide the others.
  server.addNode({ name: 'broken', podCIDR: '10.244.9.0/24', annotations: { ...linuxVxlanAnnotations('192.168.1.29', '52:a1:00:00:00:09'), [`${PREFIX}public-ip`]: 'not-an-ip' } });

  const node = await kubeSimNode(server.kubeconfigPath, 'e2e-kube');
  const { dir, port, host } = node;
  const args = [...node.args, '--resync-interval=1'];
  const env = { NODE_NAME: 'win-1' };
  const daemon = await startReady(args, port, env);
  t.teardown(() => daemon.stop());

  const state = await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 3, 'three routes');
  const network = state.networks.find((n) => n.Name === NETWORK_NAME)!;
  const drMac = normalMac(((network.Policies ?? []).find((p) => p.Type === 'DrMacAddress')!.Settings as { Address: string }).Address);

  // Our node carries exactly what Linux flannel writes, through the status subresource.
  const annotations = server.node('win-1')!.metadata.annotations!;
  t.is(annotations[`${PREFIX}backend-type`], 'vxlan');
  t.is(annotations[`${PREFIX}backend-data`], `{"VNI":4096,"VtepMAC":"${drMac}"}`);
  t.is(annotations[`${PREFIX}public-ip`], '192.168.1.10');
  t.is(annotations[`${PREFIX}kube-subnet-manager`], 'true');
  const patches = server.requestsTo('PATCH', '/api/v1/nodes/win-1/status');
  t.true(patches.length >= 1);
  t.true(patches.every((p) => p.contentType === 'application/strategic-merge-patch+json'));
  await waitFor(() => server.node('win-1')!.status.conditions?.find((c) => c['type'] === 'NetworkUnavailable'), { what: 'the NetworkUnavailable condition' });
  const condition = server.node('win-1')!.status.conditions!.find((c) => c['type'] === 'NetworkUnavailable')!;
  t.is(condition['status'], 'False');
  t.is(condition['reason'], 'FlannelIsUp');
  t.is(await readFile(join(dir, 'subnet.env'), 'utf8'), 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');

  t.deepEqual(
    (await host.remoteRoutes(NETWORK_NAME)).map((r) => [r.DestinationPrefix, r.IsolationId, r.ProviderAddress, normalMac(r.DistributedRouterMacAddress)]),
    [
      ['10.244.1.0/24', 4096, '192.168.1.21', '52:a1:00:00:00:01'],
      ['10.244.2.0/24', 4096, '192.168.1.22', '52:a1:00:00:00:02'],
      ['10.244.3.0/24', 4096, '192.168.1.23', '52:a1:00:00:00:03'],
    ],
  );
  t.truthy(daemon.logs.find((l) => l.level === 40 && JSON.stringify(l).includes('broken')), 'the broken node is named in a warning');

  // A deleted node removes its peer; a node that changes its MAC is updated.
  server.deleteNode('linux-2');
  server.updateNode('linux-3', (node) => {
    node.metadata.annotations![`${PREFIX}backend-data`] = '{"VNI":4096,"VtepMAC":"52:a1:00:00:00:33"}';
  });
  await host.until(
    (s) => {
      const routes = remoteSubnetRoutes(s, NETWORK_NAME);
      return routes.length === 2 && routes.some((r) => normalMac(r.DistributedRouterMacAddress) === '52:a1:00:00:00:33');
    },
    'the deleted node to leave HNS and the changed one to be updated',
  );

  // A dropped watch and an expired resourceVersion lose nothing and invent nothing.
  server.expireResourceVersions();
  server.dropWatches();
  server.addNode({ name: 'linux-4', podCIDR: '10.244.4.0/24', annotations: linuxVxlanAnnotations('192.168.1.24', '52:a1:00:00:00:04') });
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 3, 'the node added across the watch drop');

  // Drift repaired by the periodic resync.
  await host.edit((s) => {
    const net = s.networks.find((n) => n.Name === NETWORK_NAME)!;
    net.Policies = (net.Policies ?? []).filter((p) => !(p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix: string }).DestinationPrefix === '10.244.1.0/24'));
  });
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).some((r) => r.DestinationPrefix === '10.244.1.0/24'), 'the resync to repair the deleted policy');

  t.is(await restartWrites(daemon, args, port, host, env), 0, 'a restart with nothing changed writes nothing to HNS');
  t.deepEqual((await host.remoteRoutes(NETWORK_NAME)).map((r) => r.DestinationPrefix), ['10.244.1.0/24', '10.244.3.0/24', '10.244.4.0/24']);
});

test('the node-public-ip annotation overrides --public-ip, as in flanneld (a node behind NAT)', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-2', podCIDR: '10.244.6.0/24', annotations: { [`${PREFIX}node-public-ip`]: '203.0.113.7' } });
  server.addNode({ name: 'linux-1', podCIDR: '10.244.1.0/24', annotations: linuxVxlanAnnotations('192.168.1.21', '52:a1:00:00:00:01') });
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-e2e-kube-nat-'));
  const netConf = join(dir, 'net-conf.json');
  await writeFile(netConf, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}');
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const daemon = await startReady(
    [
      '--kube-subnet-mgr',
      `--kubeconfig-file=${server.kubeconfigPath}`,
      `--net-config-path=${netConf}`,
      ...simDaemonArgs(host, dir, port),
      '--iface=Ethernet',
    ],
    port,
    { NODE_NAME: 'win-2' },
  );
  t.teardown(() => daemon.stop());
  t.is(server.node('win-2')!.metadata.annotations![`${PREFIX}public-ip`], '203.0.113.7', 'peers are told the NAT address');
  t.truthy(daemon.logs.find((l) => l.msg.includes('node-public-ip annotation overrides')));
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 1, 'the Linux peer is still programmed');
});
