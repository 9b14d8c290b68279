import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { requireKoffi } from '../../../src/routes/iphlpapi/iphlpapi-library.js';
import { loadIphlpapiRouteTable, type IphlpapiRouteTable } from '../../../src/routes/iphlpapi/iphlpapi-route-table.js';
import { RouteError, type HostRoute } from '../../../src/routes/route-table.js';

/*
 * The real koffi driver against test/standins/iphlpapi.c (built into build/standins by
 * scripts/build-standins.sh). The stand-in is one process-wide table, so these tests run serially
 * and reset it first.
 */

function standinPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'scripts', 'build-standins.sh'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (scripts/build-standins.sh)');
    dir = parent;
  }
  const p = path.join(dir, 'build', 'standins', 'libiphlpapi.so');
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`bash scripts/build-standins.sh\` first`);
  return p;
}

const libPath = standinPath();
const koffi = requireKoffi();
const standin = koffi.load(libPath);
const reset = standin.func('Standin_Reset', 'void', []);
const failNext = standin.func('Standin_FailNext', 'void', ['const char *', 'uint32_t']);
const setAdapterPadding = standin.func('Standin_SetAdapterPadding', 'void', ['uint32_t']);
const routeCount = standin.func('Standin_RouteCount', 'int32_t', []) as () => number;
const lastRouteRowFn = standin.func('Standin_LastRouteRow', 'void', ['void *']);
const lastInterfaceRowFn = standin.func('Standin_LastInterfaceRow', 'void', ['void *']);
const forwarding = standin.func('Standin_Forwarding', 'int32_t', ['uint32_t', 'uint16_t']) as (i: number, f: number) => number;
const counterFn = standin.func('Standin_Counter', 'int64_t', ['const char *']);

const counter = (name: string): number => Number(counterFn(name));
function lastRouteRow(): Buffer {
  const b = Buffer.alloc(104);
  lastRouteRowFn(b);
  return b;
}
function lastInterfaceRow(): Buffer {
  const b = Buffer.alloc(168);
  lastInterfaceRowFn(b);
  return b;
}

let table: IphlpapiRouteTable;
test.before(() => {
  table = loadIphlpapiRouteTable({ iphlpapiPath: libPath });
});
test.beforeEach(() => reset());

const UPLINK = 7;
const peerRoute: HostRoute = { destination: '10.244.2.0/24', nextHop: '10.0.0.2', interfaceIndex: UPLINK, metric: 5, protocol: 3 };
const peerRoute6: HostRoute = {
  destination: 'fd00:10:244:2::/64',
  nextHop: 'fe80::215:5dff:fe01:299',
  interfaceIndex: UPLINK,
  metric: 0,
  protocol: 3,
};

async function rejectsWith(t: import('ava').ExecutionContext, p: Promise<unknown>, code: string, win32Code: number): Promise<RouteError> {
  const err = await t.throwsAsync(p);
  t.true(err instanceof RouteError, `expected RouteError, got ${String(err)}`);
  const re = err as RouteError;
  t.is(re.code, code);
  t.is(re.win32Code, win32Code);
  return re;
}

