import test from 'ava';
import type { BackendContext } from '../../../src/backends/backend.js';
import { HostGwBackend } from '../../../src/backends/host-gw/host-gw-backend.js';
import { physicalAdapterName } from '../../../src/backends/physical-adapter.js';
import { buildBridgeEndpoint, buildL2BridgeNetwork } from '../../../src/backends/host-gw/l2bridge-network.js';
import type { NetConfig } from '../../../src/config/net-config.js';
import { FlannelWinError } from '../../../src/errors.js';
import { encodeLeaseAttrs } from '../../../src/lease/lease-json.js';
import type { Lease, LeaseRequest, SubnetManager } from '../../../src/lease/types.js';
import { silentLogger } from '../../../src/log.js';
import { formatIp4Net, parseIp4Net } from '../../../src/net/ip.js';
import { FakeHns } from './fake-hns.js';
import { FakeRouteTable, netInterface, route } from './fake-route-table.js';

const SUBNET = '10.244.3.0/24';

function netConfig(backend: Record<string, unknown> = { Type: 'host-gw' }): NetConfig {
  return {
    enableIpv4: true,
    enableIpv6: false,
    enableNftables: false,
    network: parseIp4Net('10.244.0.0/16'),
    ipv6Network: undefined,
    subnetLen: 24,
    subnetMin: undefined,
    subnetMax: undefined,
    ipv6SubnetLen: 0,
    ipv6SubnetMin: undefined,
    ipv6SubnetMax: undefined,
    backendType: 'host-gw',
    backend,
  };
}

class FakeSubnetManager implements Partial<SubnetManager> {
  readonly requests: LeaseRequest[] = [];
  readonly kind = 'local' as const;
  async acquireLease(request: LeaseRequest): Promise<Lease> {
    this.requests.push(structuredClone(request));
    return { enableIpv4: true, enableIpv6: false, subnet: parseIp4Net(SUBNET), ipv6Subnet: undefined, attrs: request.attrs, expiration: undefined };
  }
}

interface Host {
  table: FakeRouteTable;
  hns: FakeHns;
  sm: FakeSubnetManager;
  ctx: BackendContext;
}

/** A node whose uplink "Ethernet" (index 4, 10.0.0.5/24, MTU 1450) is the selected interface. */
function host(options: { ifaceName?: string; extAddr?: string; backend?: Record<string, unknown> } = {}): Host {
  const uplink = netInterface(4, options.ifaceName ?? 'Ethernet', '10.0.0.5', 1450);
  const table = new FakeRouteTable({
    interfaces: [uplink],
    routes: [route('0.0.0.0/0', '10.0.0.1', 4), route('10.0.0.0/24', '0.0.0.0', 4), route('10.0.0.5/32', '0.0.0.0', 4)],
  });
  const hns = new FakeHns(table);
  const sm = new FakeSubnetManager();
  const ctx: BackendContext = {
    hns,
    routes: table,
    subnetManager: sm as unknown as SubnetManager,
    netConfig: netConfig(options.backend),
    external: { iface: uplink, ifaceAddr: '10.0.0.5', extAddr: options.extAddr ?? '10.0.0.5' },
    previous: {},
    log: silentLogger(),
    timings: { pollMs: 1, managementIpTimeoutMs: 50, interfaceTimeoutMs: 200 },
  };
  return { table, hns, sm, ctx };
}

const signal = new AbortController().signal;

