import test from 'ava';
import { buildOverlayNetwork, drMacOf, judgeExistingOverlay, providerAddressOf } from '../../../src/backends/vxlan/overlay-network.js';
import { parseIp4Net } from '../../../src/net/ip.js';

const params = { name: 'flannel.4096', subnet: parseIp4Net('10.244.5.0/24'), vni: 4096, adapterName: 'Ethernet' };

test('the Overlay network document is the one flannel sends (compat/hns.md §2.1)', (t) => {
  t.is(
    JSON.stringify(buildOverlayNetwork(params)),
    '{"Name":"flannel.4096","Type":"Overlay","Flags":8,"SchemaVersion":{"Major":2,"Minor":0},' +
      '"Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"10.244.5.0/24","Routes":[{"NextHop":"10.244.5.1","DestinationPrefix":"0.0.0.0/0"}],' +
      '"Policies":[{"Type":"VSID","Settings":{"IsolationId":4096}}]}]}],' +
      '"Policies":[{"Type":"NetAdapterName","Settings":{"NetworkAdapterName":"Ethernet"}}]}',
  );
});

test('an existing network with our type and subnet is adopted; a VNI difference is reported', (t) => {
  const existing = { ...buildOverlayNetwork({ ...params, vni: 4097 }), ID: 'a' };
  const verdict = judgeExistingOverlay(existing, params);
  t.true(verdict.adopt);
  t.deepEqual(verdict.notes, ['VSID is 4097, net-conf says VNI 4096']);
});

test('another subnet or type means recreate', (t) => {
  t.false(judgeExistingOverlay(buildOverlayNetwork({ ...params, subnet: parseIp4Net('10.244.6.0/24') }), params).adopt);
  t.false(judgeExistingOverlay({ ...buildOverlayNetwork(params), Type: 'L2Bridge' }, params).adopt);
});

test('DR MAC and management IP are read from the policies HNS adds', (t) => {
  const network = {
    ...buildOverlayNetwork(params),
    Policies: [
      { Type: 'DrMacAddress' as const, Settings: { Address: '00-15-5D-3A-07-C1' } },
      { Type: 'ProviderAddress' as const, Settings: { ProviderAddress: '192.168.1.10' } },
    ],
  };
  t.is(drMacOf(network), '00:15:5d:3a:07:c1');
  t.is(providerAddressOf(network), '192.168.1.10');
  t.is(drMacOf(buildOverlayNetwork(params)), undefined);
});
