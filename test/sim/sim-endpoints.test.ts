import test from 'ava';
import { pino } from 'pino';
import { HCN_E } from '../../src/hns/client.js';
import type { EndpointPolicy, HostComputeEndpoint, ModifyEndpointSettingRequest } from '../../src/hns/types.js';
import { HCN_E_ADDR_INVALID_OR_RESERVED } from '../../src/sim/hns-validation.js';
import { l2BridgeNetwork, openTestHost, overlayNetwork, readState, rejectsWithHresult, remoteEndpoint } from './sim-fixture.js';

function acl(settings: Record<string, unknown>): EndpointPolicy {
  return { Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 1000, Protocols: '6', ...settings } } as EndpointPolicy;
}

function aclRequest(requestType: 'Add' | 'Remove' | 'Update', policies: EndpointPolicy[]): ModifyEndpointSettingRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: policies } };
}

test('a remote endpoint is created as sent, with an id and its network, and listed by network', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(overlayNetwork());
  const created = await host.hns.createEndpoint(networkId!, remoteEndpoint(networkId!, '10.244.2.5'));
  t.regex(created.ID ?? '', /^[0-9a-f-]{36}$/);
  t.is(created.HostComputeNetwork, networkId);
  t.is(created.MacAddress, '02-11-0a-f4-02-05');
  t.is(created.Flags, 1);
  t.deepEqual(created.IpConfigurations, [{ IpAddress: '10.244.2.5' }]);
  t.deepEqual(await host.hns.getEndpoint(created.ID!), created);
  t.deepEqual(await host.hns.listEndpoints({ networkId: networkId! }), [created]);
  t.deepEqual(await host.hns.listEndpoints({ networkId: '0b5f2c1e-3a4d-4c4e-9f00-000000000001' }), []);
  await host.flush();
  t.is((await readState(host.stateFile)).endpoints[0]?.ID, created.ID);
});

test('a local endpoint without an address gets the first free one of the subnet and a Hyper-V MAC', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(l2BridgeNetwork());
  const base: HostComputeEndpoint = { Name: 'cbr0_ep', SchemaVersion: { Major: 2, Minor: 0 } };
  const first = await host.hns.createEndpoint(networkId!, base);
  const second = await host.hns.createEndpoint(networkId!, { ...base, Name: 'pod' });
  t.deepEqual(first.IpConfigurations, [{ IpAddress: '10.244.1.2', PrefixLength: 24 }]);
  t.deepEqual(second.IpConfigurations, [{ IpAddress: '10.244.1.3', PrefixLength: 24 }]);
  t.regex(first.MacAddress ?? '', /^00-15-5D-/);
  t.deepEqual((await host.hns.listEndpoints({ name: 'pod' })).map((e) => e.ID), [second.ID]);
});

test('two endpoints with one IP in a network are refused', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(overlayNetwork());
  await host.hns.createEndpoint(networkId!, remoteEndpoint(networkId!, '10.244.2.5'));
  const err = await rejectsWithHresult(t, host.hns.createEndpoint(networkId!, remoteEndpoint(networkId!, '10.244.2.5')), HCN_E_ADDR_INVALID_OR_RESERVED);
  t.is(err.context['ip'], '10.244.2.5');
  t.is((await host.hns.listEndpoints()).length, 1);
});

test('endpoint creation checks the network and the document', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(overlayNetwork());
  const other = '0b5f2c1e-3a4d-4c4e-9f00-000000000001';
  await rejectsWithHresult(t, host.hns.createEndpoint(other, remoteEndpoint(other, '10.244.2.5')), HCN_E.NETWORK_NOT_FOUND);
  await rejectsWithHresult(t, host.hns.createEndpoint(networkId!, { ...remoteEndpoint(networkId!, '10.244.2.5'), HostComputeNamespace: other }), HCN_E.INVALID_JSON);
  await rejectsWithHresult(t, host.hns.createEndpoint(networkId!, { ...remoteEndpoint(networkId!, '10.244.2.5'), HostComputeNetwork: other }), HCN_E.INVALID_JSON);
  await rejectsWithHresult(t, host.hns.createEndpoint(networkId!, remoteEndpoint(networkId!, '10.244.2.500')), HCN_E.INVALID_IP);
  await rejectsWithHresult(t, host.hns.createEndpoint(networkId!, { ...remoteEndpoint(networkId!, '10.244.2.5'), IpConfigurations: [] }), HCN_E.INVALID_ENDPOINT);
  t.deepEqual(await host.hns.listEndpoints(), []);
});

