import test from 'ava';
import { HOST_ROUTE_METRIC, HOST_ROUTE_PROTOCOL, HostRouteKind } from '../../../src/backends/host-gw/host-route-kind.js';
import type { HostRouteSpec } from '../../../src/backends/host-gw/host-route.js';
import { parseIp4Net } from '../../../src/net/ip.js';
import { RouteError, WIN32, type HostRoute } from '../../../src/routes/route-table.js';
import { FakeRouteTable, netInterface, route } from './fake-route-table.js';

const IF = 7;
const signal = new AbortController().signal;

function setup(routes: HostRoute[] = []): { table: FakeRouteTable; kind: HostRouteKind } {
  const table = new FakeRouteTable({ interfaces: [netInterface(IF, 'vEthernet (Ethernet)', '10.0.0.5'), netInterface(9, 'Wi-Fi', '192.168.1.4')], routes });
  const kind = new HostRouteKind({ routes: table, interfaceIndex: IF, clusterNetwork: parseIp4Net('10.244.0.0/16'), ownSubnet: parseIp4Net('10.244.3.0/24') });
  return { table, kind };
}

function spec(destination: string, nextHop: string): HostRouteSpec {
  return { destination, nextHop, interfaceIndex: IF };
}

test('listActual returns only peer-subnet routes on our interface, keyed by destination', async (t) => {
  const { kind } = setup([
    route('0.0.0.0/0', '10.0.0.1', IF), // default route
    route('10.0.0.0/24', '0.0.0.0', IF), // segment, on-link
    route('10.244.0.0/16', '10.0.0.1', IF), // the whole cluster network: not a peer subnet
    route('10.244.3.0/24', '10.0.0.9', IF), // our own subnet
    route('10.244.3.128/25', '10.0.0.9', IF), // inside our own subnet
    route('10.244.4.0/24', '0.0.0.0', IF), // on-link
    route('10.244.5.0/24', '192.168.1.1', 9), // another interface
    route('172.16.0.0/24', '10.0.0.20', IF), // outside the cluster network
    route('10.244.2.0/24', '10.0.0.12', IF, 256, 3), // a peer route, e.g. left by flannel
  ]);
  const actual = await kind.listActual();
  t.deepEqual([...actual.keys()], ['10.244.2.0/24']);
  t.like(actual.get('10.244.2.0/24'), { destination: '10.244.2.0/24', nextHop: '10.0.0.12', interfaceIndex: IF, metric: 256, others: [] });
});

test('a route left with another metric still matches: a restart rewrites nothing', async (t) => {
  const { kind } = setup([route('10.244.2.0/24', '10.0.0.12', IF, 256, 3)]);
  const actual = (await kind.listActual()).get('10.244.2.0/24')!;
  t.true(kind.matches(spec('10.244.2.0/24', '10.0.0.12'), actual));
  t.false(kind.matches(spec('10.244.2.0/24', '10.0.0.13'), actual));
  t.false(kind.matches({ ...spec('10.244.2.0/24', '10.0.0.12'), interfaceIndex: 8 }, actual));
});

test('toActual is what listActual reads back after a create', async (t) => {
  const { table, kind } = setup();
  const desired = spec('10.244.2.0/24', '10.0.0.12');
  await kind.apply([{ op: 'create', key: desired.destination, desired }], signal);
  t.deepEqual(table.routes, [route('10.244.2.0/24', '10.0.0.12', IF, HOST_ROUTE_METRIC, HOST_ROUTE_PROTOCOL)]);
  const actual = (await kind.listActual()).get('10.244.2.0/24')!;
  t.deepEqual(actual, kind.toActual(desired));
  t.true(kind.matches(desired, actual));
});

test('a route to the same destination with another next hop is replaced: delete, then add', async (t) => {
  const { table, kind } = setup([route('10.244.2.0/24', '10.0.0.99', IF)]);
  const actual = (await kind.listActual()).get('10.244.2.0/24')!;
  const desired = spec('10.244.2.0/24', '10.0.0.12');
  await kind.apply([{ op: 'replace', key: desired.destination, desired, actual }], signal);
  t.deepEqual(table.writes, ['delete 10.244.2.0/24 via 10.0.0.99 if 7', 'add 10.244.2.0/24 via 10.0.0.12 if 7']);
  t.deepEqual(table.routes.map((r) => r.nextHop), ['10.0.0.12']);
});

