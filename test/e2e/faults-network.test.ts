import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredNetwork } from '../../src/sim/hns-model.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { remoteSubnetRoutes } from '../../src/sim/state-view.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { isReady, kubeSimNode, simDaemonArgs, SimHostFile, startReady } from '../support/e2e-host.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { linuxVxlanAnnotations, PREFIX as ANNOTATION } from '../support/kube-fixtures.js';
import { waitFor } from '../support/wait.js';

/**
 * The node's HNS network on its unhappy paths: HNS losing it (a service restart drops every
 * non-persistent network and the vSwitch with it), a subnet move across a restart, a policy
 * set up with the network going missing. Each scenario runs the daemon as a child process on
 * the simulated host with a short resync interval. Serial: four daemons at once would only
 * compete for the CPU with the rest of the suite.
 */

const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';
const NETWORK_NAME = 'flannel.4096';
const NODE_IP = '192.168.1.10';
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
});

test.after.always(async () => {
  client?.close();
  await etcd?.stop();
});

const normalMac = (mac: string) => mac.toLowerCase().replaceAll('-', ':');
const ourNetwork = (s: SimStateDocument): StoredNetwork | undefined => s.networks.find((n) => n.Name === NETWORK_NAME);
const policy = (n: StoredNetwork, type: string) => (n.Policies ?? []).find((p) => p.Type === type)?.Settings as Record<string, unknown> | undefined;
const drMacOf = (n: StoredNetwork) => normalMac(String(policy(n, 'DrMacAddress')?.['Address']));

/** An etcd prefix of its own per test, with the config and three Linux peers. */
async function seedEtcd(prefix: string): Promise<void> {
  await client.put(`${prefix}/config`).value(NET_CONF);
  const lease = client.lease(86_400, { autoKeepAlive: false });
  for (const peer of LINUX_PEERS) await lease.put(`${prefix}/subnets/${peer.key}`).value(peer.value);
}

async function ownEtcdLease(prefix: string): Promise<[string, string]> {
  const leases = await client.getAll().prefix(`${prefix}/subnets/`).strings();
  const own = Object.entries(leases).find(([, v]) => v.includes(`"${NODE_IP}"`));
  if (!own) throw new Error(`no lease for ${NODE_IP} under ${prefix}`);
  return own;
}

async function setUp(t: { teardown(fn: () => unknown): void }, prefix: string) {
  await seedEtcd(prefix);
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-e2e-faults-'));
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = [`--etcd-endpoints=${etcd.endpoint}`, `--etcd-prefix=${prefix}`, ...simDaemonArgs(host, dir, port), '--resync-interval=1'];
  const daemon = await startReady(args, port);
  t.teardown(() => daemon.stop());
  const state = await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 3, 'three routes');
  return { dir, port, host, args, daemon, network: ourNetwork(state)! };
}

/** What an HNS restart leaves: no network, no endpoint, and the vSwitch's adapter back as the physical NIC. */
function wipeNetworks(s: SimStateDocument, options: { keepAdapter: boolean }): void {
  s.networks = [];
  s.endpoints = [];
  const nextIndex = Math.max(...s.interfaces.map((i) => i.index)) + 1;
  s.interfaces = s.interfaces.flatMap((i) => {
    if (!i.ipv4Addresses.includes(NODE_IP)) return [i];
    if (!options.keepAdapter) return [];
    const { vSwitchFor, ...rest } = i;
    return [{ ...rest, name: vSwitchFor ?? i.name, index: nextIndex }];
  });
}

async function statusOf(port: number): Promise<{ network: { present: boolean; recreations: number; repairs: number }; controllers: Record<string, { converged: boolean }> }> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as never;
}

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The daemon's own log says readiness turned false for the lost network, then came back. */
function readinessDippedAndReturned(daemon: DaemonProcess): boolean {
  const lost = daemon.logs.findIndex((l) => l.msg.startsWith('HNS network lost'));
  const notReady = daemon.logs.findIndex((l, i) => i > lost && l.msg.startsWith('not ready'));
  const readyAgain = daemon.logs.findIndex((l, i) => i > notReady && l.msg.endsWith('; ready'));
  return lost >= 0 && notReady > lost && readyAgain > notReady;
}

