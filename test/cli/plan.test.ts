import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanResult } from '../../src/cli/plan-command.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { remoteSubnetRoutes } from '../../src/sim/state-view.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { SimHostFile, simDaemonArgs, startReady } from '../support/e2e-host.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';

const PREFIX = '/coreos.com/network';
const NETWORK = 'flannel.4096';
const peer = (n: number, ip: string) => `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:0${n}"}}`;

let etcd: EtcdServer;
let client: Etcd3;

test.before(async () => {
  etcd = await startEtcd();
  client = new Etcd3({ hosts: etcd.endpoint });
  // SubnetMin keeps our own (randomly allocated) lease clear of the peers the test writes later.
  await client.put(`${PREFIX}/config`).value('{"Network":"10.244.0.0/16","SubnetMin":"10.244.100.0","Backend":{"Type":"vxlan","VNI":4096}}');
  await client.put(`${PREFIX}/subnets/10.244.1.0-24`).value(peer(1, '192.168.1.21'));
  await client.put(`${PREFIX}/subnets/10.244.2.0-24`).value(peer(2, '192.168.1.22'));
});

test.after.always(async () => {
  client?.close();
  await etcd?.stop();
});

async function plan(args: readonly string[]): Promise<{ code: number | null; result: PlanResult; stderr: string }> {
  const run = DaemonProcess.start(['plan', '-o', 'json', ...args]);
  const { code } = await run.exited;
  const stderr = run.rawStderr.join('\n');
  if (code !== 0 && code !== 2) throw new Error(`plan exited ${code}: ${stderr}`);
  return { code, result: JSON.parse(run.stdout) as PlanResult, stderr };
}

/** The RemoteSubnetRoutes by prefix, with what identifies the peer. */
function routesOf(state: SimStateDocument): Map<string, string> {
  return new Map(remoteSubnetRoutes(state, NETWORK).map((r) => [r.DestinationPrefix, `${r.ProviderAddress} ${r.DistributedRouterMacAddress}`]));
}

async function etcdRevision(): Promise<string> {
  return (await client.getAll().prefix(PREFIX).exec()).header.revision;
}

