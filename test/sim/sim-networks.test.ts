import test from 'ava';
import { HCN_E } from '../../src/hns/client.js';
import { HCN_E_ADAPTER_NOT_FOUND } from '../../src/sim/hns-validation.js';
import { l2BridgeNetwork, openTestHost, overlayNetwork, policyRequest, readState, rejectsWithHresult, remoteEndpoint, remoteSubnetRoute } from './sim-fixture.js';

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('creating an Overlay network assigns an id, a Hyper-V DR MAC and the uplink IP as provider address', async (t) => {
  const host = await openTestHost(t, { publicIp: '192.168.1.20' });
  const created = await host.hns.createNetwork(overlayNetwork());
  t.regex(created.ID ?? '', GUID_RE);
  t.is(created.Type, 'Overlay');
  const drMac = created.Policies?.find((p) => p.Type === 'DrMacAddress')?.Settings as { Address?: string } | undefined;
  t.regex(drMac?.Address ?? '', /^00-15-5D-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}$/);
  const pa = created.Policies?.find((p) => p.Type === 'ProviderAddress')?.Settings as { ProviderAddress?: string } | undefined;
  t.is(pa?.ProviderAddress, '192.168.1.20');
  t.deepEqual(await host.hns.getNetwork(created.ID!), created);
  t.deepEqual(await host.hns.getNetworkByName('flannel.4096'), created);
  await host.flush();
  const state = await readState(host.stateFile);
  t.is(state.networks.length, 1);
  t.is(state.networks[0]?.ID, created.ID);
});

test('creating an Overlay network swaps the uplink for a vEthernet adapter with the same IP and a new index', async (t) => {
  const host = await openTestHost(t, { interfaceName: 'Ethernet0', mtu: 1450 });
  const before = await host.routes.listInterfaces();
  t.deepEqual(before.map((i) => i.name), ['Ethernet0']);
  await host.hns.createNetwork(overlayNetwork({ Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet0' } }] }));
  const after = await host.routes.listInterfaces();
  t.is(after.length, 1);
  t.is(after[0]?.name, 'vEthernet (Ethernet0)');
  t.deepEqual(after[0]?.ipv4Addresses, before[0]?.ipv4Addresses);
  t.is(after[0]?.mtu, 1450);
  t.not(after[0]?.index, before[0]?.index);
  t.not(after[0]?.luid, before[0]?.luid);
});

test('a second network on the same adapter keeps the vEthernet adapter; deleting the last one brings the NIC back', async (t) => {
  const host = await openTestHost(t);
  const a = await host.hns.createNetwork(overlayNetwork());
  const vEthernet = (await host.routes.listInterfaces())[0]!;
  const b = await host.hns.createNetwork(l2BridgeNetwork('cbr0'));
  t.deepEqual((await host.routes.listInterfaces()).map((i) => i.index), [vEthernet.index]);
  await host.hns.deleteNetwork(a.ID!);
  t.is((await host.routes.listInterfaces())[0]?.name, 'vEthernet (Ethernet)');
  await host.hns.deleteNetwork(b.ID!);
  const restored = await host.routes.listInterfaces();
  t.is(restored[0]?.name, 'Ethernet');
  t.not(restored[0]?.index, vEthernet.index);
});

test('an L2Bridge network also swaps the adapter but gets no overlay policies', async (t) => {
  const host = await openTestHost(t);
  const created = await host.hns.createNetwork(l2BridgeNetwork());
  t.is(created.Type, 'L2Bridge');
  t.deepEqual(created.Policies, []);
  t.is((await host.routes.listInterfaces())[0]?.name, 'vEthernet (Ethernet)');
});

test('a NAT network leaves the adapter alone and is reported without Type, as HNS does for mode 0', async (t) => {
  const host = await openTestHost(t);
  const created = await host.hns.createNetwork({ Name: 'nat', Type: 'NAT', SchemaVersion: { Major: 2, Minor: 0 } });
  t.false('Type' in created);
  t.is((await host.routes.listInterfaces())[0]?.name, 'Ethernet');
});

test('a network name that exists already is NETWORK_ALREADY_EXISTS and creates nothing', async (t) => {
  const host = await openTestHost(t);
  await host.hns.createNetwork(overlayNetwork());
  const err = await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork()), HCN_E.NETWORK_ALREADY_EXISTS);
  t.is(err.kind, 'already-exists');
  t.is(err.context['network'], 'flannel.4096');
  t.is((await host.hns.listNetworks()).length, 1);
});

test('missing networks are NETWORK_NOT_FOUND for get, modify and delete; by name they are undefined', async (t) => {
  const host = await openTestHost(t);
  const missing = '0b5f2c1e-3a4d-4c4e-9f00-000000000001';
  t.is((await rejectsWithHresult(t, host.hns.getNetwork(missing), HCN_E.NETWORK_NOT_FOUND)).kind, 'not-found');
  await rejectsWithHresult(t, host.hns.modifyNetwork(missing, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')])), HCN_E.NETWORK_NOT_FOUND);
  await rejectsWithHresult(t, host.hns.deleteNetwork(missing), HCN_E.NETWORK_NOT_FOUND);
  await rejectsWithHresult(t, host.hns.getNetwork('not-a-guid'), HCN_E.NETWORK_NOT_FOUND);
  t.is(await host.hns.getNetworkByName('nope'), undefined);
  t.deepEqual(await host.hns.listNetworks({ name: 'nope' }), []);
});

test('ids are looked up case-insensitively and with braces, as HNS parses GUIDs', async (t) => {
  const host = await openTestHost(t);
  const created = await host.hns.createNetwork(overlayNetwork());
  t.is((await host.hns.getNetwork(`{${created.ID!.toUpperCase()}}`)).ID, created.ID);
});

test('malformed network documents fail with the INVALID_* code and leave no trace', async (t) => {
  const host = await openTestHost(t);
  const noDefaultRoute = overlayNetwork({
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [], Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }] }] }],
  });
  await rejectsWithHresult(t, host.hns.createNetwork(noDefaultRoute), HCN_E.INVALID_SUBNET);
  const smallVsid = overlayNetwork({
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }], Policies: [{ Type: 'VSID', Settings: { IsolationId: 1 } }] }] }],
  });
  await rejectsWithHresult(t, host.hns.createNetwork(smallVsid), HCN_E.INVALID_POLICY);
  await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork({ Type: 'Vxlan' })), HCN_E.INVALID_NETWORK_TYPE);
  await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork({ SchemaVersion: { Major: 1, Minor: 0 } })), HCN_E.INVALID_JSON);
  await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork({ Policies: [{ Type: 'Bogus', Settings: {} }] })), HCN_E.INVALID_POLICY_TYPE);
  const err = await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork({ Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Wi-Fi' } }] })), HCN_E_ADAPTER_NOT_FOUND);
  t.is(err.context['adapter'], 'Wi-Fi');
  t.deepEqual(await host.hns.listNetworks(), []);
  t.is((await host.routes.listInterfaces())[0]?.name, 'Ethernet');
  t.is(host.counters()['createNetwork'], 6);
});