test('a second next hop for a peer destination never matches; replacing keeps the wanted route in place', async (t) => {
  const { table, kind } = setup([route('10.244.2.0/24', '10.0.0.12', IF), route('10.244.2.0/24', '10.0.0.99', IF)]);
  const actual = (await kind.listActual()).get('10.244.2.0/24')!;
  t.is(actual.others.length, 1);
  const desired = spec('10.244.2.0/24', '10.0.0.12');
  t.false(kind.matches(desired, actual));
  await kind.apply([{ op: 'replace', key: desired.destination, desired, actual }], signal);
  t.deepEqual(table.writes, ['delete 10.244.2.0/24 via 10.0.0.99 if 7', 'add 10.244.2.0/24 via 10.0.0.12 if 7']);
  t.deepEqual(table.routes, [route('10.244.2.0/24', '10.0.0.12', IF)]);
});

test('delete removes the route and every duplicate', async (t) => {
  const { table, kind } = setup([route('10.244.2.0/24', '10.0.0.12', IF), route('10.244.2.0/24', '10.0.0.99', IF), route('0.0.0.0/0', '10.0.0.1', IF)]);
  const actual = (await kind.listActual()).get('10.244.2.0/24')!;
  await kind.apply([{ op: 'delete', key: '10.244.2.0/24', actual }], signal);
  t.deepEqual(table.routes, [route('0.0.0.0/0', '10.0.0.1', IF)]);
});

test('ROUTE_EXISTS on add and ROUTE_NOT_FOUND on delete count as success', async (t) => {
  const { table, kind } = setup([route('10.244.2.0/24', '10.0.0.12', IF)]);
  const desired = spec('10.244.2.0/24', '10.0.0.12');
  await t.notThrowsAsync(kind.apply([{ op: 'create', key: desired.destination, desired }], signal));
  await t.notThrowsAsync(kind.apply([{ op: 'delete', key: '10.244.6.0/24', actual: { ...route('10.244.6.0/24', '10.0.0.16', IF), others: [] } }], signal));
  t.deepEqual(table.routes, [route('10.244.2.0/24', '10.0.0.12', IF)]);
  t.is(table.writes.length, 2);
});

test('other route errors are raised with their code', async (t) => {
  const { table, kind } = setup();
  table.addRoute = async () => {
    throw new RouteError('ROUTE_ACCESS_DENIED', 'CreateIpForwardEntry2', WIN32.ERROR_ACCESS_DENIED, 'access denied');
  };
  const desired = spec('10.244.2.0/24', '10.0.0.12');
  const err = await t.throwsAsync(kind.apply([{ op: 'create', key: desired.destination, desired }], signal));
  t.is((err as RouteError).code, 'ROUTE_ACCESS_DENIED');
});

test('a relisting keeps the entries Windows still holds unchanged, and reads anew what changed or moved', async (t) => {
  const { table, kind } = setup([route('10.244.2.0/24', '10.0.0.12', IF, 256, 3), route('10.244.4.0/24', '10.0.0.14', IF)]);
  const first = await kind.listActual(signal);
  const again = await kind.listActual(signal, first);
  t.is(again.get('10.244.2.0/24'), first.get('10.244.2.0/24'), 'an unchanged route keeps its entry');
  t.is(again.get('10.244.4.0/24'), first.get('10.244.4.0/24'));

  // Someone changes one next hop and adds a second route for the other destination.
  table.routes.splice(0, table.routes.length, route('10.244.2.0/24', '10.0.0.13', IF, 256, 3), route('10.244.4.0/24', '10.0.0.14', IF), route('10.244.4.0/24', '10.0.0.15', IF));
  const changed = await kind.listActual(signal, again);
  t.like(changed.get('10.244.2.0/24'), { nextHop: '10.0.0.13' });
  t.deepEqual(changed.get('10.244.4.0/24')?.others.map((r) => r.nextHop), ['10.0.0.15'], 'the duplicate is still seen');
  t.deepEqual(again.get('10.244.4.0/24')?.others, [], 'the kept entry itself is never edited');
});

test('a known route on an interface that is no longer ours is not kept', async (t) => {
  let index = IF;
  const table = new FakeRouteTable({ interfaces: [netInterface(IF, 'vEthernet (Ethernet)', '10.0.0.5'), netInterface(11, 'vEthernet (Ethernet) 2', '10.0.0.5')], routes: [route('10.244.2.0/24', '10.0.0.12', IF)] });
  const kind = new HostRouteKind({ routes: table, interfaceIndex: () => index, clusterNetwork: parseIp4Net('10.244.0.0/16'), ownSubnet: parseIp4Net('10.244.3.0/24') });
  const first = await kind.listActual(signal);
  t.true(first.has('10.244.2.0/24'));
  index = 11; // the network was recreated: a new vEthernet adapter
  t.false((await kind.listActual(signal, first)).has('10.244.2.0/24'));
});
