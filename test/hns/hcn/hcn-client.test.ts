import test, { type ExecutionContext } from 'ava';
import { HCN_E, HnsError } from '../../../src/hns/client.js';
import { loadHcnClient, type HcnClient } from '../../../src/hns/hcn/hcn-client.js';
import { SCHEMA_V2, type HostComputeNetwork } from '../../../src/hns/types.js';
import { openStandins } from '../standins.js';

// One stand-in instance per test process: tests share it, so they run serially from a reset.
const standins = openStandins();
const client: HcnClient = loadHcnClient(standins.paths);

const ZERO = Buffer.alloc(16);
// The stand-in assigns IDs of this shape (see assign_id in computenetwork.c): Data1 = 0x10000000 + n.
const FIRST_ID = '10000001-2345-4678-89ab-cdef01234567';
const SECOND_ID = '10000002-2345-4678-89ab-cdef01234567';
const DEFAULT_QUERY = '{"SchemaVersion":{"Major":2,"Minor":0}}';

function overlay(name = 'flannel.4096'): HostComputeNetwork {
  return {
    Name: name,
    Type: 'Overlay',
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: '10.244.1.0/24',
            Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
            Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
          },
        ],
      },
    ],
    Flags: 8,
    SchemaVersion: SCHEMA_V2,
    Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
  };
}

/** Every string HNS handed out was freed exactly once, and every handle opened was closed. */
function assertBalanced(t: ExecutionContext, stringsReturned = true): void {
  if (stringsReturned) t.true(standins.memory('allocs') > 0, 'the stand-in handed out strings');
  t.is(standins.memory('frees'), standins.memory('allocs'), 'every returned string freed');
  t.is(standins.memory('live'), 0);
  t.is(standins.memory('double_frees'), 0);
  t.is(standins.memory('unknown_frees'), 0);
  t.is(standins.memory('null_frees'), 0, 'NULL out pointers are not freed');
  t.is(standins.handles('closed'), standins.handles('opened'), 'every handle closed');
  t.is(standins.handles('live'), 0);
  t.is(standins.handles('bad_closes'), 0);
}

async function rejection(t: ExecutionContext, promise: Promise<unknown>): Promise<HnsError> {
  const err = await t.throwsAsync(promise);
  if (!(err instanceof HnsError)) return t.fail(`expected HnsError, got ${String(err)}`) as never;
  return err;
}

test.beforeEach(() => standins.reset());

test.serial('createNetwork sends the exact document with a zero GUID, reads the result back and closes the handle', async (t) => {
  const created = await client.createNetwork({ ...overlay(), Health: { Data: 1 } });
  t.is(created.ID, FIRST_ID);
  t.is(created.Type, 'Overlay');
  t.is(created.Name, 'flannel.4096');

  const calls = standins.hcnCalls();
  t.deepEqual(calls.map((c) => c.fn), ['HcnCreateNetwork', 'HcnQueryNetworkProperties', 'HcnCloseNetwork']);
  t.is(
    calls[0]?.document,
    '{"Name":"flannel.4096","Type":"Overlay","Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"10.244.1.0/24",' +
      '"Routes":[{"NextHop":"10.244.1.1","DestinationPrefix":"0.0.0.0/0"}],"Policies":[{"Type":"VSID","Settings":{"IsolationId":4096}}]}]}],' +
      '"Flags":8,"SchemaVersion":{"Major":2,"Minor":0},"Policies":[{"Type":"NetAdapterName","Settings":{"NetworkAdapterName":"Ethernet"}}]}',
  );
  t.deepEqual(calls[0]?.guid, ZERO, 'HNS assigns the ID');
  t.is(calls[1]?.document, DEFAULT_QUERY);
  assertBalanced(t);
});

test.serial('GUIDs go out as 16 bytes with Data1..Data3 little-endian', async (t) => {
  await client.createNetwork(overlay());
  await client.getNetwork(FIRST_ID.toUpperCase());
  const unknown = await rejection(t, client.getNetwork('{01020304-0506-0708-090A-0B0C0D0E0F10}'));
  t.is(unknown.kind, 'not-found');

  const opens = standins.hcnCalls().filter((c) => c.fn === 'HcnOpenNetwork');
  t.deepEqual(opens[0]?.guid, Buffer.from('010000104523784689abcdef01234567', 'hex'));
  t.deepEqual(opens[1]?.guid, Buffer.from('0403020106050807090a0b0c0d0e0f10', 'hex'));
  assertBalanced(t);
});

