import type { AddressFamily, HostRoute, NetInterface } from '../routes/route-table.js';
import { RouteError, WIN32 } from '../routes/route-table.js';
import { formatIp4, formatIp4Net, formatIp6, formatIp6Net, maskIp4Net, maskIp6Net, parseIp4Net, parseIp6Net, tryParseIp4, tryParseIp6 } from '../net/ip.js';

/** A simulated interface: what listInterfaces reports plus what the simulator needs to remember. */
export interface SimInterface extends NetInterface {
  /** The interface flannel treats as external when no adapter is named (the uplink). */
  external: boolean;
  /** Set on a vEthernet adapter: the physical adapter name it replaced. */
  vSwitchFor?: string;
  forwarding: { ipv4: boolean; ipv6: boolean };
}

export interface HostNetSnapshot {
  interfaces: SimInterface[];
  routes: HostRoute[];
  nextInterfaceIndex: number;
}

/** IfType 6 = IF_TYPE_ETHERNET_CSMACD; NET_LUID packs IfType in bits 48-63, NetLuidIndex in 24-47. */
function luidFor(index: number): string {
  return ((6n << 48n) | (BigInt(index) << 24n)).toString();
}

function freshRoutes(ipv4: string, index: number): HostRoute[] {
  const address = tryParseIp4(ipv4);
  if (address === undefined) return [];
  const onLink = maskIp4Net({ ip: address, prefixLen: 24 });
  return [
    { destination: formatIp4Net(onLink), nextHop: '0.0.0.0', interfaceIndex: index, metric: 256, protocol: 2 },
    { destination: '0.0.0.0/0', nextHop: formatIp4(onLink.ip + 1), interfaceIndex: index, metric: 0, protocol: 3 },
  ];
}

interface NormalisedRoute {
  family: AddressFamily;
  destination: string;
  nextHop: string;
}

/**
 * Interfaces, forwarding flags and the IP forwarding table of one simulated Windows host, with
 * the Win32 answers CreateIpForwardEntry2 / DeleteIpForwardEntry2 give. Routes are indexed by
 * (destination, next hop, interface) — the identity Windows uses — so add and delete are O(1).
 */
export class HostNetModel {
  private readonly interfaces = new Map<number, SimInterface>();
  private readonly routes: Record<AddressFamily, Map<string, HostRoute>> = { ipv4: new Map(), ipv6: new Map() };
  private nextIndex: number;
  /** How many calls a freshly swapped adapter stays down for (0: it is up at once). */
  private switchCutoffCalls = 0;
  /** Adapters in their cut-off: index → calls left before they come up. Not persisted. */
  private readonly cutoff = new Map<number, number>();

  constructor(snapshot: HostNetSnapshot) {
    for (const iface of snapshot.interfaces) this.interfaces.set(iface.index, structuredClone(iface));
    for (const route of snapshot.routes) {
      const n = normaliseRouteOrUndefined(route);
      if (n) this.routes[n.family].set(routeKey(n, route.interfaceIndex), { ...route, destination: n.destination, nextHop: n.nextHop });
    }
    this.nextIndex = Math.max(snapshot.nextInterfaceIndex, ...[...this.interfaces.keys()].map((i) => i + 1));
  }

  static fresh(defaults: { name: string; index: number; ipv4: string; mtu: number }): HostNetModel {
    return new HostNetModel({
      interfaces: [{
        index: defaults.index, name: defaults.name, ipv4Addresses: [defaults.ipv4], ipv6Addresses: [], mtu: defaults.mtu, up: true,
        luid: luidFor(defaults.index), external: true, forwarding: { ipv4: false, ipv6: false },
      }],
      // As on a DHCP-configured Windows host: the on-link /24 and a default route via .1 on the
      // uplink, so interface selection finds the default-route interface as flanneld does.
      routes: freshRoutes(defaults.ipv4, defaults.index),
      nextInterfaceIndex: defaults.index + 1,
    });
  }

  snapshot(): HostNetSnapshot {
    return {
      // A cut-off is transient: a restarted host finds the adapter up.
      interfaces: [...this.interfaces.values()].map((i) => ({ ...structuredClone(i), up: this.cutoff.has(i.index) ? true : i.up })),
      routes: [...this.routes.ipv4.values(), ...this.routes.ipv6.values()].map((r) => ({ ...r })),
      nextInterfaceIndex: this.nextIndex,
    };
  }