test('fresh host: creates the L2Bridge network and cbr0_ep, attaches it and enables forwarding on both sides', async (t) => {
  const { table, hns, sm, ctx } = host();
  const net = await new HostGwBackend(ctx).register(signal);

  t.deepEqual(hns.calls, ['createNetwork cbr0', 'createEndpoint cbr0_ep', 'attach ep-2']);
  const network = [...hns.networks.values()][0]!;
  t.deepEqual({ ...network, ID: undefined }, { ...buildL2BridgeNetwork({ name: 'cbr0', subnet: parseIp4Net(SUBNET), adapterName: 'Ethernet' }), ID: undefined });
  const endpoint = [...hns.endpoints.values()][0]!;
  t.is(endpoint.Name, 'cbr0_ep');
  t.is(endpoint.IpConfigurations?.[0]?.IpAddress, '10.244.3.2');
  t.true(hns.attached.has(endpoint.ID!));

  // The uplink became "vEthernet (Ethernet)" with a new index; routes and forwarding use it.
  const vEthernet = table.interfaces.find((i) => i.name === 'vEthernet (Ethernet)')!;
  const epIface = table.interfaces.find((i) => i.ipv4Addresses.includes('10.244.3.2'))!;
  t.not(vEthernet.index, 4);
  t.deepEqual([...table.forwarding].sort(), [[vEthernet.index, true], [epIface.index, true]].sort());

  // The lease: host-gw, no BackendData (flannel's value has no BackendData key).
  t.is(sm.requests.length, 1);
  t.is(encodeLeaseAttrs(sm.requests[0]!.attrs), '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"host-gw"}');
  t.is(net.backendType, 'host-gw');
  t.is(formatIp4Net(net.lease.subnet!), SUBNET);
  t.is(formatIp4Net(net.leaseRequest.previousSubnet!), SUBNET);
  t.is(net.mtu, 1450);
  t.like(net.describe(), { network: 'cbr0', endpoint: 'cbr0_ep', endpointIp: '10.244.3.2', interfaceIndex: vEthernet.index, segments: ['10.0.0.0/24'] });

  // Peers: routed on the vEthernet interface; the segment came from the on-link route.
  const peer = (publicIp: string, nodeName?: string): Lease => ({
    enableIpv4: true, enableIpv6: false, subnet: parseIp4Net('10.244.2.0/24'), ipv6Subnet: undefined, expiration: undefined, nodeName,
    attrs: { publicIp, publicIpv6: null, backendType: 'host-gw', backendData: undefined, backendV6Data: undefined },
  });
  const decision = net.decide(peer('10.0.0.12'));
  t.deepEqual(decision, { kind: 'route', key: '10.244.2.0/24', spec: { destination: '10.244.2.0/24', nextHop: '10.0.0.12', interfaceIndex: vEthernet.index } });
  t.like(net.decide(peer('10.9.0.12', 'far-node')), { kind: 'unusable', code: 'PEER_NOT_ON_SEGMENT' });

  // And the kind programs what decide asked for.
  if (decision.kind !== 'route') return;
  await net.kind.apply([{ op: 'create', key: decision.key, desired: decision.spec }], signal);
  t.true(table.routes.some((r) => r.destination === '10.244.2.0/24' && r.nextHop === '10.0.0.12' && r.interfaceIndex === vEthernet.index));
  t.deepEqual([...(await net.kind.listActual(signal)).keys()], ['10.244.2.0/24']);
});

test('restart: a matching network and attached endpoint are adopted with no HNS writes at all', async (t) => {
  const { hns, ctx } = host();
  await new HostGwBackend(ctx).register(signal);
  const networkId = [...hns.networks.keys()][0];
  hns.calls.length = 0;

  // The daemon restarts and now finds the vEthernet adapter as its interface.
  const vEthernet = (await ctx.routes.listInterfaces()).find((i) => i.name === 'vEthernet (Ethernet)')!;
  const net = await new HostGwBackend({ ...ctx, external: { ...ctx.external, iface: vEthernet } }).register(signal);
  // The endpoint's host vNIC (holding .2) is up, so it is attached: no attach call either.
  t.deepEqual(hns.calls, []);
  t.deepEqual([...hns.networks.keys()], [networkId]);
  t.is(hns.endpoints.size, 1);
  t.like(net.describe(), { networkId, endpointId: 'ep-2', interfaceIndex: vEthernet.index });
});