test.serial('getNetwork: open, query, close; the handle the stand-in gave is the one queried and closed', async (t) => {
  await client.createNetwork(overlay());
  standins.forgetCalls();
  const network = await client.getNetwork(FIRST_ID);
  t.is(network.ID, FIRST_ID);
  t.deepEqual(network.Policies, overlay().Policies);
  t.deepEqual(standins.hcnCalls().map((c) => c.fn), ['HcnOpenNetwork', 'HcnQueryNetworkProperties', 'HcnCloseNetwork']);
  t.is(standins.handles('opened'), 1);
  t.is(standins.handles('closed'), 1);
  t.is(standins.handles('bad_closes'), 0, 'a handle that did not round-trip would be a bad close');
});

test.serial('getNetworkByName sends the Name filter as a JSON string; an unknown name is undefined', async (t) => {
  await client.createNetwork(overlay('cbr0'));
  await client.createNetwork(overlay('other'));
  const found = await client.getNetworkByName('cbr0');
  t.is(found?.ID, FIRST_ID);
  t.is(await client.getNetworkByName('nope'), undefined);

  const enumerations = standins.hcnCalls().filter((c) => c.fn === 'HcnEnumerateNetworks');
  t.is(enumerations[0]?.document, '{"SchemaVersion":{"Major":2,"Minor":0},"Filter":"{\\"Name\\":\\"cbr0\\"}"}');
  assertBalanced(t);
});

test.serial('listNetworks is Enumerate then Open/Query/Close per ID, and defaults a missing Type to NAT', async (t) => {
  await client.createNetwork({ Name: 'nat', SchemaVersion: SCHEMA_V2 });
  await client.createNetwork(overlay());
  standins.forgetCalls();
  const networks = await client.listNetworks();
  t.deepEqual(
    networks.map((n) => [n.ID, n.Name, n.Type]),
    [
      [FIRST_ID, 'nat', 'NAT'],
      [SECOND_ID, 'flannel.4096', 'Overlay'],
    ],
  );
  t.deepEqual(standins.hcnCalls().map((c) => c.fn), [
    'HcnEnumerateNetworks',
    'HcnOpenNetwork',
    'HcnQueryNetworkProperties',
    'HcnCloseNetwork',
    'HcnOpenNetwork',
    'HcnQueryNetworkProperties',
    'HcnCloseNetwork',
  ]);
  t.is(standins.hcnCalls()[0]?.document, DEFAULT_QUERY);
  assertBalanced(t);
});

test.serial('a network deleted between Enumerate and Open is left out of the list', async (t) => {
  await client.createNetwork(overlay('a'));
  await client.createNetwork(overlay('b'));
  standins.hcnFailNext('HcnOpenNetwork', HCN_E.NETWORK_NOT_FOUND, '{"Success":false,"Error":"Network not found."}');
  const networks = await client.listNetworks();
  t.deepEqual(networks.map((n) => n.Name), ['b']);
  assertBalanced(t);
});

test.serial('not found: HRESULT, kind, call and error record land in the HnsError', async (t) => {
  const err = await rejection(t, client.getNetwork('5e5e5e5e-0000-4000-8000-000000000001'));
  t.is(err.hresult, HCN_E.NETWORK_NOT_FOUND);
  t.is(err.kind, 'not-found');
  t.is(err.call, 'HcnOpenNetwork');
  t.is(err.code, 'HNS_NOT_FOUND');
  t.is(err.context['networkId'], '5e5e5e5e-0000-4000-8000-000000000001');
  t.is(err.errorRecord, '{"Success":false,"Error":"Network not found.","ErrorCode":2151350273}');
  t.regex(err.message, /^HcnOpenNetwork: Network not found\. \(0x803b0001\)$/);

  const ep = await rejection(t, client.deleteEndpoint('5e5e5e5e-0000-4000-8000-000000000002'));
  t.is(ep.hresult, HCN_E.ENDPOINT_NOT_FOUND);
  t.is(ep.call, 'HcnDeleteEndpoint');
  assertBalanced(t);
});

