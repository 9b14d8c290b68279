import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteSubnetRoutes } from '../../src/sim/state-view.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { kubeSimNode, simDaemonArgs, SimHostFile, startReady } from '../support/e2e-host.js';
import { startEtcd } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { linuxVxlanAnnotations } from '../support/kube-fixtures.js';
import { waitFor } from '../support/wait.js';

const PREFIX = '/coreos.com/network';
const NETWORK_NAME = 'flannel.4096';
// SubnetMin keeps the daemon's own (randomly allocated) lease clear of the leases the test
// writes: one landing on 10.244.12.0/24 turned the /25 junk into "overlaps our own subnet".
const NET_CONF = '{"Network":"10.244.0.0/16","SubnetMin":"10.244.100.0","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';

function vxlanLease(publicIp: string, mac: string, backendType = 'vxlan'): string {
  return `{"PublicIP":"${publicIp}","PublicIPv6":null,"BackendType":"${backendType}","BackendData":{"VNI":4096,"VtepMAC":"${mac}"}}`;
}

interface Status {
  unusablePeers: { code: string; lease: string }[];
  controllers: { peers?: { reconciler?: { lastResyncAt?: string } } };
}

async function status(port: number): Promise<Status> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as Status;
}

/** Waits for `n` more periodic resyncs than the daemon had done when called. */
async function resyncs(port: number, n: number): Promise<void> {
  const seen = new Set<string>();
  const first = (await status(port)).controllers.peers?.reconciler?.lastResyncAt;
  if (first) seen.add(first);
  await waitFor(async () => {
    const at = (await status(port)).controllers.peers?.reconciler?.lastResyncAt;
    if (at) seen.add(at);
    return seen.size > n;
  }, { what: `${n} resyncs`, timeoutMs: 30_000 });
}

function warningsAbout(daemon: DaemonProcess, text: string): number {
  return daemon.logs.filter((l) => l.level === 40 && String(l['peer'] ?? '').includes(text)).length;
}

const LINE_BOUND = 4096;

test('etcd: junk leases are skipped with one warning each, the valid routes survive them, new nodes still get a subnet, log lines stay short', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const client = new Etcd3({ hosts: etcd.endpoint });
  t.teardown(() => client.close());
  await client.put(`${PREFIX}/config`).value(NET_CONF);
  const key = (name: string) => `${PREFIX}/subnets/${name}`;
  await client.put(key('10.244.2.0-24')).value(vxlanLease('192.168.1.22', '52:a1:00:00:00:02'));
  await client.put(key('10.244.7.0-24')).value(vxlanLease('192.168.1.27', '52:a1:00:00:00:07'));
  // Junk present before start: each one covers the whole Network, so a new node counting them
  // as taken would find no free subnet.
  await client.put(key('0.0.0.0-0')).value(vxlanLease('192.168.1.90', '52:a1:00:00:00:90'));
  await client.put(key('10.244.0.0-16')).value(vxlanLease('192.168.1.91', '52:a1:00:00:00:91'));

  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-e2e-junk-'));
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const daemon = await startReady([`--etcd-endpoints=${etcd.endpoint}`, ...simDaemonArgs(host, dir, port), '--resync-interval=1'], port);
  t.teardown(() => daemon.stop());
  t.truthy(daemon.logs.find((l) => l.msg === 'acquired subnet lease'), 'a subnet was allocated despite the covering keys');
  t.truthy(daemon.logs.find((l) => l.level === 40 && JSON.stringify(l).includes('0.0.0.0-0') && /allocat/.test(l.msg)), 'the allocator names the key it ignored');

  // Junk arriving while running.
  await client.put(key('10.244.7.5-24')).value(vxlanLease('192.168.1.99', '52:a1:00:00:00:99'));
  await client.put(key('10.245.1.0-24')).value(vxlanLease('192.168.1.92', '52:a1:00:00:00:92'));
  await client.put(key('10.244.12.0-25')).value(vxlanLease('192.168.1.93', '52:a1:00:00:00:93'));
  await client.put(key('10.244.8.0-24')).value(vxlanLease('192.168.1.10', '52:a1:00:00:00:94'));
  await client.put(key('10.244.11.0-24')).value(vxlanLease('192.168.1.95', '52:a1:00:00:00:95', 'host-gw'));
  // A 1 MiB value: a backend type nobody runs, and a MAC that is not one.
  const huge = 'x'.repeat(1 << 20);
  await client.put(key('10.244.13.0-24')).value(vxlanLease('192.168.1.96', '52:a1:00:00:00:96', huge));
  await client.put(key('10.244.14.0-24')).value(vxlanLease('192.168.1.97', huge));

  const expected = ['0.0.0.0/0', '10.244.0.0/16', '10.244.7.5/24', '10.245.1.0/24', '10.244.12.0/25', '10.244.8.0/24', '10.244.11.0/24', '10.244.13.0/24', '10.244.14.0/24'];
  await waitFor(async () => (await status(port)).unusablePeers.length === expected.length, { what: 'every junk lease listed in /status', timeoutMs: 30_000 });
  const listed = (await status(port)).unusablePeers;
  t.deepEqual(listed.map((u) => u.lease.split(' ')[0]).sort(), [...expected].sort());
  t.deepEqual(
    Object.fromEntries(listed.map((u) => [u.lease.split(' ')[0], u.code])),
    {
      '0.0.0.0/0': 'SUBNET_COVERS_NETWORK',
      '10.244.0.0/16': 'SUBNET_COVERS_NETWORK',
      '10.244.7.5/24': 'SUBNET_NOT_MASKED',
      '10.245.1.0/24': 'SUBNET_OUTSIDE_NETWORK',
      '10.244.12.0/25': 'SUBNET_WRONG_LENGTH',
      '10.244.8.0/24': 'PUBLIC_IP_IS_OURS',
      '10.244.11.0/24': 'BACKEND_MISMATCH',
      '10.244.13.0/24': 'BACKEND_MISMATCH',
      '10.244.14.0/24': 'BAD_BACKEND_DATA',
    },
  );
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.regex(metrics, new RegExp(`^flannel_win_unusable_peers ${expected.length}$`, 'm'));

  // The hijack attempt: the junk key neither repoints the valid route nor removes it.
  const routes = async () => (await host.remoteRoutes(NETWORK_NAME)).map((r) => `${r.DestinationPrefix} ${r.ProviderAddress}`);
  t.deepEqual(await routes(), ['10.244.2.0/24 192.168.1.22', '10.244.7.0/24 192.168.1.27']);
  await client.delete().key(key('10.244.7.5-24'));
  await waitFor(async () => !(await status(port)).unusablePeers.some((u) => u.lease.startsWith('10.244.7.5/24')), { what: 'the junk key to be forgotten', timeoutMs: 30_000 });
  await resyncs(port, 2);
  t.deepEqual(await routes(), ['10.244.2.0/24 192.168.1.22', '10.244.7.0/24 192.168.1.27'], 'the valid route survives the junk key and two resyncs');

  // One warning per junk lease, not per event or resync.
  for (const subnet of expected) t.is(warningsAbout(daemon, `${subnet} (`), 1, `one warning for ${subnet}`);
  // No log line anywhere near the 1 MiB values.
  const longest = Math.max(...daemon.rawStderr.map((l) => l.length));
  t.true(longest < LINE_BOUND, `the longest log line is ${longest} characters`);
});