test('ACL addresses with "Any" are INVALID_POLICY on create and on modify, as on real HNS', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(l2BridgeNetwork());
  const withAny = { SchemaVersion: { Major: 2, Minor: 0 }, Policies: [acl({ RemoteAddresses: 'Any' })] };
  const err = await rejectsWithHresult(t, host.hns.createEndpoint(networkId!, withAny), HCN_E.INVALID_POLICY);
  t.is(err.hresult, 0x803b000d);
  t.is(err.context['field'], 'Policies[0].Settings.RemoteAddresses');
  const ep = await host.hns.createEndpoint(networkId!, { SchemaVersion: { Major: 2, Minor: 0 } });
  await rejectsWithHresult(t, host.hns.modifyEndpoint(ep.ID!, aclRequest('Add', [acl({ LocalAddresses: '10.0.0.0/8,any' })])), HCN_E.INVALID_POLICY);
  await rejectsWithHresult(t, host.hns.modifyEndpoint(ep.ID!, aclRequest('Add', [acl({ ID: 'rule-1' })])), HCN_E.INVALID_POLICY);
  t.deepEqual((await host.hns.getEndpoint(ep.ID!)).Policies, []);
  await host.hns.modifyEndpoint(ep.ID!, aclRequest('Add', [acl({ Id: 'rule-1', RemoteAddresses: '10.0.0.0/8,192.168.1.5', LocalPorts: '80,8000' })]));
  t.is((await host.hns.getEndpoint(ep.ID!)).Policies?.length, 1);
});

test('every malformed ACL is refused with INVALID_POLICY naming the field, and changes nothing', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(l2BridgeNetwork());
  const ep = await host.hns.createEndpoint(networkId!, { SchemaVersion: { Major: 2, Minor: 0 }, Policies: [acl({ Id: 'kept', Priority: 1000 })] });
  const bad: [Record<string, unknown>, string][] = [
    [{ ID: 'x' }, 'ID'],
    [{ Id: 7 }, 'Id'],
    [{ Priority: -1 }, 'Priority'],
    [{ Priority: 65501 }, 'Priority'],
    [{ Priority: 70000 }, 'Priority'],
    [{ Priority: 1.5 }, 'Priority'],
    [{ Priority: '1000' }, 'Priority'],
    [{ Action: 'Deny' }, 'Action'],
    [{ Action: 'allow' }, 'Action'],
    [{ Direction: 'Inbound' }, 'Direction'],
    [{ RuleType: 'Firewall' }, 'RuleType'],
    [{ Protocols: 'TCP' }, 'Protocols'],
    [{ Protocols: '6,17' }, 'Protocols'],
    [{ Protocols: '300' }, 'Protocols'],
    [{ Protocols: 6 }, 'Protocols'],
    [{ RemoteAddresses: 'Any' }, 'RemoteAddresses'],
    [{ RemoteAddresses: '10.0.0.1,,10.0.0.2' }, 'RemoteAddresses'],
    [{ RemoteAddresses: '10.0.0.0/33' }, 'RemoteAddresses'],
    [{ LocalAddresses: '10.0.0.256' }, 'LocalAddresses'],
    [{ RemoteAddresses: ['10.0.0.1'] }, 'RemoteAddresses'],
    [{ LocalPorts: '80,' }, 'LocalPorts'],
    [{ LocalPorts: '65536' }, 'LocalPorts'],
    [{ LocalPorts: 'http' }, 'LocalPorts'],
    [{ RemotePorts: '8000-8080' }, 'RemotePorts'],
    [{ RemotePorts: 443 }, 'RemotePorts'],
  ];
  for (const [settings, field] of bad) {
    const err = await rejectsWithHresult(t, host.hns.modifyEndpoint(ep.ID!, aclRequest('Update', [acl({ Id: 'new', ...settings })])), HCN_E.INVALID_POLICY);
    t.is(err.context['field'], `Settings.Policies[0].Settings.${field}`, JSON.stringify(settings));
  }
  t.deepEqual((await host.hns.getEndpoint(ep.ID!)).Policies?.map((p) => (p.Settings as { Id?: string }).Id), ['kept']);
  // The edges that are fine: Priority 0 and 65500, protocol 256 (any), an empty address list (any).
  await host.hns.modifyEndpoint(ep.ID!, aclRequest('Update', [acl({ Id: 'lo', Priority: 0, Protocols: '256', RemoteAddresses: '' }), acl({ Id: 'hi', Priority: 65500, LocalPorts: '0,65535' })]));
  t.is((await host.hns.getEndpoint(ep.ID!)).Policies?.length, 2);
  t.is(host.counters()['modifyEndpoint'], bad.length + 1, 'every endpoint write is counted, refused or not');
});

