import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendContext } from '../../../src/backends/backend.js';
import { HostGwBackend } from '../../../src/backends/host-gw/host-gw-backend.js';
import type { NetConfig } from '../../../src/config/net-config.js';
import type { Lease, LeaseRequest, SubnetManager } from '../../../src/lease/types.js';
import { silentLogger } from '../../../src/log.js';
import { parseIp4Net } from '../../../src/net/ip.js';
import { openSimHost } from '../../../src/sim/sim-host.js';

const netConfig = { network: parseIp4Net('10.244.0.0/16'), backendType: 'host-gw', backend: { Type: 'host-gw' } } as unknown as NetConfig;
const subnetManager = {
  kind: 'local',
  async acquireLease(request: LeaseRequest): Promise<Lease> {
    return { enableIpv4: true, enableIpv6: false, subnet: parseIp4Net('10.244.3.0/24'), ipv6Subnet: undefined, attrs: request.attrs, expiration: undefined };
  },
} as unknown as SubnetManager;

test('host-gw: a lost network and bridge endpoint are recreated and attached; peer routes follow the new interface', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hostgw-repair-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const sim = await openSimHost({ stateFile: join(dir, 'host.json'), publicIp: '192.168.1.10' });
  t.teardown(() => sim.close());
  const signal = new AbortController().signal;
  const iface = (await sim.routes.listInterfaces()).find((i) => i.ipv4Addresses.includes('192.168.1.10'))!;
  const ctx: BackendContext = {
    hns: sim.hns,
    routes: sim.routes,
    subnetManager,
    netConfig,
    external: { iface, ifaceAddr: '192.168.1.10', extAddr: '192.168.1.10' },
    previous: {},
    log: silentLogger(),
    timings: { pollMs: 5, managementIpTimeoutMs: 200, interfaceTimeoutMs: 500 },
  };
  const net = await new HostGwBackend(ctx).register(signal);
  const before = net.describe();
  t.deepEqual((await net.inspect(signal)).problems, []);

  await sim.hns.deleteNetwork(before['networkId'] as string);
  const inspection = await net.inspect(signal);
  t.true(inspection.networkLost);
  const repair = await net.repair(signal);
  t.true(repair.recreated);
  t.true(repair.peersChanged, 'the vSwitch adapter has a new index, so every route must move');
  const after = net.describe();
  t.not(after['networkId'], before['networkId']);
  t.not(after['interfaceIndex'], before['interfaceIndex']);
  const network = await sim.hns.getNetwork(after['networkId'] as string);
  t.deepEqual(network.Policies?.find((p) => p.Type === 'NetAdapterName')?.Settings, { NetworkAdapterName: 'Ethernet' });
  const [endpoint] = await sim.hns.listEndpoints({ name: 'cbr0_ep' });
  t.is(endpoint?.HostComputeNetwork, after['networkId'] as string);
  t.true((await sim.routes.listInterfaces()).some((i) => i.up && i.ipv4Addresses.includes('10.244.3.2')), 'the bridge endpoint is attached again');
  const decision = net.decide({ enableIpv4: true, enableIpv6: false, subnet: parseIp4Net('10.244.2.0/24'), ipv6Subnet: undefined, attrs: { publicIp: '192.168.1.12', publicIpv6: null, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined }, expiration: undefined });
  t.is(decision.kind === 'route' ? (decision.spec as { interfaceIndex: number }).interfaceIndex : undefined, after['interfaceIndex'] as number);
  t.deepEqual((await net.inspect(signal)).problems, []);
});