test.serial('an IPv4 row reaches iphlpapi with every field at its Windows offset', async (t) => {
  await table.addRoute(peerRoute);
  const row = lastRouteRow();
  t.is(row.readBigUInt64LE(0), 0n, 'InterfaceLuid 0: resolve by index');
  t.is(row.readUInt32LE(8), UPLINK, 'InterfaceIndex');
  t.is(row.readUInt16LE(12), 2, 'DestinationPrefix.Prefix.si_family = AF_INET');
  t.is(row.readUInt16BE(14), 0, 'sin_port');
  t.deepEqual([...row.subarray(16, 20)], [10, 244, 2, 0], 'sin_addr in network order');
  t.is(row.readUInt8(40), 24, 'DestinationPrefix.PrefixLength');
  t.is(row.readUInt16LE(44), 2, 'NextHop family');
  t.deepEqual([...row.subarray(48, 52)], [10, 0, 0, 2], 'NextHop address');
  t.is(row.readUInt8(72), 0xff, 'SitePrefixLength as InitializeIpForwardEntry left it');
  t.is(row.readUInt32LE(76), 0xffffffff, 'ValidLifetime infinite');
  t.is(row.readUInt32LE(80), 0xffffffff, 'PreferredLifetime infinite');
  t.is(row.readUInt32LE(84), 5, 'Metric');
  t.is(row.readInt32LE(88), 3, 'Protocol NetMgmt');
  t.deepEqual([...row.subarray(92, 96)], [1, 1, 1, 1], 'Loopback/AutoconfigureAddress/Publish/Immortal from Initialize');
  t.is(row.readUInt32LE(96), 0, 'Age');
  t.is(row.readInt32LE(100), 0, 'Origin');
  t.is(counter('calls:InitializeIpForwardEntry'), 1);
});

test.serial('an IPv6 row puts sin6_addr at +8 in each SOCKADDR_INET', async (t) => {
  await table.addRoute(peerRoute6);
  const row = lastRouteRow();
  t.is(row.readUInt16LE(12), 23, 'AF_INET6 (Windows value)');
  t.is(row.readUInt32LE(16), 0, 'sin6_flowinfo');
  t.deepEqual([...row.subarray(20, 28)], [0xfd, 0x00, 0x00, 0x10, 0x02, 0x44, 0x00, 0x02]);
  t.is(row.readUInt32LE(36), 0, 'sin6_scope_id');
  t.is(row.readUInt8(40), 64);
  t.is(row.readUInt16LE(44), 23);
  t.deepEqual([...row.subarray(52, 68)], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x15, 0x5d, 0xff, 0xfe, 0x01, 0x02, 0x99]);
  t.is(row.readUInt32LE(84), 0);
});

test.serial('add, list and delete round-trip for IPv4 and IPv6', async (t) => {
  const before4 = await table.listRoutes('ipv4');
  t.deepEqual(before4, [
    { destination: '0.0.0.0/0', nextHop: '10.0.0.1', interfaceIndex: 7, metric: 0, protocol: 3 },
    { destination: '10.0.0.0/24', nextHop: '0.0.0.0', interfaceIndex: 7, metric: 256, protocol: 2 },
  ]);
  t.deepEqual(await table.listRoutes('ipv6'), [
    { destination: 'fe80::/64', nextHop: '::', interfaceIndex: 7, metric: 256, protocol: 2 },
  ]);
  const seeded = routeCount();

  await table.addRoute(peerRoute);
  await table.addRoute(peerRoute6);
  t.is(routeCount(), seeded + 2);
  t.deepEqual(await table.listRoutes('ipv4'), [...before4, peerRoute]);
  const after6 = await table.listRoutes('ipv6');
  t.deepEqual(after6[after6.length - 1], peerRoute6);
  t.is(counter('last_table_family'), 23);

  await table.deleteRoute(peerRoute);
  await table.deleteRoute(peerRoute6);
  t.is(routeCount(), seeded);
  t.deepEqual(await table.listRoutes('ipv4'), before4);
  t.false((await table.listRoutes('ipv6')).some((r) => r.destination === peerRoute6.destination));
});

test.serial('adding an existing route is ROUTE_EXISTS (5010) and changes nothing', async (t) => {
  await table.addRoute(peerRoute);
  const count = routeCount();
  const err = await rejectsWith(t, table.addRoute(peerRoute), 'ROUTE_EXISTS', 5010);
  t.is(err.context['destination'], '10.244.2.0/24');
  t.is(err.context['call'], 'CreateIpForwardEntry2');
  t.is(routeCount(), count);
  // The seeded default route counts as existing too.
  await rejectsWith(t, table.addRoute({ destination: '0.0.0.0/0', nextHop: '10.0.0.1', interfaceIndex: 7, metric: 0, protocol: 3 }), 'ROUTE_EXISTS', 5010);
});