test.serial('an ID that is no GUID is not-found without calling HNS', async (t) => {
  const err = await rejection(t, client.getEndpoint('cbr0'));
  t.is(err.kind, 'not-found');
  t.is(err.hresult, HCN_E.ENDPOINT_NOT_FOUND);
  t.is(standins.hcnCalls().length, 0);
});

test.serial('already exists: a second network with the same name', async (t) => {
  await client.createNetwork(overlay());
  const err = await rejection(t, client.createNetwork(overlay()));
  t.is(err.hresult, HCN_E.NETWORK_ALREADY_EXISTS);
  t.is(err.kind, 'already-exists');
  t.is(err.call, 'HcnCreateNetwork');
  t.regex(err.errorRecord ?? '', /already exists/);
  assertBalanced(t);
});

test.serial('FACILITY_WIN32 HRESULTs are reduced (0x80070490 → 1168, not found) and the handle is still closed', async (t) => {
  await client.createNetwork(overlay());
  standins.hcnFailNext('HcnQueryNetworkProperties', 0x80070490, '{"Error":"Element not found."}');
  const err = await rejection(t, client.getNetwork(FIRST_ID));
  t.is(err.hresult, 1168);
  t.is(err.kind, 'not-found');
  t.is(err.context['rawHresult'], '0x80070490');
  t.is(err.errorRecord, '{"Error":"Element not found."}');
  t.regex(err.message, /Element not found\./);
  assertBalanced(t);
});

test.serial('S_OK with a non-empty error record is a failure; the record is kept verbatim', async (t) => {
  await client.createNetwork(overlay());
  standins.hcnFailNext('HcnModifyNetwork', 0, 'policy rejected: not JSON');
  const err = await rejection(
    t,
    client.modifyNetwork(FIRST_ID, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] } }),
  );
  t.is(err.call, 'HcnModifyNetwork');
  t.is(err.kind, 'other');
  t.is(err.errorRecord, 'policy rejected: not JSON');
  assertBalanced(t);
});

test.serial('an empty error record on success is freed and not a failure', async (t) => {
  standins.emptyErrorRecordOnSuccess(true);
  const created = await client.createNetwork(overlay());
  await client.getNetwork(created.ID ?? '');
  await client.deleteNetwork(created.ID ?? '');
  // create: record + props; get: record (open) + props + record (query); delete: record.
  t.true(standins.memory('allocs') >= 7);
  assertBalanced(t);
});

test.serial('modifyNetwork sends the RemoteSubnetRoute request byte for byte through an open handle', async (t) => {
  await client.createNetwork(overlay());
  standins.forgetCalls();
  await client.modifyNetwork(FIRST_ID, {
    ResourceType: 'Policy',
    RequestType: 'Add',
    Settings: {
      Policies: [
        {
          Type: 'RemoteSubnetRoute',
          Settings: { DestinationPrefix: '10.244.2.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.12', DistributedRouterMacAddress: '00-15-5d-01-02-03' },
        },
      ],
    },
  });
  const calls = standins.hcnCalls();
  t.deepEqual(calls.map((c) => c.fn), ['HcnOpenNetwork', 'HcnModifyNetwork', 'HcnCloseNetwork']);
  t.is(
    calls[1]?.document,
    '{"ResourceType":"Policy","RequestType":"Add","Settings":{"Policies":[{"Type":"RemoteSubnetRoute","Settings":' +
      '{"DestinationPrefix":"10.244.2.0/24","IsolationId":4096,"ProviderAddress":"192.168.1.12","DistributedRouterMacAddress":"00-15-5d-01-02-03"}}]}}',
  );
  assertBalanced(t, false);
});

test.serial('deleteNetwork needs no handle; the network is gone afterwards', async (t) => {
  await client.createNetwork(overlay());
  standins.forgetCalls();
  await client.deleteNetwork(FIRST_ID);
  const calls = standins.hcnCalls();
  t.deepEqual(calls.map((c) => c.fn), ['HcnDeleteNetwork']);
  t.deepEqual(calls[0]?.guid, Buffer.from('010000104523784689abcdef01234567', 'hex'));
  const err = await rejection(t, client.getNetwork(FIRST_ID));
  t.is(err.kind, 'not-found');
  t.deepEqual(await client.listNetworks(), []);
});