test.serial('etcd: a network HNS lost is recreated on the physical adapter, /readyz is false meanwhile, routes and the new VtepMAC return', async (t) => {
  const prefix = '/faults-wipe/network';
  const { port, host, daemon, network: before } = await setUp(t, prefix);
  const [ownKey, valueBefore] = await ownEtcdLease(prefix);
  t.true(valueBefore.includes(drMacOf(before)));

  // HNS restarts while the NIC is still coming back: nothing can be created until it is there.
  await host.edit((s) => wipeNetworks(s, { keepAdapter: false }));
  await waitFor(async () => !(await isReady(port)), { timeoutMs: 20_000, what: '/readyz to answer 503 while the network is gone' });
  await daemon.waitForLog((l) => l.msg.startsWith('HNS network lost'), 'the lost network logged');
  await daemon.waitForLog((l) => l.msg === 'recreate the HNS network failed; retrying', 'a failed recreation attempt (no adapter yet)');
  t.false(await isReady(port), 'still not ready while the network cannot be created');
  t.false((await statusOf(port)).network.present);
  t.regex(await metricsText(port), /^flannel_win_network_present 0$/m);

  // The NIC is back under its physical name, with a new index, as Windows brings it back.
  await host.edit((s) => {
    const nextIndex = Math.max(0, ...s.interfaces.map((i) => i.index)) + 1;
    s.interfaces.push({ index: nextIndex, name: 'Ethernet', ipv4Addresses: [NODE_IP], ipv6Addresses: [], mtu: 1500, up: true, luid: String(nextIndex), external: true, forwarding: { ipv4: false, ipv6: false } });
  });
  const after = ourNetwork(await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 3, 'the network recreated with its three routes', 30_000))!;
  t.not(after.ID, before.ID);
  t.is(policy(after, 'NetAdapterName')?.['NetworkAdapterName'], 'Ethernet', 'created on the physical adapter');
  t.truthy(policy(after, 'HostRoute'), 'the HostRoute policy is back too');
  t.not(drMacOf(after), drMacOf(before), 'a new network has a new DR MAC');
  t.deepEqual(
    (await host.remoteRoutes(NETWORK_NAME)).map((r) => [r.DestinationPrefix, r.ProviderAddress, normalMac(r.DistributedRouterMacAddress)]),
    [
      ['10.244.1.0/24', '192.168.1.21', '52:a1:00:00:00:01'],
      ['10.244.2.0/24', '192.168.1.22', '52:a1:00:00:00:02'],
      ['10.244.3.0/24', '192.168.1.23', '52:a1:00:00:00:03'],
    ],
  );
  await waitFor(() => isReady(port), { timeoutMs: 20_000, what: '/readyz to return' });
  // Peers reach our pods through the VtepMAC in our lease: it must be the new DR MAC.
  const valueAfter = await waitFor(async () => {
    const value = (await client.get(ownKey).string()) ?? '';
    return value.includes(drMacOf(after)) ? value : undefined;
  }, { timeoutMs: 10_000, what: 'the new VtepMAC in etcd' });
  t.is(valueAfter, `{"PublicIP":"${NODE_IP}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"${drMacOf(after)}"}}`);
  const status = await statusOf(port);
  t.is(status.network.recreations, 1);
  t.true(status.network.present);
  t.true(status.controllers['peers']!.converged);
  const metrics = await metricsText(port);
  t.regex(metrics, /^flannel_win_network_repairs_total\{action="recreated"\} 1$/m);
  t.regex(metrics, /^flannel_win_controller_converged\{controller="peers"\} 1$/m);
  t.regex(metrics, /^flannel_win_dataplane_applies_total\{controller="peers",kind="remote-subnet-route",result="ok"\} \d+$/m);
  t.true(readinessDippedAndReturned(daemon));
  // The renewal keeps the new value: nothing restores the old MAC.
  t.false(daemon.logs.some((l) => l.msg.startsWith('OUR SUBNET LEASE WAS LOST')));
});

test.serial('kube: a network HNS lost is recreated and its new DR MAC is published in the backend-data annotation', async (t) => {
  const server = await KubeApiServer.start();
  t.teardown(() => server.close());
  server.addNode({ name: 'win-1', podCIDR: '10.244.5.0/24', labels: { 'kubernetes.io/os': 'windows' } });
  server.addNode({ name: 'linux-1', podCIDR: '10.244.1.0/24', annotations: linuxVxlanAnnotations('192.168.1.21', '52:a1:00:00:00:01') });
  server.addNode({ name: 'linux-2', podCIDR: '10.244.2.0/24', annotations: linuxVxlanAnnotations('192.168.1.22', '52:a1:00:00:00:02') });
  const node = await kubeSimNode(server.kubeconfigPath, 'e2e-faults-kube', NET_CONF);
  const { port, host } = node;
  const args = [...node.args, '--resync-interval=1'];
  const daemon = await startReady(args, port, { NODE_NAME: 'win-1' });
  t.teardown(() => daemon.stop());
  const before = ourNetwork(await host.until((s) => remoteSubnetRoutes(s, NETWORK_NAME).length === 2, 'two routes'))!;
  t.is(server.node('win-1')!.metadata.annotations![`${ANNOTATION}backend-data`], `{"VNI":4096,"VtepMAC":"${drMacOf(before)}"}`);

  await host.edit((s) => wipeNetworks(s, { keepAdapter: true }));
  // Poll readiness until it is seen false or the network is back; the daemon's log tells the
  // dip either way, so the check below cannot pass without the network having been lost.
  let sawNotReady = false;
  const after = await waitFor(async () => {
    if (!(await isReady(port))) sawNotReady = true;
    const s = await host.state();
    const n = ourNetwork(s);
    return n && n.ID !== before.ID && remoteSubnetRoutes(s, NETWORK_NAME).length === 2 ? n : undefined;
  }, { timeoutMs: 30_000, intervalMs: 5, what: 'the network recreated with its two routes' });
  await waitFor(() => isReady(port), { timeoutMs: 20_000, what: '/readyz to return' });
  t.true(readinessDippedAndReturned(daemon), `readiness went false and came back (polling saw 503: ${sawNotReady})`);
  t.not(drMacOf(after), drMacOf(before));
  t.is(policy(after, 'NetAdapterName')?.['NetworkAdapterName'], 'Ethernet');
  await waitFor(() => server.node('win-1')!.metadata.annotations![`${ANNOTATION}backend-data`] === `{"VNI":4096,"VtepMAC":"${drMacOf(after)}"}`, {
    timeoutMs: 10_000,
    what: 'the new VtepMAC in the backend-data annotation',
  });
  t.is((await statusOf(port)).network.recreations, 1);
});

