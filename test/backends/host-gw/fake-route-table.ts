import { RouteError, WIN32, type AddressFamily, type HostRoute, type NetInterface, type RouteTable } from '../../../src/routes/route-table.js';

/**
 * An in-memory RouteTable with Windows' route identity (destination, next hop, interface) and
 * its answers: ROUTE_EXISTS on a duplicate add, ROUTE_NOT_FOUND on deleting an absent route.
 * Every write is recorded so tests can count them.
 */
export class FakeRouteTable implements RouteTable {
  readonly routes: HostRoute[] = [];
  readonly interfaces: NetInterface[] = [];
  readonly forwarding = new Map<number, boolean>();
  readonly writes: string[] = [];

  constructor(init: { interfaces?: NetInterface[]; routes?: HostRoute[] } = {}) {
    this.interfaces.push(...(init.interfaces ?? []));
    this.routes.push(...(init.routes ?? []));
  }

  async listRoutes(family: AddressFamily): Promise<HostRoute[]> {
    return this.routes.filter((r) => r.destination.includes(':') === (family === 'ipv6')).map((r) => ({ ...r }));
  }

  async addRoute(route: HostRoute): Promise<void> {
    this.writes.push(`add ${route.destination} via ${route.nextHop} if ${route.interfaceIndex}`);
    if (this.find(route) >= 0) throw new RouteError('ROUTE_EXISTS', 'CreateIpForwardEntry2', WIN32.ERROR_OBJECT_ALREADY_EXISTS, 'exists');
    this.routes.push({ ...route });
  }

  async deleteRoute(route: HostRoute): Promise<void> {
    this.writes.push(`delete ${route.destination} via ${route.nextHop} if ${route.interfaceIndex}`);
    const i = this.find(route);
    if (i < 0) throw new RouteError('ROUTE_NOT_FOUND', 'DeleteIpForwardEntry2', WIN32.ERROR_NOT_FOUND, 'no such route');
    this.routes.splice(i, 1);
  }

  async listInterfaces(): Promise<NetInterface[]> {
    return this.interfaces.map((i) => structuredClone(i));
  }

  async setForwarding(interfaceIndex: number, family: AddressFamily, enabled: boolean): Promise<void> {
    if (family !== 'ipv4') throw new Error('only ipv4 is expected');
    if (!this.interfaces.some((i) => i.index === interfaceIndex)) {
      throw new RouteError('ROUTE_NOT_FOUND', 'SetIpInterfaceEntry', WIN32.ERROR_NOT_FOUND, 'no such interface');
    }
    this.forwarding.set(interfaceIndex, enabled);
  }

  /** Windows builds a vSwitch on an adapter: same addresses, new index and name, routes move. */
  bindVSwitch(index: number): NetInterface {
    const i = this.interfaces.findIndex((x) => x.index === index);
    const old = this.interfaces[i]!;
    const next: NetInterface = { ...structuredClone(old), index: Math.max(...this.interfaces.map((x) => x.index)) + 1, name: `vEthernet (${old.name})` };
    this.interfaces.splice(i, 1, next);
    for (const r of this.routes) if (r.interfaceIndex === index) r.interfaceIndex = next.index;
    return next;
  }

  private find(route: HostRoute): number {
    return this.routes.findIndex(
      (r) => r.destination === route.destination && r.nextHop === route.nextHop && r.interfaceIndex === route.interfaceIndex,
    );
  }
}

export function netInterface(index: number, name: string, ipv4: string, mtu = 1500): NetInterface {
  return { index, name, ipv4Addresses: [ipv4], ipv6Addresses: [], mtu, up: true, luid: String(index * 2 ** 24) };
}

export function route(destination: string, nextHop: string, interfaceIndex: number, metric = 0, protocol = 3): HostRoute {
  return { destination, nextHop, interfaceIndex, metric, protocol };
}