test.serial('deleting a missing route is ROUTE_NOT_FOUND (1168)', async (t) => {
  const err = await rejectsWith(t, table.deleteRoute(peerRoute), 'ROUTE_NOT_FOUND', 1168);
  t.is(err.context['interfaceIndex'], UPLINK);
  await table.addRoute(peerRoute);
  await table.deleteRoute(peerRoute);
  await rejectsWith(t, table.deleteRoute(peerRoute), 'ROUTE_NOT_FOUND', 1168);
});

test.serial('adding on an unknown interface is ROUTE_INVALID, not ROUTE_NOT_FOUND', async (t) => {
  const err = await rejectsWith(t, table.addRoute({ ...peerRoute, interfaceIndex: 99 }), 'ROUTE_INVALID', 1168);
  t.regex(err.message, /interface not found/);
});

test.serial('malformed routes are refused before any call', async (t) => {
  for (const bad of [
    { ...peerRoute, destination: '10.244.2.1/24' },
    { ...peerRoute, destination: 'not-a-cidr' },
    { ...peerRoute, nextHop: 'fe80::1' },
  ]) {
    const err = await rejectsWith(t, table.addRoute(bad), 'ROUTE_INVALID', 87);
    t.is(err.context['rejectedLocally'], true);
  }
  await rejectsWith(t, table.deleteRoute({ ...peerRoute, destination: '10.244.2.1/24' }), 'ROUTE_INVALID', 87);
  t.is(counter('calls:CreateIpForwardEntry2'), 0);
  t.is(counter('calls:DeleteIpForwardEntry2'), 0);
});

test.serial('Win32 failures map to RouteError codes with the call named', async (t) => {
  failNext('CreateIpForwardEntry2', 5);
  await rejectsWith(t, table.addRoute(peerRoute), 'ROUTE_ACCESS_DENIED', 5);
  failNext('DeleteIpForwardEntry2', 50);
  const err = await rejectsWith(t, table.deleteRoute(peerRoute), 'ROUTE_FAILED', 50);
  t.regex(err.message, /^DeleteIpForwardEntry2: /);
  t.is(routeCount(), 3, 'nothing was added or removed');
});

test.serial('every forwarding table handed out is freed exactly once', async (t) => {
  await table.addRoute(peerRoute);
  await table.listRoutes('ipv4');
  await Promise.all([table.listRoutes('ipv4'), table.listRoutes('ipv6'), table.listRoutes('ipv4'), table.listRoutes('ipv6')]);
  t.is(counter('tables_handed_out'), 5);
  t.is(counter('tables_freed'), 5);
  t.is(counter('tables_live'), 0);
  t.is(counter('bad_frees'), 0, 'no double or foreign frees');
  t.is(counter('null_frees'), 0);

  failNext('GetIpForwardTable2', 5);
  await rejectsWith(t, table.listRoutes('ipv4'), 'ROUTE_ACCESS_DENIED', 5);
  t.is(counter('tables_handed_out'), 5, 'a failed call hands out no table');
  t.is(counter('tables_freed'), 5);
  t.is(counter('null_frees'), 0, 'and none is "freed"');
});

test.serial('interfaces are listed with names, addresses, MTU, state and LUID', async (t) => {
  const ifaces = await table.listInterfaces();
  t.deepEqual(ifaces, [
    {
      index: 7,
      name: 'vEthernet (Ethernet)',
      ipv4Addresses: ['10.0.0.5'],
      ipv6Addresses: ['fe80::215:5dff:fe01:203'],
      mtu: 1500,
      up: true,
      luid: ((6n << 48n) | (3n << 24n)).toString(),
    },
    {
      index: 12,
      name: 'WLAN – Büro',
      ipv4Addresses: ['192.168.50.2', '192.168.51.2'],
      ipv6Addresses: [],
      mtu: 1450,
      up: false,
      // Above 2^53: a JSON number would have rounded it.
      luid: ((71n << 48n) | (9n << 24n)).toString(),
    },
  ]);
  t.is(counter('last_gaa_family'), 0, 'AF_UNSPEC: both families');
  t.is(counter('last_gaa_flags'), 0x2 | 0x4 | 0x8, 'skip anycast, multicast and DNS servers; keep unicast and names');
  t.is(counter('calls:GetAdaptersAddresses'), 1, 'the first 15 KB guess fits');
});