  listInterfaces(): NetInterface[] {
    return [...this.interfaces.values()].map(({ index, name, ipv4Addresses, ipv6Addresses, mtu, up, luid }) => ({
      index, name, ipv4Addresses: [...ipv4Addresses], ipv6Addresses: [...ipv6Addresses], mtu, up, luid,
    }));
  }

  forwarding(index: number, family: AddressFamily): boolean | undefined {
    return this.interfaces.get(index)?.forwarding[family];
  }

  /** The adapter an HNS network binds to: by name (or the name a vEthernet replaced), else the external one. */
  resolveAdapter(name: string | undefined): SimInterface | undefined {
    for (const iface of this.interfaces.values()) {
      if (name === undefined ? iface.external : iface.name === name || iface.vSwitchFor === name) return iface;
    }
    return undefined;
  }

  /**
   * Windows replaces the physical NIC with a vEthernet adapter when a vSwitch is created on it:
   * a new index and name, the same addresses and MTU; the old index disappears and its routes
   * and forwarding settings move to the new adapter. Idempotent for an adapter that already is one.
   */
  bindVSwitch(index: number): SimInterface {
    const old = this.interfaces.get(index);
    if (!old) throw new Error(`bindVSwitch: no interface ${index}`);
    if (old.vSwitchFor !== undefined) return old;
    return this.replaceInterface(old, { name: `vEthernet (${old.name})`, vSwitchFor: old.name });
  }

  /** The last network on a vSwitch is gone: the physical adapter comes back under a new index. */
  releaseVSwitch(index: number): void {
    const current = this.interfaces.get(index);
    if (!current || current.vSwitchFor === undefined) return;
    this.replaceInterface(current, { name: current.vSwitchFor, vSwitchFor: undefined });
  }

  /**
   * Models the connectivity gap of the vEthernet swap deterministically: the new adapter reports
   * `up: false` for the next `calls` calls to the host, then comes up (compat/hns.md §7).
   */
  setSwitchCutoff(calls: number): void {
    this.switchCutoffCalls = Math.max(0, Math.floor(calls));
  }

  /** One call to the host has started: advances every adapter's cut-off. */
  tick(): void {
    for (const [index, left] of this.cutoff) {
      if (left > 0) {
        this.cutoff.set(index, left - 1);
        continue;
      }
      this.cutoff.delete(index);
      const iface = this.interfaces.get(index);
      if (iface) iface.up = true;
    }
  }

  private replaceInterface(old: SimInterface, change: { name: string; vSwitchFor: string | undefined }): SimInterface {
    const index = this.nextIndex++;
    const next: SimInterface = { ...structuredClone(old), index, name: change.name, luid: luidFor(index) };
    if (change.vSwitchFor === undefined) delete next.vSwitchFor;
    else next.vSwitchFor = change.vSwitchFor;
    this.interfaces.delete(old.index);
    this.interfaces.set(index, next);
    this.cutoff.delete(old.index);
    if (this.switchCutoffCalls > 0 && next.up) {
      next.up = false;
      this.cutoff.set(index, this.switchCutoffCalls);
    }
    for (const table of Object.values(this.routes)) {
      for (const [key, route] of [...table]) {
        if (route.interfaceIndex !== old.index) continue;
        table.delete(key);
        const moved = { ...route, interfaceIndex: index };
        table.set(routeKey(normaliseRouteOrUndefined(moved)!, index), moved);
      }
    }
    return next;
  }

  /**
   * A host vNIC appears when an endpoint is attached to the host compartment (host-gw's bridge
   * endpoint): Windows names it after the endpoint and gives it the endpoint's address.
   */
  addInterface(spec: { name: string; ipv4Addresses: string[]; mtu: number }): SimInterface {
    const index = this.nextIndex++;
    const iface: SimInterface = {
      index, name: spec.name, ipv4Addresses: [...spec.ipv4Addresses], ipv6Addresses: [], mtu: spec.mtu, up: true,
      luid: luidFor(index), external: false, forwarding: { ipv4: false, ipv6: false },
    };
    this.interfaces.set(index, iface);
    return structuredClone(iface);
  }

  /** The vNIC goes away with its endpoint, and so do the routes through it (as on Windows). */
  removeInterface(index: number): void {
    if (!this.interfaces.delete(index)) return;
    for (const table of Object.values(this.routes)) {
      for (const [key, route] of [...table]) if (route.interfaceIndex === index) table.delete(key);
    }
  }

