import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSimState } from '../../src/sim/state-file.js';
import { readSimState, remoteSubnetRoutes, writeCount } from '../../src/sim/state-view.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait.js';

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

function daemonArgs(dir: string, healthzPort: number): string[] {
  return [
    `--etcd-endpoints=${etcd.endpoint}`,
    '--dataplane', 'sim',
    '--sim-state', join(dir, 'host.json'),
    '--subnet-file', join(dir, 'subnet.env'),
    '--public-ip', '192.168.1.10',
    '--resync-interval', '1',
    '--healthz-ip', '127.0.0.1',
    `--healthz-port=${healthzPort}`,
  ];
}

async function ready(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
  return res?.status === 200;
}

test.serial('flannel-win on etcd: lease, subnet.env, one RemoteSubnetRoute per peer, removal, drift repair, zero-write restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-e2e-'));
  const port = await freePort();
  let daemon = DaemonProcess.start(daemonArgs(dir, port));
  t.teardown(() => daemon.stop());
  await waitFor(() => ready(port), { timeoutMs: 30_000, what: 'the daemon to report ready' });

  // The simulator flushes its file a few milliseconds after a change: wait for what ready implies.
  const state = await waitFor(
    async () => {
      const s = await readSimState(join(dir, 'host.json'));
      return remoteSubnetRoutes(s, NETWORK_NAME).length === 3 ? s : undefined;
    },
    { timeoutMs: 5_000, what: 'three routes in the simulated host' },
  );
  // Our lease: the key and value an unchanged Linux flannel reads (§2.2, §2.3).
  const network = state.networks.find((n) => n.Name === NETWORK_NAME);
  t.truthy(network, 'the Overlay network exists');
  t.is(network!.Type, 'Overlay');
  const drMac = (network!.Policies ?? []).find((p) => p.Type === 'DrMacAddress')!.Settings as { Address: string };
  const vtepMac = drMac.Address.toLowerCase().replaceAll('-', ':');
  const leases = await client.getAll().prefix(`${PREFIX}/subnets/`).strings();
  const own = Object.entries(leases).find(([, v]) => v.includes('"192.168.1.10"'));
  t.truthy(own, 'our lease is in etcd');
  const ownKey = own![0];
  t.regex(ownKey, /^\/coreos\.com\/network\/subnets\/10\.244\.\d+\.0-24$/);
  t.is(own![1], `{"PublicIP":"192.168.1.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"${vtepMac}"}}`);
  const ownSubnet = ownKey.split('/').pop()!.replace('-', '/');
  const ownBase = ownSubnet.split('/')[0]!.replace(/\.0$/, '');
  t.is(await readFile(join(dir, 'subnet.env'), 'utf8'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${ownBase}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);

  // One RemoteSubnetRoute per Linux peer with the peer's fields; the garbage record is skipped.
  const routes = remoteSubnetRoutes(state, NETWORK_NAME).sort((a, b) => a.DestinationPrefix.localeCompare(b.DestinationPrefix));
  t.deepEqual(
    routes.map((r) => [r.DestinationPrefix, r.IsolationId, r.ProviderAddress, r.DistributedRouterMacAddress.toLowerCase().replaceAll('-', ':')]),
    [
      ['10.244.1.0/24', 4096, '192.168.1.21', '52:a1:00:00:00:01'],
      ['10.244.2.0/24', 4096, '192.168.1.22', '52:a1:00:00:00:02'],
      ['10.244.3.0/24', 4096, '192.168.1.23', '52:a1:00:00:00:03'],
    ],
  );
  t.truthy(daemon.logs.find((l) => l.level === 40 && JSON.stringify(l).includes('10.244.9.0-24')), 'the malformed lease is named in a warning');

  // A peer removed in etcd is removed from HNS.
  await client.delete().key(`${PREFIX}/subnets/10.244.2.0-24`);
  await waitFor(async () => remoteSubnetRoutes(await readSimState(join(dir, 'host.json')), NETWORK_NAME).length === 2, {
    timeoutMs: 10_000,
    what: 'the removed peer to leave HNS',
  });

  // Drift: someone deletes a policy behind the daemon's back; the periodic resync puts it back.
  await waitFor(async () => {
    const current = await readSimState(join(dir, 'host.json'));
    const net = current.networks.find((n) => n.Name === NETWORK_NAME)!;
    net.Policies = (net.Policies ?? []).filter((p) => !(p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix: string }).DestinationPrefix === '10.244.3.0/24'));
    await writeFile(join(dir, 'host.json'), formatSimState(current));
    return true;
  });
  await waitFor(
    async () => remoteSubnetRoutes(await readSimState(join(dir, 'host.json')), NETWORK_NAME).some((r) => r.DestinationPrefix === '10.244.3.0/24'),
    { timeoutMs: 15_000, what: 'the resync to repair the deleted policy' },
  );

  // Restart with nothing changed: zero HNS writes.
  const stopped = await daemon.stop();
  t.is(stopped.code, 0, 'SIGTERM exits cleanly');
  const writesBefore = writeCount(await readSimState(join(dir, 'host.json')));
  daemon = DaemonProcess.start(daemonArgs(dir, port));
  await waitFor(() => ready(port), { timeoutMs: 30_000, what: 'the restarted daemon to report ready' });
  await daemon.stop();
  const after = await readSimState(join(dir, 'host.json'));
  t.is(writeCount(after), writesBefore, 'a restart with nothing changed writes nothing to HNS');
  t.is(remoteSubnetRoutes(after, NETWORK_NAME).length, 2);
  t.is(Object.keys(await client.getAll().prefix(`${PREFIX}/subnets/`).strings()).filter((k) => k === ownKey).length, 1, 'the lease survives the restart');
});