test.serial('etcd: after a subnet move the restarted daemon recreates the vxlan network on the physical adapter', async (t) => {
  const prefix = '/faults-move/network';
  const { dir, port, host, args, daemon, network: before } = await setUp(t, prefix);
  const [ownKey] = await ownEtcdLease(prefix);
  const oldSubnet = ownKey.split('/').pop()!.replace('-', '/');
  t.is(before.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix, oldSubnet);
  t.is((await daemon.stop()).code, 0);

  // While we were down our lease expired and another node took the subnet.
  await client.delete().key(ownKey);
  await client.lease(86_400, { autoKeepAlive: false }).put(ownKey).value('{"PublicIP":"192.168.1.99","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:99"}}');
  t.is((await host.state()).interfaces.find((i) => i.ipv4Addresses.includes(NODE_IP))?.name, 'vEthernet (Ethernet)', 'the start-up choice is the vSwitch adapter');

  const again = await startReady(args, port);
  t.teardown(() => again.stop());
  const [newKey] = await ownEtcdLease(prefix);
  const newSubnet = newKey.split('/').pop()!.replace('-', '/');
  t.not(newSubnet, oldSubnet);
  // The node that took our old subnet is a peer now: four routes.
  const state = await host.until((s) => ourNetwork(s)?.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix === newSubnet && remoteSubnetRoutes(s, NETWORK_NAME).length === 4, 'the network on the new subnet with four routes');
  const after = ourNetwork(state)!;
  t.not(after.ID, before.ID);
  t.is(policy(after, 'NetAdapterName')?.['NetworkAdapterName'], 'Ethernet');
  t.is((after as { sim?: { adapter?: string } }).sim?.adapter, 'Ethernet');
  t.false(again.logs.some((l) => JSON.stringify(l).includes('no such network adapter')), 'HcnCreateNetwork was never given a vanished adapter');
  t.true((await host.remoteRoutes(NETWORK_NAME)).some((r) => r.DestinationPrefix === oldSubnet && r.ProviderAddress === '192.168.1.99'));
  t.is(await readFile(join(dir, 'subnet.env'), 'utf8'), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${newSubnet.replace('.0/24', '.1/24')}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
});

test.serial('etcd: a HostRoute policy that goes missing is added again at the next resync, nothing else is rewritten', async (t) => {
  const prefix = '/faults-hostroute/network';
  const { port, host, daemon, network: before } = await setUp(t, prefix);
  t.truthy(policy(before, 'HostRoute'));
  await host.edit((s) => {
    const n = ourNetwork(s)!;
    n.Policies = (n.Policies ?? []).filter((p) => p.Type !== 'HostRoute');
  });
  const writesBefore = await host.writes();
  const after = ourNetwork(await host.until((s) => policy(ourNetwork(s)!, 'HostRoute') !== undefined, 'the HostRoute policy back'))!;
  t.is(after.ID, before.ID, 'the network is repaired in place, not recreated');
  await daemon.waitForLog((l) => l.msg === 'HNS network objects repaired', 'the repair logged');
  t.true(daemon.logs.some((l) => l.msg.startsWith('HNS network objects missing') && JSON.stringify(l).includes('no HostRoute policy')));
  t.is((await host.writes()) - writesBefore, 1, 'one HNS write: the HostRoute policy');
  t.true(await isReady(port), 'a missing HostRoute does not take readiness away');
  const status = await statusOf(port);
  t.is(status.network.repairs, 1);
  t.is(status.network.recreations, 0);
});