test.serial('plan reports exactly the writes the daemon then makes, and makes none itself', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-plan-'));
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = [`--etcd-endpoints=${etcd.endpoint}`, ...simDaemonArgs(host, dir, port)];
  const first = await startReady(args, port);
  await host.until((s) => routesOf(s).size === 2, 'two routes');
  t.is((await first.stop()).code, 0);

  // Nothing changed since the daemon stopped: no writes, exit 0.
  const quiet = await plan(args);
  t.is(quiet.code, 0, quiet.stderr);
  t.deepEqual(quiet.result.writes, []);
  t.is(quiet.result.peers, 2);

  // The store changes while the daemon is down, and someone adds a route behind its back.
  await client.delete().key(`${PREFIX}/subnets/10.244.1.0-24`);
  await client.put(`${PREFIX}/subnets/10.244.2.0-24`).value(peer(2, '192.168.1.32'));
  await client.put(`${PREFIX}/subnets/10.244.4.0-24`).value(peer(4, '192.168.1.24'));
  await client.put(`${PREFIX}/subnets/10.244.5.0-24`).value('{"PublicIP":"192.168.1.25","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"nope"}}');
  await host.edit((s) => {
    const net = s.networks.find((n) => n.Name === NETWORK)!;
    const intruder = { DestinationPrefix: '10.244.50.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.99', DistributedRouterMacAddress: '52-a1-00-00-00-99' };
    net.Policies = [...(net.Policies ?? []), { Type: 'RemoteSubnetRoute', Settings: intruder }];
  });
  const before = await host.state();
  const fileBefore = await readFile(host.path, 'utf8');
  const revisionBefore = await etcdRevision();

  const planned = await plan(args);
  t.is(planned.code, 2, planned.stderr);
  t.deepEqual(
    planned.result.writes.map((w) => [w.op, w.kind, w.key]),
    [
      ['delete', 'remote-subnet-route', '10.244.1.0/24'],
      ['delete', 'remote-subnet-route', '10.244.50.0/24'],
      ['replace', 'remote-subnet-route', '10.244.2.0/24'],
      ['create', 'remote-subnet-route', '10.244.4.0/24'],
    ],
  );
  const replace = planned.result.writes.find((w) => w.op === 'replace')!;
  t.true(replace.fields.some((f) => f.includes('"192.168.1.22" -> "192.168.1.32"')), replace.fields.join('\n'));
  t.deepEqual(planned.result.unusablePeers.map((p) => p.subnet), ['10.244.5.0/24']);
  // The dry run wrote nothing: the simulated host's file is byte for byte the same (no call
  // was even counted) and etcd's revision did not move (no lease acquired or renewed).
  t.is(await readFile(host.path, 'utf8'), fileBefore);
  t.is(await etcdRevision(), revisionBefore);

  // The daemon then makes exactly those writes.
  const second = await startReady(args, port);
  t.teardown(() => second.stop());
  await host.until((s) => routesOf(s).size === 2 && !routesOf(s).has('10.244.1.0/24') && routesOf(s).get('10.244.2.0/24')?.startsWith('192.168.1.32') === true, 'the daemon to apply the changes').catch(async (err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify([...routesOf(await host.state())])}\n${second.rawStderr.slice(-15).join('\n')}`);
  });
  t.is((await second.stop()).code, 0);
  const after = await host.state();
  const was = routesOf(before);
  const now = routesOf(after);
  const made: string[][] = [];
  for (const key of was.keys()) if (!now.has(key)) made.push(['delete', key]);
  for (const [key, value] of now) if (was.has(key) && was.get(key) !== value) made.push(['replace', key]);
  for (const key of now.keys()) if (!was.has(key)) made.push(['create', key]);
  t.deepEqual(made.sort(), planned.result.writes.map((w) => [w.op, w.key]).sort());
  // Only route policies were written: no network, endpoint or host route call.
  const delta = (op: string) => (after.counters[op] ?? 0) - (before.counters[op] ?? 0);
  t.true(delta('modifyNetwork') >= 1);
  t.is(delta('writes'), delta('modifyNetwork'), JSON.stringify(after.counters));

  // And once applied, the plan is empty again.
  const settled = await plan(args);
  t.is(settled.code, 0, settled.stderr);
  t.deepEqual(settled.result.writes, []);
});

test.serial('plan on a host the daemon never set up: the network, the lease and subnet.env are planned creates', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-plan-'));
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = [`--etcd-endpoints=${etcd.endpoint}`, ...simDaemonArgs(host, dir, await freePort())];
  const noHost = DaemonProcess.start(['plan', ...args]);
  t.is((await noHost.exited).code, 1, 'no simulated host at all is an error');
  t.regex(noHost.rawStderr.join('\n'), /no simulated host at .*host\.json/);

  // A fresh simulated Windows host: interfaces and routes, no HNS network yet.
  await (await openSimHost({ stateFile: host.path })).close();
  const revisionBefore = await etcdRevision();
  const fresh = await plan(args);
  t.is(fresh.code, 2, fresh.stderr);
  t.deepEqual(
    fresh.result.writes.filter((w) => w.kind !== 'remote-subnet-route').map((w) => [w.op, w.kind]),
    [
      ['create', 'lease'],
      ['create', 'network'],
      ['create', 'file'],
    ],
  );
  t.true(fresh.result.writes.filter((w) => w.kind === 'remote-subnet-route').every((w) => w.op === 'create'));
  t.is((await host.state()).networks.length, 0, 'no network was created');
  t.is(await etcdRevision(), revisionBefore, 'no lease was acquired');
});

test.serial('host-gw: plan lists the host routes the daemon then adds and removes, and nothing once applied', async (t) => {
  const prefix = '/hostgw/network';
  await client.put(`${prefix}/config`).value('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}');
  const hostGwPeer = (ip: string) => `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"host-gw"}`;
  await client.put(`${prefix}/subnets/10.244.1.0-24`).value(hostGwPeer('192.168.1.21'));
  await client.put(`${prefix}/subnets/10.244.2.0-24`).value(hostGwPeer('192.168.1.22'));
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-plan-hostgw-'));
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = [`--etcd-endpoints=${etcd.endpoint}`, `--etcd-prefix=${prefix}`, ...simDaemonArgs(host, dir, port)];
  const clusterRoutes = async () => new Map((await host.clusterRoutes()).map((r) => [r.destination, r.nextHop]));
  const first = await startReady(args, port);
  await host.until((s) => s.routes.filter((r) => r.destination.startsWith('10.244.1.') || r.destination.startsWith('10.244.2.')).length === 2, 'two host routes');
  t.is((await first.stop()).code, 0);
  const quiet = await plan(args);
  t.is(quiet.code, 0, JSON.stringify(quiet.result.writes));

  await client.delete().key(`${prefix}/subnets/10.244.1.0-24`);
  await client.put(`${prefix}/subnets/10.244.3.0-24`).value(hostGwPeer('192.168.1.23'));
  const before = await clusterRoutes();
  const fileBefore = await readFile(host.path, 'utf8');
  const planned = await plan(args);
  t.is(planned.code, 2);
  t.deepEqual(planned.result.writes.map((w) => [w.op, w.kind, w.key]), [
    ['delete', 'host-route', '10.244.1.0/24'],
    ['create', 'host-route', '10.244.3.0/24'],
  ]);
  t.true(planned.result.writes[1]!.fields.some((f) => f.includes('"192.168.1.23"')), planned.result.writes[1]!.fields.join('\n'));
  t.is(await readFile(host.path, 'utf8'), fileBefore, 'plan left the host as it was');

  const second = await startReady(args, port);
  t.teardown(() => second.stop());
  await host.until((s) => s.routes.some((r) => r.destination === '10.244.3.0/24') && !s.routes.some((r) => r.destination === '10.244.1.0/24'), 'the daemon to apply the plan');
  t.is((await second.stop()).code, 0);
  const after = await clusterRoutes();
  const made = [...[...before.keys()].filter((k) => !after.has(k)).map((k) => ['delete', k]), ...[...after.keys()].filter((k) => !before.has(k)).map((k) => ['create', k])];
  t.deepEqual(made, planned.result.writes.map((w) => [w.op, w.key]));
  t.is((await plan(args)).code, 0);
});
