import { forEachInSlices } from '../../async/in-slices.js';
import { formatIp4, formatIp4Net, ip4NetContainsNet, ip4NetsOverlap, maskIp4Net, tryParseIp4, tryParseIp4Net, type Ip4Net } from '../../net/ip.js';
import type { Change, ResourceKind } from '../../reconcile/resource-kind.js';
import { RouteError, type HostRoute, type RouteTable } from '../../routes/route-table.js';
import { sameHostRoute, type HostRouteSpec } from './host-route.js';

/** Route metric of the routes we add: 0 lets Windows use the interface metric alone. */
export const HOST_ROUTE_METRIC = 0;
/** NL_ROUTE_PROTOCOL RouteProtocolNetMgmt (3): a static route, as New-NetRoute creates. */
export const HOST_ROUTE_PROTOCOL = 3;

/**
 * What the host holds for one destination on our interface. Windows identifies a route by
 * (destination, next hop, interface), so someone may have added a second next hop for the same
 * destination: those are kept in `others`, and a destination with others never matches, so the
 * reconciler replaces it and only the wanted route is left.
 */
export interface ActualHostRoute extends HostRoute {
  readonly others: readonly HostRoute[];
}

export interface HostRouteKindOptions {
  routes: RouteTable;
  /**
   * The interface our routes go on (the bridge's vEthernet adapter); a function when it can
   * change (a recreated network brings a new vEthernet adapter with a new index).
   */
  interfaceIndex: number | (() => number);
  /** net-conf `Network`: only peer subnets inside it can be ours. */
  clusterNetwork: Ip4Net;
  /** The own lease's subnet: reached through the bridge endpoint, never a route of ours. */
  ownSubnet: Ip4Net;
}

/**
 * The host routes to peer subnets, as a reconciler resource kind. We own exactly the routes on
 * our interface with a next hop (not on-link) whose destination is a proper subnet of the
 * cluster network and does not overlap our own subnet; everything else in the table (the
 * default route, the segment's on-link routes, routes on other interfaces) is left alone.
 */
export class HostRouteKind implements ResourceKind<HostRouteSpec, ActualHostRoute> {
  readonly name = 'host-route';
  /**
   * One CreateIpForwardEntry2 per route (Windows has no batch call) and each is cheap: the
   * HNS-sized default of 100/s would stretch a 5,000-peer cold start to almost a minute.
   */
  readonly rateLimit = { perSecond: 2000, burst: 2000 };
  private readonly routes: RouteTable;
  private readonly interfaceIndexOf: () => number;
  private readonly clusterNetwork: Ip4Net;
  private readonly ownSubnet: Ip4Net;

  constructor(options: HostRouteKindOptions) {
    this.routes = options.routes;
    const index = options.interfaceIndex;
    this.interfaceIndexOf = typeof index === 'number' ? () => index : index;
    this.clusterNetwork = maskIp4Net(options.clusterNetwork);
    this.ownSubnet = maskIp4Net(options.ownSubnet);
  }

  async listActual(signal?: AbortSignal, previous?: ReadonlyMap<string, ActualHostRoute>): Promise<Map<string, ActualHostRoute>> {
    const actual = new Map<string, ActualHostRoute>();
    const interfaceIndex = this.interfaceIndexOf();
    // Sliced: the route table holds one route per peer, 20,000 of them in a large cluster.
    await forEachInSlices(await this.routes.listRoutes('ipv4'), (route) => {
      const known = previous?.get(route.destination);
      if (known !== undefined && known.others.length === 0 && route.interfaceIndex === interfaceIndex && sameRouteFields(known, route) && !actual.has(route.destination)) {
        // Windows still holds exactly the route we knew: keep that entry (no garbage per route).
        actual.set(route.destination, known);
        return;
      }
      const owned = this.owned(route);
      if (!owned) return;
      const entry = actual.get(owned.destination);
      if (entry) actual.set(owned.destination, { ...entry, others: [...entry.others, owned] });
      else actual.set(owned.destination, { ...owned, others: [] });
    }, signal ? { signal } : {});
    return actual;
  }

  matches(desired: HostRouteSpec, actual: ActualHostRoute): boolean {
    // Metric and protocol are not compared: a route flannel added (New-NetRoute, metric 256) or
    // one Windows reports with another protocol still carries the traffic; rewriting it would
    // cost a write and a blip on every restart.
    return actual.others.length === 0 && sameHostRoute(desired, actual);
  }

  toActual(desired: HostRouteSpec): ActualHostRoute {
    return { ...this.toHostRoute(desired), others: [] };
  }

  async apply(changes: readonly Change<HostRouteSpec, ActualHostRoute>[], signal?: AbortSignal): Promise<void> {
    for (const change of changes) {
      signal?.throwIfAborted();
      if (change.op !== 'create') {
        for (const route of [change.actual, ...change.actual.others]) {
          // Keep a route that already is the wanted one: deleting and re-adding it would drop
          // the peer's traffic for a moment.
          if (change.op === 'replace' && sameHostRoute(route, change.desired)) continue;
          await this.deleteRoute(route);
        }
      }
      if (change.op !== 'delete') await this.addRoute(this.toHostRoute(change.desired));
    }
  }

  private toHostRoute(spec: HostRouteSpec): HostRoute {
    return {
      destination: spec.destination,
      nextHop: spec.nextHop,
      interfaceIndex: spec.interfaceIndex,
      metric: HOST_ROUTE_METRIC,
      protocol: HOST_ROUTE_PROTOCOL,
    };
  }

  /** The route in normalised form when it is one of ours, else undefined. */
  private owned(route: HostRoute): HostRoute | undefined {
    if (route.interfaceIndex !== this.interfaceIndexOf()) return undefined;
    const hop = tryParseIp4(route.nextHop);
    if (hop === undefined || hop === 0) return undefined;
    const parsed = tryParseIp4Net(route.destination);
    if (!parsed) return undefined;
    const destination = maskIp4Net(parsed);
    if (destination.prefixLen <= this.clusterNetwork.prefixLen || !ip4NetContainsNet(this.clusterNetwork, destination)) return undefined;
    if (ip4NetsOverlap(destination, this.ownSubnet)) return undefined;
    return { ...route, destination: formatIp4Net(destination), nextHop: formatIp4(hop) };
  }

  private async addRoute(route: HostRoute): Promise<void> {
    try {
      await this.routes.addRoute(route);
    } catch (err) {
      // Windows says "exists" only for the same (destination, next hop, interface): the state we want.
      if (err instanceof RouteError && err.code === 'ROUTE_EXISTS') return;
      throw err;
    }
  }

  private async deleteRoute(route: HostRoute): Promise<void> {
    try {
      await this.routes.deleteRoute(route);
    } catch (err) {
      if (err instanceof RouteError && err.code === 'ROUTE_NOT_FOUND') return;
      throw err;
    }
  }
}

function sameRouteFields(a: HostRoute, b: HostRoute): boolean {
  return a.destination === b.destination && a.nextHop === b.nextHop && a.interfaceIndex === b.interfaceIndex && a.metric === b.metric && a.protocol === b.protocol;
}
