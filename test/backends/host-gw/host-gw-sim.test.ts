import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendContext } from '../../../src/backends/backend.js';
import { HostGwBackend } from '../../../src/backends/host-gw/host-gw-backend.js';
import type { NetConfig } from '../../../src/config/net-config.js';
import type { Lease, LeaseRequest, SubnetManager } from '../../../src/lease/types.js';
import { silentLogger } from '../../../src/log.js';
import { parseIp4Net } from '../../../src/net/ip.js';
import { openSimHost, type SimHost } from '../../../src/sim/sim-host.js';

const netConfig = { network: parseIp4Net('10.244.0.0/16'), backendType: 'host-gw', backend: { Type: 'host-gw' } } as unknown as NetConfig;

const subnetManager = {
  kind: 'local',
  async acquireLease(request: LeaseRequest): Promise<Lease> {
    return { enableIpv4: true, enableIpv6: false, subnet: parseIp4Net('10.244.3.0/24'), ipv6Subnet: undefined, attrs: request.attrs, expiration: undefined };
  },
} as unknown as SubnetManager;

async function contextFor(sim: SimHost): Promise<BackendContext> {
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

test('on the simulated host: bridge network, attached cbr0_ep, forwarding, routes, and a restart that rebuilds nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hostgw-sim-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stateFile = join(dir, 'host.json');
  const signal = new AbortController().signal;

  const sim = await openSimHost({ stateFile, publicIp: '192.168.1.10' });
  const net = await new HostGwBackend(await contextFor(sim)).register(signal);
  const network = await sim.hns.getNetworkByName('cbr0');
  t.is(network?.Type, 'L2Bridge');
  t.is(network?.Ipams?.[0]?.Subnets[0]?.IpAddressPrefix, '10.244.3.0/24');
  const [endpoint] = await sim.hns.listEndpoints({ name: 'cbr0_ep' });
  t.is(endpoint?.IpConfigurations?.[0]?.IpAddress, '10.244.3.2');

  const spec = { destination: '10.244.2.0/24', nextHop: '192.168.1.12', interfaceIndex: net.describe()['interfaceIndex'] as number };
  const peer: Lease = {
    enableIpv4: true, enableIpv6: false, subnet: parseIp4Net('10.244.2.0/24'), ipv6Subnet: undefined, expiration: undefined,
    attrs: { publicIp: '192.168.1.12', publicIpv6: null, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined },
  };
  t.deepEqual(net.decide(peer), { kind: 'route', key: '10.244.2.0/24', spec });
  await net.kind.apply([{ op: 'create', key: spec.destination, desired: spec }], signal);
  t.deepEqual([...(await net.kind.listActual(signal)).keys()], ['10.244.2.0/24']);
  await sim.close();

  const state = JSON.parse(await readFile(stateFile, 'utf8')) as { interfaces: { name: string; index: number; forwarding: { ipv4: boolean } }[] };
  const forwarding = Object.fromEntries(state.interfaces.map((i) => [i.name, i.forwarding.ipv4]));
  t.deepEqual(forwarding, { 'vEthernet (Ethernet)': true, 'vEthernet (cbr0_ep)': true });

  // Restart: the network, the endpoint and the route are all adopted.
  const again = await openSimHost({ stateFile });
  t.teardown(() => again.close());
  const before = again.counters();
  const net2 = await new HostGwBackend(await contextFor(again)).register(signal);
  const after = again.counters();
  t.is(after['createNetwork'], before['createNetwork']);
  t.is(after['deleteNetwork'], before['deleteNetwork']);
  t.is(after['createEndpoint'], before['createEndpoint']);
  t.is(after['deleteEndpoint'], before['deleteEndpoint']);
  const actual = (await net2.kind.listActual(signal)).get('10.244.2.0/24');
  t.true(actual !== undefined && net2.kind.matches(spec, actual));
});