test('RemoteSubnetRoute policies are added and removed by exact settings', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  const route = remoteSubnetRoute('10.244.2.0/24');
  await host.hns.modifyNetwork(id!, policyRequest('Add', [route, remoteSubnetRoute('10.244.3.0/24', '192.168.1.13')]));
  const routes = (await host.hns.getNetwork(id!)).Policies?.filter((p) => p.Type === 'RemoteSubnetRoute');
  t.deepEqual(routes, [route, remoteSubnetRoute('10.244.3.0/24', '192.168.1.13')]);
  // Key order does not matter, values do.
  const reordered = { Type: 'RemoteSubnetRoute', Settings: { DistributedRouterMacAddress: '00-15-5D-AA-BB-CC', ProviderAddress: '192.168.1.12', IsolationId: 4096, DestinationPrefix: '10.244.2.0/24' } };
  await host.hns.modifyNetwork(id!, policyRequest('Remove', [reordered]));
  t.deepEqual((await host.hns.getNetwork(id!)).Policies?.filter((p) => p.Type === 'RemoteSubnetRoute'), [remoteSubnetRoute('10.244.3.0/24', '192.168.1.13')]);
  await host.flush();
  const stored = (await readState(host.stateFile)).networks[0]?.Policies?.filter((p) => p.Type === 'RemoteSubnetRoute');
  t.is(stored?.length, 1);
});