test.serial('createEndpoint opens the network, binds the endpoint to it and never sends HostComputeNamespace', async (t) => {
  await client.createNetwork(overlay());
  standins.forgetCalls();
  const endpoint = await client.createEndpoint(FIRST_ID.toUpperCase(), {
    Name: 'remote_10.244.2.5',
    HostComputeNamespace: 'aaaaaaaa-0000-4000-8000-000000000000',
    IpConfigurations: [{ IpAddress: '10.244.2.5' }],
    MacAddress: '02-11-0a-f4-02-05',
    Flags: 1,
    SchemaVersion: SCHEMA_V2,
    Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.1.12' } }],
  });
  t.is(endpoint.ID, SECOND_ID);
  t.is(endpoint.HostComputeNetwork, FIRST_ID);

  const calls = standins.hcnCalls();
  t.deepEqual(calls.map((c) => c.fn), [
    'HcnOpenNetwork',
    'HcnCreateEndpoint',
    'HcnQueryEndpointProperties',
    'HcnCloseEndpoint',
    'HcnCloseNetwork',
  ]);
  t.deepEqual(calls[0]?.guid, Buffer.from('010000104523784689abcdef01234567', 'hex'));
  t.deepEqual(calls[1]?.guid, ZERO);
  t.is(
    calls[1]?.document,
    '{"Name":"remote_10.244.2.5","IpConfigurations":[{"IpAddress":"10.244.2.5"}],"MacAddress":"02-11-0a-f4-02-05","Flags":1,' +
      '"SchemaVersion":{"Major":2,"Minor":0},"Policies":[{"Type":"ProviderAddress","Settings":{"ProviderAddress":"192.168.1.12"}}],' +
      `"HostComputeNetwork":"${FIRST_ID}"}`,
  );
  assertBalanced(t);
});

test.serial('createEndpoint on a missing network fails with NETWORK_NOT_FOUND before creating anything', async (t) => {
  const err = await rejection(t, client.createEndpoint('5e5e5e5e-0000-4000-8000-000000000001', { SchemaVersion: SCHEMA_V2 }));
  t.is(err.hresult, HCN_E.NETWORK_NOT_FOUND);
  t.deepEqual(standins.hcnCalls().map((c) => c.fn), ['HcnOpenNetwork']);
  assertBalanced(t);
});

test.serial('listEndpoints filters by network with the v1 key VirtualNetwork', async (t) => {
  const a = await client.createNetwork(overlay('a'));
  const b = await client.createNetwork(overlay('b'));
  const ea = await client.createEndpoint(a.ID ?? '', { Name: 'ea', SchemaVersion: SCHEMA_V2 });
  await client.createEndpoint(b.ID ?? '', { Name: 'eb', SchemaVersion: SCHEMA_V2 });
  standins.forgetCalls();
  const listed = await client.listEndpoints({ networkId: a.ID ?? '' });
  t.deepEqual(listed.map((e) => [e.ID, e.Name]), [[ea.ID, 'ea']]);
  t.is(standins.hcnCalls()[0]?.document, `{"SchemaVersion":{"Major":2,"Minor":0},"Filter":"{\\"VirtualNetwork\\":\\"${a.ID}\\"}"}`);
  t.is((await client.listEndpoints()).length, 2);
  assertBalanced(t);
});

test.serial('modifyEndpoint and getEndpoint round-trip through endpoint handles', async (t) => {
  const net = await client.createNetwork(overlay());
  const ep = await client.createEndpoint(net.ID ?? '', { Name: 'pod', SchemaVersion: SCHEMA_V2 });
  standins.forgetCalls();
  await client.modifyEndpoint(ep.ID ?? '', {
    ResourceType: 'Policy',
    RequestType: 'Update',
    Settings: { Policies: [{ Type: 'ACL', Settings: { Id: 'r1', Protocols: '6', Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 1000 } }] },
  });
  t.deepEqual((await client.getEndpoint(ep.ID ?? '')).Name, 'pod');
  const calls = standins.hcnCalls();
  t.deepEqual(calls.map((c) => c.fn), [
    'HcnOpenEndpoint',
    'HcnModifyEndpoint',
    'HcnCloseEndpoint',
    'HcnOpenEndpoint',
    'HcnQueryEndpointProperties',
    'HcnCloseEndpoint',
  ]);
  t.is(
    calls[1]?.document,
    '{"ResourceType":"Policy","RequestType":"Update","Settings":{"Policies":[{"Type":"ACL","Settings":' +
      '{"Id":"r1","Protocols":"6","Action":"Allow","Direction":"In","RuleType":"Switch","Priority":1000}}]}}',
  );
  await client.deleteEndpoint(ep.ID ?? '');
  t.is((await rejection(t, client.getEndpoint(ep.ID ?? ''))).hresult, HCN_E.ENDPOINT_NOT_FOUND);
  assertBalanced(t);
});

