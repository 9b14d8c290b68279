import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { restartWrites, SimHostFile, simDaemonArgs, startReady } from '../support/e2e-host.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';

const PREFIX = '/coreos.com/network';
const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';
const NETWORK_NAME = 'flannel.4096';

/** Three Linux nodes' leases, byte for byte as flannel's json.Marshal writes them (compat/flannel.md §2.3). */
const LINUX_PEERS = [
  { key: '10.244.1.0-24', value: '{"PublicIP":"192.168.1.21","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:01"}}' },
  { key: '10.244.2.0-24', value: '{"PublicIP":"192.168.1.22","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:02"}}' },
  { key: '10.244.3.0-24', value: '{"PublicIP":"192.168.1.23","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:03"}}' },
];

let etcd: EtcdServer;
let client: Etcd3;

test.before(async () => {
  etcd = await startEtcd();
  client = new Etcd3({ hosts: etcd.endpoint });
  await client.put(`${PREFIX}/config`).value(NET_CONF);
  const lease = client.lease(86_400, { autoKeepAlive: false });
  for (const peer of LINUX_PEERS) await lease.put(`${PREFIX}/subnets/${peer.key}`).value(peer.value);
  // A record no flannel could have written: it must be skipped, and must not hide the others.
  await client.put(`${PREFIX}/subnets/10.244.9.0-24`).value('{"PublicIP": garbage');
});

test.after.always(async () => {
  client?.close();
  await etcd?.stop();
});

const normalMac = (mac: string) => mac.toLowerCase().replaceAll('-', ':');

test.serial('vxlan on etcd: lease, subnet.env, one RemoteSubnetRoute per peer, removal, drift repair, zero-write restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-e2e-'));
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = [
    `--etcd-endpoints=${etcd.endpoint}`,
    ...simDaemonArgs(host, dir, port),
    // Space-separated values, as operators often write them (Go's flag syntax allows both).
    '--resync-interval', '1',
  ];
  const daemon = await startReady(args, port);
  t.teardown(() => daemon.stop());

  const state = await host.until((s) => s.networks.some((n) => n.Name === NETWORK_NAME), 'the Overlay network');
  const network = state.networks.find((n) => n.Name === NETWORK_NAME)!;
  t.is(network.Type, 'Overlay');
  const drMac = (network.Policies ?? []).find((p) => p.Type === 'DrMacAddress')!.Settings as { Address: string };

  // Our lease: the key and value an unchanged Linux flannel reads (§2.2, §2.3).
  const leases = await client.getAll().prefix(`${PREFIX}/subnets/`).strings();
  const own = Object.entries(leases).find(([, v]) => v.includes('"192.168.1.10"'));
  t.truthy(own, 'our lease is in etcd');
  const [ownKey, ownValue] = own!;
  t.regex(ownKey, /^\/coreos\.com\/network\/subnets\/10\.244\.\d+\.0-24$/);
  t.is(ownValue, `{"PublicIP":"192.168.1.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"${normalMac(drMac.Address)}"}}`);
  const ownNet = ownKey.split('/').pop()!.replace(/\.0-24$/, '');
  t.is(await readFile(join(dir, 'subnet.env'), 'utf8'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${ownNet}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);

  // One RemoteSubnetRoute per Linux peer with the peer's fields; the garbage record is skipped.
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 3, 'three routes');
  t.deepEqual(
    (await host.remoteRoutes(NETWORK_NAME)).map((r) => [r.DestinationPrefix, r.IsolationId, r.ProviderAddress, normalMac(r.DistributedRouterMacAddress)]),
    [
      ['10.244.1.0/24', 4096, '192.168.1.21', '52:a1:00:00:00:01'],
      ['10.244.2.0/24', 4096, '192.168.1.22', '52:a1:00:00:00:02'],
      ['10.244.3.0/24', 4096, '192.168.1.23', '52:a1:00:00:00:03'],
    ],
  );
  t.truthy(daemon.logs.find((l) => l.level === 40 && JSON.stringify(l).includes('10.244.9.0-24')), 'the malformed lease is named in a warning');

  // A peer removed in etcd is removed from HNS.
  await client.delete().key(`${PREFIX}/subnets/10.244.2.0-24`);
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 2, 'the removed peer to leave HNS');
  t.deepEqual((await host.remoteRoutes(NETWORK_NAME)).map((r) => r.DestinationPrefix), ['10.244.1.0/24', '10.244.3.0/24']);

  // Drift: someone deletes a policy behind the daemon's back; the periodic resync puts it back.
  await host.edit((s) => {
    const net = s.networks.find((n) => n.Name === NETWORK_NAME)!;
    net.Policies = (net.Policies ?? []).filter((p) => !(p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix: string }).DestinationPrefix === '10.244.3.0/24'));
  });
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).some((r) => r.DestinationPrefix === '10.244.3.0/24'), 'the resync to repair the deleted policy');

  // Restart with nothing changed: zero HNS writes, same lease.
  t.is(await restartWrites(daemon, args, port, host), 0, 'a restart with nothing changed writes nothing to HNS');
  t.is((await host.remoteRoutes(NETWORK_NAME)).length, 2);
  t.is((await client.get(ownKey).string()), ownValue, 'the lease survives the restart unchanged');

  // A peer that leaves while the daemon is down is removed at the next start, with one write.
  await client.delete().key(`${PREFIX}/subnets/10.244.3.0-24`);
  const before = await host.writes();
  const again = await startReady(args, port);
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 1, 'the vanished peer to be removed');
  await again.stop();
  t.deepEqual((await host.remoteRoutes(NETWORK_NAME)).map((r) => r.DestinationPrefix), ['10.244.1.0/24']);
  t.is((await host.writes()) - before, 1, 'one Remove request');
});