test('a network with our name but another subnet is deleted and recreated on the physical adapter', async (t) => {
  const { table, hns, ctx } = host();
  // Left over from an earlier lease: cbr0 holding 10.244.9.0/24, so the uplink is a vEthernet.
  await hns.createNetwork(buildL2BridgeNetwork({ name: 'cbr0', subnet: parseIp4Net('10.244.9.0/24'), adapterName: 'Ethernet' }));
  hns.calls.length = 0;
  const vEthernet = table.interfaces.find((i) => i.name === 'vEthernet (Ethernet)')!;
  await new HostGwBackend({ ...ctx, external: { ...ctx.external, iface: vEthernet } }).register(signal);
  t.deepEqual(hns.calls, ['deleteNetwork net-1', 'createNetwork cbr0', 'createEndpoint cbr0_ep', 'attach ep-3']);
  const network = [...hns.networks.values()][0]!;
  t.is(network.Ipams?.[0]?.Subnets[0]?.IpAddressPrefix, SUBNET);
  t.deepEqual(network.Policies, [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }]);
});

test('a stale cbr0_ep with the wrong address is deleted and recreated at .2', async (t) => {
  const { hns, ctx } = host();
  const created = await hns.createNetwork(buildL2BridgeNetwork({ name: 'cbr0', subnet: parseIp4Net(SUBNET), adapterName: 'Ethernet' }));
  const stale = await hns.createEndpoint(created.ID!, { ...buildBridgeEndpoint('cbr0', created.ID!, parseIp4Net(SUBNET)), IpConfigurations: [{ IpAddress: '10.244.3.7' }] });
  // Someone else's endpoint on the network is never touched.
  const pod = await hns.createEndpoint(created.ID!, { Name: 'pod-a', IpConfigurations: [{ IpAddress: '10.244.3.10' }], SchemaVersion: { Major: 2, Minor: 0 } });
  hns.calls.length = 0;
  const vEthernet = (await ctx.routes.listInterfaces()).find((i) => i.name === 'vEthernet (Ethernet)')!;
  await new HostGwBackend({ ...ctx, external: { ...ctx.external, iface: vEthernet } }).register(signal);
  t.deepEqual(hns.calls, [`deleteEndpoint ${stale.ID}`, 'createEndpoint cbr0_ep', 'attach ep-4']);
  t.deepEqual([...hns.endpoints.values()].map((e) => [e.Name, e.IpConfigurations?.[0]?.IpAddress]).sort(), [['cbr0_ep', '10.244.3.2'], ['pod-a', '10.244.3.10']]);
  t.true(hns.endpoints.has(pod.ID!));
});

test('a PublicIP that differs from the interface address is refused before any lease or HNS call', async (t) => {
  const { hns, sm, ctx } = host({ extAddr: '203.0.113.9' });
  const err = await t.throwsAsync(new HostGwBackend(ctx).register(signal));
  t.is((err as FlannelWinError).code, 'HOSTGW_PUBLIC_IP_MISMATCH');
  t.regex(err!.message, /NAT, which is not supported by host-gw backend/);
  t.is(sm.requests.length, 0);
  t.deepEqual(hns.calls, []);
});

test('Backend.Name names the network and its endpoint; DNSServerList reaches the network', async (t) => {
  const { hns, ctx } = host({ backend: { Type: 'host-gw', Name: 'winl2', DNSServerList: '10.96.0.10' } });
  await new HostGwBackend(ctx).register(signal);
  t.deepEqual(hns.calls, ['createNetwork winl2', 'createEndpoint winl2_ep', 'attach ep-2']);
  t.deepEqual([...hns.networks.values()][0]?.Dns, { ServerList: ['10.96.0.10'] });
});

test('an attach failure that does not heal fails registration with the endpoint named', async (t) => {
  const { hns, ctx } = host();
  hns.attachEndpointToHost = async () => {
    throw new Error('HNS is busy');
  };
  const err = await t.throwsAsync(new HostGwBackend(ctx).register(signal));
  t.is((err as FlannelWinError).code, 'HOSTGW_ATTACH');
  t.regex(err!.message, /cbr0_ep.*HNS is busy/);
});

test('physicalAdapterName strips the vEthernet wrapper', (t) => {
  t.is(physicalAdapterName('vEthernet (Ethernet 2)'), 'Ethernet 2');
  t.is(physicalAdapterName('Ethernet'), 'Ethernet');
});