test('removing a policy that is not there is POLICY_NOT_FOUND, also when only one setting differs', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')]));
  const err = await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Remove', [remoteSubnetRoute('10.244.2.0/24', '192.168.1.99')])), HCN_E.POLICY_NOT_FOUND);
  t.is(err.kind, 'not-found');
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Remove', [remoteSubnetRoute('10.244.9.0/24')])), HCN_E.POLICY_NOT_FOUND);
  t.is((await host.hns.getNetwork(id!)).Policies?.filter((p) => p.Type === 'RemoteSubnetRoute').length, 1);
});

test('adding a duplicate RemoteSubnetRoute, or a second one for the same prefix, is POLICY_ALREADY_EXISTS', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')]));
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')])), HCN_E.POLICY_ALREADY_EXISTS);
  const err = await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24', '192.168.1.50')])), HCN_E.POLICY_ALREADY_EXISTS);
  t.is((err.context['existing'] as { ProviderAddress?: string }).ProviderAddress, '192.168.1.12');
});

test('a modify request is all or nothing', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24'), remoteSubnetRoute('10.244.2.0/24')])), HCN_E.POLICY_ALREADY_EXISTS);
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.3.0/24'), remoteSubnetRoute('10.244.4.0/24', '192.168.1.12', 'not-a-mac')])), HCN_E.INVALID_POLICY);
  t.deepEqual((await host.hns.getNetwork(id!)).Policies?.filter((p) => p.Type === 'RemoteSubnetRoute'), []);
});

test('HostRoute is added once; RemoteSubnetRoute on an L2Bridge network and unknown request kinds are refused', async (t) => {
  const host = await openTestHost(t);
  const overlay = await host.hns.createNetwork(overlayNetwork());
  await host.hns.modifyNetwork(overlay.ID!, policyRequest('Add', [{ Type: 'HostRoute', Settings: {} }]));
  await rejectsWithHresult(t, host.hns.modifyNetwork(overlay.ID!, policyRequest('Add', [{ Type: 'HostRoute', Settings: {} }])), HCN_E.POLICY_ALREADY_EXISTS);
  await rejectsWithHresult(t, host.hns.modifyNetwork(overlay.ID!, { ResourceType: 'DNS', RequestType: 'Add', Settings: { Policies: [] } }), HCN_E.REQUEST_UNSUPPORTED);
  const bridge = await host.hns.createNetwork(l2BridgeNetwork());
  await rejectsWithHresult(t, host.hns.modifyNetwork(bridge.ID!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')])), HCN_E.INVALID_POLICY);
});

test('deleting a network deletes its endpoints', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  const ep = await host.hns.createEndpoint(id!, remoteEndpoint(id!, '10.244.2.5'));
  await host.hns.deleteNetwork(id!);
  await rejectsWithHresult(t, host.hns.getEndpoint(ep.ID!), HCN_E.ENDPOINT_NOT_FOUND);
  t.deepEqual(await host.hns.listEndpoints(), []);
});

test('with switchCutoffCalls the new vEthernet adapter is down for exactly that many calls', async (t) => {
  const host = await openTestHost(t, { switchCutoffCalls: 2 });
  await host.hns.createNetwork(overlayNetwork());
  await host.flush();
  t.true((await readState(host.stateFile)).interfaces[0]?.up, 'the cut-off is not persisted');
  const polls: boolean[] = [];
  for (let i = 0; i < 4; i++) polls.push((await host.routes.listInterfaces())[0]!.up);
  t.deepEqual(polls, [false, false, true, true]);
});

test('one request carrying a route twice, or two routes for one prefix, is refused whole; so is removing one policy twice', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  const routes = async () => (await host.hns.getNetwork(id!)).Policies?.filter((p) => p.Type === 'RemoteSubnetRoute').length;
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24'), remoteSubnetRoute('10.244.2.0/24')])), HCN_E.POLICY_ALREADY_EXISTS);
  // Host bits do not make another prefix: 10.244.3.7/24 is 10.244.3.0/24.
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.3.0/24'), remoteSubnetRoute('10.244.3.7/24', '192.168.1.50')])), HCN_E.POLICY_ALREADY_EXISTS);
  t.is(await routes(), 0, 'a refused request adds nothing');
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24'), remoteSubnetRoute('10.244.3.0/24')]));
  await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Remove', [remoteSubnetRoute('10.244.2.0/24'), remoteSubnetRoute('10.244.2.0/24')])), HCN_E.POLICY_NOT_FOUND);
  t.is(await routes(), 2, 'a refused request removes nothing');
});