test('kube: a node with podCIDR 10.244.9.5/24 does not take over the valid node holding 10.244.9.0/24', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24' });
  server.addNode({ name: 'linux-9', podCIDR: '10.244.9.0/24', annotations: linuxVxlanAnnotations('192.168.1.29', '52:a1:00:00:00:09') });
  const { port, host, args } = await kubeSimNode(server.kubeconfigPath, 'e2e-junk-kube', NET_CONF);
  const daemon = await startReady([...args, '--resync-interval=1'], port, { NODE_NAME: 'win-1' });
  t.teardown(() => daemon.stop());
  await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 1, 'the valid peer');

  server.addNode({ name: 'junk-9', podCIDR: '10.244.9.5/24', annotations: linuxVxlanAnnotations('192.168.1.99', '52:a1:00:00:00:99') });
  server.addNode({ name: 'junk-all', podCIDR: '0.0.0.0/0', annotations: linuxVxlanAnnotations('192.168.1.98', '52:a1:00:00:00:98') });
  await waitFor(async () => (await status(port)).unusablePeers.length === 2, { what: 'both junk nodes listed', timeoutMs: 30_000 });
  const codes = Object.fromEntries((await status(port)).unusablePeers.map((u) => [u.lease.split(', ')[0]!.split('(')[1], u.code]));
  t.deepEqual(codes, { 'junk-9': 'SUBNET_OVERLAPS_PEER', 'junk-all': 'SUBNET_COVERS_NETWORK' });
  // The junk node changing does not help it either.
  server.updateNode('junk-9', (node) => {
    node.metadata.annotations!['flannel.alpha.coreos.com/backend-data'] = '{"VNI":4096,"VtepMAC":"52:a1:00:00:00:aa"}';
  });
  await resyncs(port, 1);
  server.deleteNode('junk-9');
  await waitFor(async () => (await status(port)).unusablePeers.length === 1, { what: 'the junk node to be forgotten', timeoutMs: 30_000 });
  await resyncs(port, 2);
  t.deepEqual((await host.remoteRoutes(NETWORK_NAME)).map((r) => `${r.DestinationPrefix} ${r.ProviderAddress}`), ['10.244.9.0/24 192.168.1.29']);
  t.is(warningsAbout(daemon, 'junk-9'), 1, 'warned once about the junk node');
  t.is(warningsAbout(daemon, 'junk-all'), 1);
});
