import test from 'ava';
import { RouteError, WIN32, type HostRoute } from '../../src/routes/route-table.js';
import { openTestHost, overlayNetwork, readState } from './sim-fixture.js';

async function uplinkIndex(host: Awaited<ReturnType<typeof openTestHost>>): Promise<number> {
  return (await host.routes.listInterfaces())[0]!.index;
}

/** Routes the tests added, without the on-link and default routes a fresh host starts with. */
function added(routes: HostRoute[]): HostRoute[] {
  return routes.filter((r) => r.destination !== '0.0.0.0/0' && r.destination !== '192.168.1.0/24');
}

test('a fresh host has an on-link route and a default route on its uplink, as a DHCP-configured Windows host', async (t) => {
  const host = await openTestHost(t);
  const index = await uplinkIndex(host);
  t.deepEqual(
    (await host.routes.listRoutes('ipv4')).map((r) => [r.destination, r.nextHop, r.interfaceIndex]).sort(),
    [['0.0.0.0/0', '192.168.1.1', index], ['192.168.1.0/24', '0.0.0.0', index]],
  );
});

function route(interfaceIndex: number, destination = '10.244.2.0/24', nextHop = '192.168.1.12'): HostRoute {
  return { destination, nextHop, interfaceIndex, metric: 0, protocol: 3 };
}

test('routes are added, listed per family, persisted and deleted', async (t) => {
  const host = await openTestHost(t);
  const index = await uplinkIndex(host);
  await host.routes.addRoute(route(index));
  await host.routes.addRoute({ destination: 'fd00:10:244:2::/64', nextHop: 'fd00::12', interfaceIndex: index, metric: 5, protocol: 3 });
  t.deepEqual(added(await host.routes.listRoutes('ipv4')), [route(index)]);
  t.deepEqual((await host.routes.listRoutes('ipv6')).map((r) => r.destination), ['fd00:10:244:2::/64']);
  await host.flush();
  t.is((await readState(host.stateFile)).routes.length, 4, 'two added plus the fresh host\'s on-link and default routes');
  await host.routes.deleteRoute(route(index));
  t.deepEqual(added(await host.routes.listRoutes('ipv4')), []);
  t.deepEqual(host.counters()['addRoute'], 2);
  t.deepEqual(host.counters()['deleteRoute'], 1);
});

test('route errors carry the Win32 codes CreateIpForwardEntry2 and DeleteIpForwardEntry2 return', async (t) => {
  const host = await openTestHost(t);
  const index = await uplinkIndex(host);
  await host.routes.addRoute(route(index));
  const exists = await t.throwsAsync(host.routes.addRoute(route(index)), { instanceOf: RouteError });
  t.is(exists?.code, 'ROUTE_EXISTS');
  t.is(exists?.win32Code, WIN32.ERROR_OBJECT_ALREADY_EXISTS);
  const missing = await t.throwsAsync(host.routes.deleteRoute(route(index, '10.244.9.0/24')), { instanceOf: RouteError });
  t.is(missing?.code, 'ROUTE_NOT_FOUND');
  t.is(missing?.win32Code, WIN32.ERROR_NOT_FOUND);
  const noInterface = await t.throwsAsync(host.routes.addRoute(route(999)), { instanceOf: RouteError });
  t.is(noInterface?.win32Code, WIN32.ERROR_NOT_FOUND);
  const hostBits = await t.throwsAsync(host.routes.addRoute(route(index, '10.244.2.7/24')), { instanceOf: RouteError });
  t.is(hostBits?.code, 'ROUTE_INVALID');
  t.is(hostBits?.win32Code, WIN32.ERROR_INVALID_PARAMETER);
  t.deepEqual(added(await host.routes.listRoutes('ipv4')), [route(index)]);
});

test('routes and forwarding follow the uplink when the vEthernet adapter replaces it', async (t) => {
  const host = await openTestHost(t);
  const before = await uplinkIndex(host);
  await host.routes.addRoute(route(before));
  await host.routes.setForwarding(before, 'ipv4', true);
  await host.hns.createNetwork(overlayNetwork());
  const after = await uplinkIndex(host);
  t.not(after, before);
  t.deepEqual(added(await host.routes.listRoutes('ipv4')), [route(after)]);
  await host.flush();
  const stored = (await readState(host.stateFile)).interfaces.find((i) => i.index === after);
  t.deepEqual(stored?.forwarding, { ipv4: true, ipv6: false });
  t.is(stored?.name, 'vEthernet (Ethernet)');
  const stale = await t.throwsAsync(host.routes.setForwarding(before, 'ipv4', true), { instanceOf: RouteError });
  t.is(stale?.win32Code, WIN32.ERROR_NOT_FOUND);
  t.is(host.counters()['setForwarding'], 2);
});
