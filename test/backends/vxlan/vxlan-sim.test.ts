import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendContext } from '../../../src/backends/backend.js';
import { hasHostRoute } from '../../../src/backends/vxlan/overlay-network.js';
import { VxlanBackend } from '../../../src/backends/vxlan/vxlan-backend.js';
import type { NetConfig } from '../../../src/config/net-config.js';
import { HCN_E } from '../../../src/hns/client.js';
import type { Lease, LeaseRequest, SubnetManager } from '../../../src/lease/types.js';
import { silentLogger } from '../../../src/log.js';
import { parseIp4Net } from '../../../src/net/ip.js';
import { openSimHost, type SimHost } from '../../../src/sim/sim-host.js';

const netConfig = { network: parseIp4Net('10.244.0.0/16'), backendType: 'vxlan', backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } } as unknown as NetConfig;

/** A store that hands out `subnet` and records every request (what would reach etcd or the node). */
function recordingStore(subnet: string): { manager: SubnetManager; requests: LeaseRequest[] } {
  const requests: LeaseRequest[] = [];
  const manager = {
    kind: 'local',
    async acquireLease(request: LeaseRequest): Promise<Lease> {
      requests.push(request);
      return { enableIpv4: true, enableIpv6: false, subnet: parseIp4Net(subnet), ipv6Subnet: undefined, attrs: request.attrs, expiration: undefined };
    },
  } as unknown as SubnetManager;
  return { manager, requests };
}

async function contextFor(sim: SimHost, subnetManager: SubnetManager): Promise<BackendContext> {
  const iface = (await sim.routes.listInterfaces()).find((i) => i.ipv4Addresses.includes('192.168.1.10'))!;
  return {
    hns: sim.hns,
    routes: sim.routes,
    subnetManager,
    netConfig,
    external: { iface, ifaceAddr: '192.168.1.10', extAddr: '192.168.1.10' },
    previous: {},
    log: silentLogger(),
    timings: { pollMs: 5, managementIpTimeoutMs: 200, interfaceTimeoutMs: 500 },
  };
}

async function tempHost(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vxlan-sim-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'host.json');
}

test('a HostRoute add that fails once is reported by inspect and added by repair, in place', async (t) => {
  const sim = await openSimHost({ stateFile: await tempHost(t), publicIp: '192.168.1.10' });
  t.teardown(() => sim.close());
  const signal = new AbortController().signal;
  // The create goes through; the next modify (the HostRoute add) fails once.
  sim.injectFault({ failNext: { count: 1, hresult: HCN_E.INVALID_POLICY_TYPE, operations: ['modifyNetwork'] } });
  const net = await new VxlanBackend(await contextFor(sim, recordingStore('10.244.4.0/24').manager)).register(signal);
  const id = net.describe()['networkId'] as string;
  t.false(hasHostRoute(await sim.hns.getNetwork(id)));

  const inspection = await net.inspect(signal);
  t.false(inspection.networkLost);
  t.deepEqual(inspection.problems, ['HNS network flannel.4096 has no HostRoute policy']);
  const repair = await net.repair(signal);
  t.deepEqual(repair, { recreated: false, leaseRequest: undefined, peersChanged: false, repaired: ['HostRoute policy'] });
  t.true(hasHostRoute(await sim.hns.getNetwork(id)));
  t.deepEqual((await net.inspect(signal)).problems, []);
});

test('a lost network is recreated on the physical adapter and asks for the new DR MAC to be published', async (t) => {
  const sim = await openSimHost({ stateFile: await tempHost(t), publicIp: '192.168.1.10' });
  t.teardown(() => sim.close());
  const signal = new AbortController().signal;
  const store = recordingStore('10.244.4.0/24');
  // Registered after a first network existed: the selected interface is the vSwitch's.
  const first = await new VxlanBackend(await contextFor(sim, store.manager)).register(signal);
  const ctx = await contextFor(sim, store.manager);
  t.is(ctx.external.iface.name, 'vEthernet (Ethernet)');
  const net = await new VxlanBackend(ctx).register(signal);
  const before = net.describe();
  t.is(before['networkId'], first.describe()['networkId'], 'a restart adopts');

  await sim.hns.deleteNetwork(before['networkId'] as string);
  t.true((await sim.routes.listInterfaces()).some((i) => i.name === 'Ethernet'), 'the physical adapter is back');
  const inspection = await net.inspect(signal);
  t.true(inspection.networkLost);
  const repair = await net.repair(signal);
  t.true(repair.recreated);
  const after = net.describe();
  t.not(after['networkId'], before['networkId']);
  t.not(after['vtepMac'], before['vtepMac']);
  const created = await sim.hns.getNetwork(after['networkId'] as string);
  t.deepEqual(created.Policies?.find((p) => p.Type === 'NetAdapterName')?.Settings, { NetworkAdapterName: 'Ethernet' });
  t.is(repair.leaseRequest?.attrs.backendData, `{"VNI":4096,"VtepMAC":"${after['vtepMac'] as string}"}`);
  t.is(net.leaseRequest, repair.leaseRequest!, 'a later re-acquisition publishes the new MAC too');
  t.deepEqual((await net.inspect(signal)).problems, []);
});
