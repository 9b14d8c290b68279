import test from 'ava';
import {
  bridgeEndpointAddress,
  buildBridgeEndpoint,
  buildL2BridgeNetwork,
  dnsServerListOf,
  judgeBridgeEndpoint,
  judgeExistingL2Bridge,
  type L2BridgeParams,
} from '../../../src/backends/host-gw/l2bridge-network.js';
import type { HostComputeNetwork } from '../../../src/hns/types.js';
import { parseIp4Net } from '../../../src/net/ip.js';
import { validateEndpointDocument, validateNetworkDocument } from '../../../src/sim/hns-validation.js';

const params: L2BridgeParams = { name: 'cbr0', subnet: parseIp4Net('10.244.3.0/24'), adapterName: 'Ethernet' };

test('the network document is an HCN v2 L2Bridge with our subnet, gateway .1 and the adapter', (t) => {
  const doc = buildL2BridgeNetwork(params);
  t.deepEqual(doc, {
    Name: 'cbr0',
    Type: 'L2Bridge',
    SchemaVersion: { Major: 2, Minor: 0 },
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
    Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
  });
  t.notThrows(() => validateNetworkDocument('HcnCreateNetwork', JSON.parse(JSON.stringify(doc))));
});

test('host bits in the lease subnet do not leak into the documents', (t) => {
  const doc = buildL2BridgeNetwork({ ...params, subnet: parseIp4Net('10.244.3.77/24') });
  t.is(doc.Ipams?.[0]?.Subnets[0]?.IpAddressPrefix, '10.244.3.0/24');
  t.is(bridgeEndpointAddress(parseIp4Net('10.244.3.77/24')), '10.244.3.2');
});

test('the bridge endpoint is <name>_ep at .2 on the network', (t) => {
  const doc = buildBridgeEndpoint('cbr0', 'net-1', parseIp4Net('10.244.3.0/24'));
  t.deepEqual(doc, {
    Name: 'cbr0_ep',
    HostComputeNetwork: 'net-1',
    IpConfigurations: [{ IpAddress: '10.244.3.2', PrefixLength: 24 }],
    SchemaVersion: { Major: 2, Minor: 0 },
  });
  t.notThrows(() => validateEndpointDocument('HcnCreateEndpoint', JSON.parse(JSON.stringify(doc))));
});

function existing(over: Partial<HostComputeNetwork> = {}): HostComputeNetwork {
  return { ...buildL2BridgeNetwork(params), ID: 'net-1', ...over };
}

test('a matching L2Bridge network with our name is adopted', (t) => {
  t.deepEqual(judgeExistingL2Bridge(existing(), params), { action: 'adopt', notes: [] });
});

test('any subnet of the network may match, as in flannel', (t) => {
  const net = existing({
    Ipams: [
      { Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.9.0/24', Routes: [{ NextHop: '10.244.9.1', DestinationPrefix: '0.0.0.0/0' }] }] },
      { Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] }] },
    ],
  });
  t.is(judgeExistingL2Bridge(net, params).action, 'adopt');
});

test('a network whose subnet reports no routes is adopted with a note', (t) => {
  const verdict = judgeExistingL2Bridge(existing({ Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.3.0/24' }] }] }), params);
  t.is(verdict.action, 'adopt');
  t.regex(verdict.notes.join(), /no default route/);
});

test('wrong type, wrong subnet or wrong gateway means recreate (ours by name)', (t) => {
  const wrongType = judgeExistingL2Bridge(existing({ Type: 'Overlay' }), params);
  t.is(wrongType.action, 'recreate');
  t.regex(wrongType.notes.join(), /Overlay, not L2Bridge/);
  // HNS omits Type for NAT networks.
  const noType = existing();
  delete noType.Type;
  t.regex(judgeExistingL2Bridge(noType, params).notes.join(), /NAT/);
  const otherSubnet = judgeExistingL2Bridge(existing(), { ...params, subnet: parseIp4Net('10.244.4.0/24') });
  t.is(otherSubnet.action, 'recreate');
  t.regex(otherSubnet.notes.join(), /10\.244\.3\.0\/24.*none is 10\.244\.4\.0\/24/);
  const otherGateway = existing({
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.254', DestinationPrefix: '0.0.0.0/0' }] }] }],
  });
  t.is(judgeExistingL2Bridge(otherGateway, params).action, 'recreate');
});

test('a network with another name is never ours, whatever it holds', (t) => {
  t.is(judgeExistingL2Bridge(existing({ Name: 'calico' }), params).action, 'foreign');
  t.is(judgeExistingL2Bridge(existing({ Name: 'calico', Type: 'NAT' }), params).action, 'foreign');
});

test('the bridge endpoint is kept only with the .2 address on our network', (t) => {
  const subnet = parseIp4Net('10.244.3.0/24');
  const ep = { ...buildBridgeEndpoint('cbr0', 'NET-1', subnet), ID: 'ep-1' };
  t.deepEqual(judgeBridgeEndpoint(ep, 'net-1', subnet), { action: 'keep' });
  const wrongIp = judgeBridgeEndpoint({ ...ep, IpConfigurations: [{ IpAddress: '10.244.3.9' }] }, 'net-1', subnet);
  t.is(wrongIp.action, 'recreate');
  const wrongNet = judgeBridgeEndpoint(ep, 'net-2', subnet);
  t.deepEqual(wrongNet, { action: 'recreate', reason: 'endpoint is on network NET-1, not net-2' });
  t.is(judgeBridgeEndpoint({ ...ep, IpConfigurations: [] }, 'net-1', subnet).action, 'recreate');
});

test('Backend.DNSServerList goes into the network as Dns.ServerList, and is omitted when empty', (t) => {
  t.deepEqual(dnsServerListOf(' 10.96.0.10, 10.96.0.11 ,'), ['10.96.0.10', '10.96.0.11']);
  t.deepEqual(buildL2BridgeNetwork({ ...params, dnsServers: ['10.96.0.10'] }).Dns, { ServerList: ['10.96.0.10'] });
  t.false('Dns' in buildL2BridgeNetwork({ ...params, dnsServers: [] }));
});