test.serial('a too-small adapter buffer is retried with the size Windows asks for', async (t) => {
  setAdapterPadding(20_000);
  const ifaces = await table.listInterfaces();
  t.deepEqual(
    ifaces.map((i) => i.name),
    ['vEthernet (Ethernet)', 'WLAN – Büro'],
  );
  t.is(counter('calls:GetAdaptersAddresses'), 2);
  failNext('GetAdaptersAddresses', 5);
  await rejectsWith(t, table.listInterfaces(), 'ROUTE_ACCESS_DENIED', 5);
});

test.serial('setForwarding writes ForwardingEnabled through a Get-then-Set row', async (t) => {
  t.is(forwarding(UPLINK, 2), 0);
  await table.setForwarding(UPLINK, 'ipv4', true);
  t.is(forwarding(UPLINK, 2), 1);
  t.is(forwarding(UPLINK, 23), 0, 'the other family is untouched');
  const row = lastInterfaceRow();
  t.is(row.readUInt16LE(0), 2, 'Family');
  t.is(row.readBigUInt64LE(8), (6n << 48n) | (3n << 24n), 'InterfaceLuid as GetIpInterfaceEntry filled it');
  t.is(row.readUInt32LE(16), UPLINK, 'InterfaceIndex');
  t.is(row.readUInt8(41), 1, 'ForwardingEnabled');
  t.is(row.readUInt32LE(144), 0, 'SitePrefixLength zeroed for IPv4 (Set rejects what Get returns)');
  t.is(row.readUInt32LE(152), 1500, 'NlMtu kept from Get');
  t.is(counter('calls:SetIpInterfaceEntry'), 1);

  await table.setForwarding(UPLINK, 'ipv4', true);
  t.is(counter('calls:SetIpInterfaceEntry'), 1, 'already enabled: no write');
  t.is(counter('calls:GetIpInterfaceEntry'), 2);

  await table.setForwarding(UPLINK, 'ipv6', true);
  t.is(forwarding(UPLINK, 23), 1);
  t.is(lastInterfaceRow().readUInt32LE(144), 48, 'IPv6 keeps its SitePrefixLength');

  await table.setForwarding(UPLINK, 'ipv4', false);
  t.is(forwarding(UPLINK, 2), 0);
  t.is(lastInterfaceRow().readUInt8(41), 0);
});

test.serial('setForwarding on an unknown interface is ROUTE_NOT_FOUND; Set failures surface', async (t) => {
  const err = await rejectsWith(t, table.setForwarding(99, 'ipv4', true), 'ROUTE_NOT_FOUND', 1168);
  t.is(err.context['call'], 'GetIpInterfaceEntry');
  t.is(err.context['interfaceIndex'], 99);
  failNext('SetIpInterfaceEntry', 5);
  await rejectsWith(t, table.setForwarding(UPLINK, 'ipv4', true), 'ROUTE_ACCESS_DENIED', 5);
  t.is(forwarding(UPLINK, 2), 0);
});

test('a missing library fails at load with IPHLPAPI_LOAD, naming the path', (t) => {
  const err = t.throws(() => loadIphlpapiRouteTable({ iphlpapiPath: '/nonexistent/iphlpapi.dll' }));
  t.is((err as { code?: string }).code, 'IPHLPAPI_LOAD');
  t.regex(err?.message ?? '', /\/nonexistent\/iphlpapi\.dll/);
});