test.serial('documents are UTF-16 both ways: non-ASCII names survive exactly', async (t) => {
  const name = 'réseau-ü-🚀';
  const created = await client.createNetwork({ Name: name, Type: 'L2Bridge', SchemaVersion: SCHEMA_V2 });
  t.is(created.Name, name);
  t.is(standins.hcnCalls()[0]?.document, `{"Name":"${name}","Type":"L2Bridge","SchemaVersion":{"Major":2,"Minor":0}}`);
  t.is((await client.getNetworkByName(name))?.ID, FIRST_ID);
  assertBalanced(t);
});

test.serial('calls run on worker threads concurrently without losing handles or strings', async (t) => {
  const created = await client.createNetwork(overlay());
  const reads = await Promise.all(Array.from({ length: 24 }, () => client.getNetwork(created.ID ?? '')));
  t.true(reads.every((n) => n.ID === FIRST_ID));
  t.is(standins.handles('opened'), 25);
  assertBalanced(t);
});

test.serial('attachEndpointToHost POSTs the host attach request through HNSCall', async (t) => {
  const net = await client.createNetwork(overlay());
  const ep = await client.createEndpoint(net.ID ?? '', { Name: 'cbr0_ep', SchemaVersion: SCHEMA_V2 });
  await client.attachEndpointToHost((ep.ID ?? '').toUpperCase());
  t.deepEqual(standins.v1Calls(), [{ method: 'POST', path: `/endpoints/${SECOND_ID}/attach`, request: '{"SystemType":"Host","CompartmentId":1}' }]);
  t.true(standins.isAttached(SECOND_ID));
  assertBalanced(t);
});

test.serial('attaching an already attached endpoint succeeds (envelope text or HCN_E_ENDPOINT_ALREADY_ATTACHED)', async (t) => {
  const net = await client.createNetwork(overlay());
  const ep = await client.createEndpoint(net.ID ?? '', { Name: 'cbr0_ep', SchemaVersion: SCHEMA_V2 });
  await client.attachEndpointToHost(ep.ID ?? '');
  await t.notThrowsAsync(client.attachEndpointToHost(ep.ID ?? ''));
  standins.v1FailNext(HCN_E.ENDPOINT_ALREADY_ATTACHED, null);
  await t.notThrowsAsync(client.attachEndpointToHost(ep.ID ?? ''));
  t.is(standins.v1Calls().length, 3);
  assertBalanced(t);
});

test.serial('attach failures become HnsErrors: missing endpoint, HRESULT failure, unreadable response', async (t) => {
  const missing = await rejection(t, client.attachEndpointToHost('5e5e5e5e-0000-4000-8000-000000000003'));
  t.is(missing.kind, 'not-found');
  t.is(missing.hresult, 1168);
  t.is(missing.call, 'HNSCall');
  t.is(missing.context['endpointId'], '5e5e5e5e-0000-4000-8000-000000000003');
  t.regex(missing.message, /Element not found\./);

  standins.v1FailNext(0x80004005, '{"Success":false,"Error":"Unspecified error"}');
  const failed = await rejection(t, client.attachEndpointToHost('5e5e5e5e-0000-4000-8000-000000000003'));
  t.is(failed.hresult, 0x80004005);
  t.is(failed.errorRecord, '{"Success":false,"Error":"Unspecified error"}');
  t.regex(failed.message, /Unspecified error/);

  standins.v1FailNext(0, 'garbage');
  const garbled = await rejection(t, client.attachEndpointToHost('5e5e5e5e-0000-4000-8000-000000000003'));
  t.regex(garbled.message, /unreadable response/);
  assertBalanced(t);
});

test.serial('loadHcnClient fails loudly when a library is missing', (t) => {
  t.throws(() => loadHcnClient({ ...standins.paths, computenetworkPath: '/nonexistent/libcomputenetwork.so' }));
});