  listRoutes(family: AddressFamily): HostRoute[] {
    return [...this.routes[family].values()].map((r) => ({ ...r }));
  }

  addRoute(route: HostRoute): void {
    const call = 'CreateIpForwardEntry2';
    const n = normaliseRoute(call, route);
    this.requireInterface(call, route);
    const key = routeKey(n, route.interfaceIndex);
    const table = this.routes[n.family];
    if (table.has(key)) {
      throw new RouteError('ROUTE_EXISTS', call, WIN32.ERROR_OBJECT_ALREADY_EXISTS, 'the route already exists', routeContext(route));
    }
    table.set(key, { destination: n.destination, nextHop: n.nextHop, interfaceIndex: route.interfaceIndex, metric: route.metric, protocol: route.protocol });
  }

  deleteRoute(route: HostRoute): void {
    const call = 'DeleteIpForwardEntry2';
    const n = normaliseRoute(call, route);
    this.requireInterface(call, route);
    if (!this.routes[n.family].delete(routeKey(n, route.interfaceIndex))) {
      throw new RouteError('ROUTE_NOT_FOUND', call, WIN32.ERROR_NOT_FOUND, 'no such route', routeContext(route));
    }
  }

  setForwarding(index: number, family: AddressFamily, enabled: boolean): void {
    const iface = this.interfaces.get(index);
    if (!iface) throw new RouteError('ROUTE_NOT_FOUND', 'SetIpInterfaceEntry', WIN32.ERROR_NOT_FOUND, 'no such interface', { interfaceIndex: index, family });
    iface.forwarding[family] = enabled;
  }

  private requireInterface(call: string, route: HostRoute): void {
    // Windows answers ERROR_NOT_FOUND when the interface named by the row does not exist.
    if (!this.interfaces.has(route.interfaceIndex)) {
      throw new RouteError('ROUTE_NOT_FOUND', call, WIN32.ERROR_NOT_FOUND, 'no such interface', routeContext(route));
    }
  }
}

function routeContext(route: HostRoute): Record<string, unknown> {
  return { destination: route.destination, nextHop: route.nextHop, interfaceIndex: route.interfaceIndex };
}

function routeKey(n: NormalisedRoute, interfaceIndex: number): string {
  return `${n.destination}|${n.nextHop}|${interfaceIndex}`;
}

function normaliseRouteOrUndefined(route: HostRoute): NormalisedRoute | undefined {
  try {
    return normaliseRoute('load', route);
  } catch {
    return undefined;
  }
}

/**
 * Canonical text for the route identity, so "10.244.2.0/24" and an equivalent spelling match.
 * Host bits in the destination or a next hop of the other family are ERROR_INVALID_PARAMETER.
 */
function normaliseRoute(call: string, route: HostRoute): NormalisedRoute {
  const invalid = (message: string): never => {
    throw new RouteError('ROUTE_INVALID', call, WIN32.ERROR_INVALID_PARAMETER, message, routeContext(route));
  };
  if (!Number.isInteger(route.interfaceIndex) || route.interfaceIndex <= 0) invalid('interfaceIndex must be a positive integer');
  if (typeof route.destination !== 'string' || typeof route.nextHop !== 'string') invalid('destination and nextHop are required');
  if (route.destination.includes(':')) {
    let net;
    try {
      net = parseIp6Net(route.destination);
    } catch {
      return invalid('destination is not an IPv6 CIDR');
    }
    if (maskIp6Net(net).ip !== net.ip) invalid('destination has host bits set');
    const hop = tryParseIp6(route.nextHop);
    if (hop === undefined) invalid('nextHop is not an IPv6 address');
    return { family: 'ipv6', destination: formatIp6Net(net), nextHop: formatIp6(hop as bigint) };
  }
  let net;
  try {
    net = parseIp4Net(route.destination);
  } catch {
    return invalid('destination is not an IPv4 CIDR');
  }
  if (maskIp4Net(net).ip !== net.ip) invalid('destination has host bits set');
  const hop = tryParseIp4(route.nextHop);
  if (hop === undefined) invalid('nextHop is not an IPv4 address');
  return { family: 'ipv4', destination: formatIp4Net(net), nextHop: formatIp4(hop as number) };
}
