import test, { type ExecutionContext } from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { restartWrites, SimHostFile, simDaemonArgs, startReady } from '../support/e2e-host.js';
import { startEtcd } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { PREFIX as ANNOTATION } from '../support/kube-fixtures.js';

const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}';
const PEERS = [
  { name: 'linux-1', subnet: '10.244.1.0/24', ip: '192.168.1.21' },
  { name: 'linux-2', subnet: '10.244.2.0/24', ip: '192.168.1.22' },
  { name: 'linux-3', subnet: '10.244.3.0/24', ip: '192.168.1.23' },
];
/** A host-gw node behind a router: host-gw cannot reach it. */
const FAR_PEER = { name: 'far-away', subnet: '10.244.7.0/24', ip: '10.9.9.9' };

/** How a test drives the lease store: etcd or the Kubernetes API. */
interface Store {
  args: string[];
  env: Record<string, string>;
  removePeer(name: string): Promise<void>;
  close(): Promise<void>;
}

async function etcdStore(): Promise<Store> {
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  await client.put('/coreos.com/network/config').value(NET_CONF);
  const lease = client.lease(86_400, { autoKeepAlive: false });
  for (const p of [...PEERS, FAR_PEER]) {
    // Exactly what Linux flannel's host-gw backend writes (compat/flannel.md §2.3).
    await lease.put(`/coreos.com/network/subnets/${p.subnet.replace('/', '-')}`).value(`{"PublicIP":"${p.ip}","PublicIPv6":null,"BackendType":"host-gw"}`);
  }
  return {
    args: [`--etcd-endpoints=${etcd.endpoint}`],
    env: {},
    removePeer: async (name) => {
      const p = PEERS.find((x) => x.name === name)!;
      await client.delete().key(`/coreos.com/network/subnets/${p.subnet.replace('/', '-')}`);
    },
    close: async () => {
      client.close();
      await etcd.stop();
    },
  };
}

async function kubeStore(dir: string): Promise<Store> {
  const server = await KubeApiServer.start();
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  for (const p of [...PEERS, FAR_PEER]) {
    server.addNode({
      name: p.name,
      podCIDR: p.subnet,
      annotations: {
        [`${ANNOTATION}backend-data`]: 'null',
        [`${ANNOTATION}backend-type`]: 'host-gw',
        [`${ANNOTATION}kube-subnet-manager`]: 'true',
        [`${ANNOTATION}public-ip`]: p.ip,
      },
    });
  }
  const netConf = join(dir, 'net-conf.json');
  await writeFile(netConf, NET_CONF);
  return {
    args: ['--kube-subnet-mgr', `--kubeconfig-file=${server.kubeconfigPath}`, `--net-config-path=${netConf}`],
    env: { NODE_NAME: 'win-1' },
    removePeer: async (name) => server.deleteNode(name),
    close: () => server.close(),
  };
}

function bridgeIndex(state: SimStateDocument): number {
  const iface = state.interfaces.find((i) => i.ipv4Addresses.includes('192.168.1.10') && i.up);
  if (!iface) throw new Error('no interface holds the node IP');
  return iface.index;
}

async function scenario(t: ExecutionContext, makeStore: (dir: string) => Promise<Store>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-e2e-hostgw-'));
  const store = await makeStore(dir);
  t.teardown(() => store.close());
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = [
    ...store.args,
    ...simDaemonArgs(host, dir, port),
    '--resync-interval=1',
  ];
  const daemon = await startReady(args, port, store.env);
  t.teardown(() => daemon.stop());

  let state = await host.until((s) => s.routes.filter((r) => r.destination.startsWith('10.244.')).length === 3, 'three peer routes');
  const network = state.networks.find((n) => n.Name === 'cbr0');
  t.truthy(network, 'the L2Bridge network cbr0 exists');
  t.is(network!.Type, 'L2Bridge');
  const ownSubnet = network!.Ipams![0]!.Subnets![0]!.IpAddressPrefix!;
  const base = ownSubnet.replace(/\.0\/24$/, '');
  const endpoint = state.endpoints.find((e) => e.Name === 'cbr0_ep');
  t.truthy(endpoint, 'the host endpoint cbr0_ep exists');
  t.is(endpoint!.IpConfigurations?.[0]?.IpAddress, `${base}.2`);
  t.true((endpoint as unknown as { sim?: { attachedToHost?: boolean } }).sim?.attachedToHost, 'attached to the host');
  t.is(await readFile(join(dir, 'subnet.env'), 'utf8'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${base}.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n`);

  const index = bridgeIndex(state);
  t.deepEqual(
    (await host.clusterRoutes()).map((r) => [r.destination, r.nextHop, r.interfaceIndex]),
    PEERS.map((p) => [p.subnet, p.ip, index]),
    'one route per reachable peer, via its public IP, on the bridge interface',
  );
  t.truthy(daemon.logs.find((l) => l.level === 40 && JSON.stringify(l).includes('10.9.9.9')), 'the unreachable peer is warned about');

  // Someone else's route on the same interface, outside the cluster network: never touched.
  await host.edit((s) => s.routes.push({ destination: '172.30.0.0/16', nextHop: '192.168.1.1', interfaceIndex: index, metric: 0, protocol: 3 }));

  await store.removePeer('linux-2');
  await host.until((s) => !s.routes.some((r) => r.destination === '10.244.2.0/24'), 'the removed peer\'s route to go');

  // Drift: a deleted route comes back at the next resync.
  await host.edit((s) => {
    s.routes = s.routes.filter((r) => r.destination !== '10.244.3.0/24');
  });
  state = await host.until((s) => s.routes.some((r) => r.destination === '10.244.3.0/24'), 'the resync to repair the deleted route');
  t.true(state.routes.some((r) => r.destination === '172.30.0.0/16'), 'the foreign route is still there');

  t.is(await restartWrites(daemon, args, port, host, store.env), 0, 'a restart with nothing changed writes nothing');
  t.deepEqual((await host.clusterRoutes()).map((r) => r.destination), ['10.244.1.0/24', '10.244.3.0/24']);
  t.is((await host.state()).networks.filter((n) => n.Name === 'cbr0').length, 1);

  // A peer that leaves while the daemon is down: its route goes at the next start, nothing else.
  await store.removePeer('linux-3');
  const before = await host.writes();
  const again = await startReady(args, port, store.env);
  await host.until((s) => !s.routes.some((r) => r.destination === '10.244.3.0/24'), 'the vanished peer\'s route to go');
  await again.stop();
  t.deepEqual((await host.clusterRoutes()).map((r) => r.destination), ['10.244.1.0/24']);
  t.true((await host.state()).routes.some((r) => r.destination === '172.30.0.0/16'), 'the foreign route is still there');
  t.is((await host.writes()) - before, 1, 'one route deleted');
}

test('host-gw on etcd: L2Bridge, host endpoint, one route per peer, removal, drift, foreign routes kept, zero-write restart', (t) => scenario(t, () => etcdStore()));

test('host-gw in kube mode: the same against the test API server', (t) => scenario(t, (dir) => kubeStore(dir)));