test('an endpoint Update replaces its whole policy list; Remove needs an exact match', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(overlayNetwork());
  const pa: EndpointPolicy = { Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.1.10' } };
  const nat: EndpointPolicy = { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } };
  const ep = await host.hns.createEndpoint(networkId!, { SchemaVersion: { Major: 2, Minor: 0 }, Policies: [nat, pa, acl({ Id: 'a', Priority: 1000 })] });
  const names = async (): Promise<string[]> => (await host.hns.getEndpoint(ep.ID!)).Policies!.map((p) => (p.Settings as { Id?: string }).Id ?? p.Type);
  // With the other policies re-sent first, nothing of the CNI's is lost.
  await host.hns.modifyEndpoint(ep.ID!, aclRequest('Update', [nat, pa, acl({ Id: 'b', Priority: 1001 }), acl({ Id: 'c', Priority: 1002, Action: 'Block' })]));
  t.deepEqual(await names(), ['OutBoundNAT', 'ProviderAddress', 'b', 'c']);
  await rejectsWithHresult(t, host.hns.modifyEndpoint(ep.ID!, aclRequest('Update', [nat, nat])), HCN_E.POLICY_ALREADY_EXISTS);
  await rejectsWithHresult(t, host.hns.modifyEndpoint(ep.ID!, aclRequest('Remove', [acl({ Id: 'a', Priority: 1000 })])), HCN_E.POLICY_NOT_FOUND);
  await host.hns.modifyEndpoint(ep.ID!, aclRequest('Remove', [acl({ Id: 'b', Priority: 1001 })]));
  t.deepEqual(await names(), ['OutBoundNAT', 'ProviderAddress', 'c']);
  // An ACL-only Update (the undocumented case) is taken as replacing everything.
  await host.hns.modifyEndpoint(ep.ID!, aclRequest('Update', [acl({ Id: 'd', Priority: 1000 })]));
  t.deepEqual(await names(), ['d']);
  await rejectsWithHresult(t, host.hns.modifyEndpoint(ep.ID!, { ResourceType: 'Port', RequestType: 'Add', Settings: { Policies: [] } }), HCN_E.REQUEST_UNSUPPORTED);
});

test('attaching to the host creates a host vNIC once; a second attach succeeds without another', async (t) => {
  const host = await openTestHost(t);
  const { ID: networkId } = await host.hns.createNetwork(l2BridgeNetwork());
  const ep = await host.hns.createEndpoint(networkId!, { Name: 'cbr0_ep', SchemaVersion: { Major: 2, Minor: 0 } });
  await host.hns.attachEndpointToHost(ep.ID!);
  await host.hns.attachEndpointToHost(ep.ID!);
  const interfaces = await host.routes.listInterfaces();
  const vnic = interfaces.filter((i) => i.name === 'vEthernet (cbr0_ep)');
  t.is(vnic.length, 1);
  t.deepEqual(vnic[0]?.ipv4Addresses, ['10.244.1.2']);
  t.is(host.counters()['attachEndpoint'], 2);
  await host.flush();
  const stored = (await readState(host.stateFile)).endpoints[0];
  t.deepEqual(stored?.sim, { attachedToHost: true, hostInterfaceIndex: vnic[0]?.index });
  // The vNIC goes with the endpoint.
  await host.hns.deleteEndpoint(ep.ID!);
  t.false((await host.routes.listInterfaces()).some((i) => i.name === 'vEthernet (cbr0_ep)'));
});

test('attach, modify and delete of a missing endpoint are ENDPOINT_NOT_FOUND; a remote endpoint cannot be attached', async (t) => {
  const host = await openTestHost(t);
  const missing = '0b5f2c1e-3a4d-4c4e-9f00-000000000002';
  await rejectsWithHresult(t, host.hns.attachEndpointToHost(missing), HCN_E.ENDPOINT_NOT_FOUND);
  await rejectsWithHresult(t, host.hns.deleteEndpoint(missing), HCN_E.ENDPOINT_NOT_FOUND);
  await rejectsWithHresult(t, host.hns.getEndpoint(missing), HCN_E.ENDPOINT_NOT_FOUND);
  await rejectsWithHresult(t, host.hns.modifyEndpoint(missing, aclRequest('Add', [acl({})])), HCN_E.ENDPOINT_NOT_FOUND);
  const { ID: networkId } = await host.hns.createNetwork(overlayNetwork());
  const remote = await host.hns.createEndpoint(networkId!, remoteEndpoint(networkId!, '10.244.2.5'));
  await rejectsWithHresult(t, host.hns.attachEndpointToHost(remote.ID!), HCN_E.INVALID_ENDPOINT);
});

test('every endpoint write is logged at debug with the HCN call and the endpoint id; a read is not', async (t) => {
  const lines: { call?: string; id?: string; msg?: string; time?: number }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const host = await openTestHost(t, { log });
  const { ID: networkId } = await host.hns.createNetwork(overlayNetwork());
  const ep = await host.hns.createEndpoint(networkId!, remoteEndpoint(networkId!, '10.244.2.5'));
  await host.hns.getEndpoint(ep.ID!);
  const before = Date.now();
  await host.hns.modifyEndpoint(ep.ID!, aclRequest('Update', [acl({ Id: 'rule-1' })]));
  const writes = lines.filter((l) => l.msg === 'simulated HNS write');
  t.deepEqual(writes.map((l) => l.call), ['HcnCreateNetwork', 'HcnCreateEndpoint', 'HcnModifyEndpoint']);
  t.is(writes[2]?.id, ep.ID);
  t.true((writes[2]?.time ?? 0) >= before);
});
