import type { ExternalInterface } from '../backends/backend.js';
import { FlannelWinError } from '../errors.js';
import { ip4NetContainsIp, tryParseIp4, tryParseIp4Net, tryParseIp6 } from '../net/ip.js';
import type { HostRoute, NetInterface } from '../routes/route-table.js';

export interface InterfaceSelectionOptions {
  /** --iface values: an IPv4 address held by the interface, or its name; first match wins. */
  iface: readonly string[];
  /** --iface-regex values, tried after --iface: against each interface's IPv4 addresses, then names. */
  ifaceRegex: readonly string[];
  ifaceCanReach?: string | undefined;
  /** --public-ip (or the node-public-ip annotation): the address published in the lease. */
  publicIp?: string | undefined;
  /**
   * The host's IPv4 routes. Without them the default-route interface cannot be known and the
   * first up interface with a usable IPv4 address is taken instead; --iface-can-reach needs them.
   */
  routes?: readonly HostRoute[] | undefined;
}

/** The chosen interface plus how it was chosen, for the start-up log. */
export interface InterfaceSelection extends ExternalInterface {
  selectedBy: string;
  /** Things the operator should know (a down interface, a fallback taken, options that failed). */
  notes: string[];
}

export class InterfaceSelectionError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('IFACE_SELECTION', message, context);
  }
}

type Candidate = { iface: NetInterface; ifaceAddr?: string; selectedBy: string } | { failure: string };

/** "Ethernet (index 4, up): 10.0.0.5", for error messages. */
export function describeInterfaces(interfaces: readonly NetInterface[]): string {
  if (interfaces.length === 0) return '(none)';
  return interfaces
    .map((i) => `${i.name} (index ${i.index}, ${i.up ? 'up' : 'down'}): ${i.ipv4Addresses.length > 0 ? i.ipv4Addresses.join(', ') : 'no IPv4'}`)
    .join('; ');
}

function isUsableIp4(address: string): boolean {
  const ip = tryParseIp4(address);
  if (ip === undefined) return false;
  const first = ip >>> 24;
  const linkLocal = ip >>> 16 === 0xa9fe;
  return first !== 127 && first !== 0 && !linkLocal;
}

function byAddress(interfaces: readonly NetInterface[], address: string, what: string): Candidate {
  const found = interfaces.find((i) => i.ipv4Addresses.includes(address));
  return found ? { iface: found, ifaceAddr: address, selectedBy: what } : { failure: `no interface holds the address ${address}` };
}

/** flanneld's LookupExtIface for one --iface value: an IP held by an interface, else a name. */
function byIpOrName(interfaces: readonly NetInterface[], value: string): Candidate {
  if (tryParseIp4(value) !== undefined) return byAddress(interfaces, value, `--iface ${value} (address)`);
  if (tryParseIp6(value) !== undefined) return { failure: `${value} is an IPv6 address; flannel on Windows is IPv4-only` };
  const exact = interfaces.find((i) => i.name === value);
  if (exact) return { iface: exact, selectedBy: `--iface ${value} (name)` };
  // Windows treats adapter names case-insensitively; accept that when it is unambiguous.
  const folded = interfaces.filter((i) => i.name.toLowerCase() === value.toLowerCase());
  if (folded.length === 1) return { iface: folded[0] as NetInterface, selectedBy: `--iface ${value} (name, case-insensitive)` };
  return { failure: `no interface is named ${JSON.stringify(value)}` };
}

/**
 * --iface-regex: the pattern is searched (unanchored, like Go's MatchString) in each address of
 * each up interface first, then in the names. JavaScript regex syntax stands in for RE2; the
 * common patterns are the same. Down interfaces are skipped (Windows lists disconnected adapters).
 */
function byRegex(interfaces: readonly NetInterface[], pattern: string): Candidate {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (err) {
    return { failure: `could not compile the regex ${JSON.stringify(pattern)}: ${(err as Error).message}` };
  }
  const up = interfaces.filter((i) => i.up);
  for (const iface of up) {
    const address = iface.ipv4Addresses.find((a) => regex.test(a));
    if (address !== undefined) return { iface, ifaceAddr: address, selectedBy: `--iface-regex ${pattern} (address)` };
  }
  const named = up.find((i) => regex.test(i.name));
  if (named) return { iface: named, selectedBy: `--iface-regex ${pattern} (name)` };
  return { failure: `regex ${JSON.stringify(pattern)} matches no address or name of an up interface` };
}

function onlinkDestination(route: HostRoute) {
  return tryParseIp4Net(route.destination);
}

/**
 * --iface-can-reach, approximated: flanneld on Linux asks the kernel which interface routes the
 * address. Here the most specific non-default route that contains it decides; the default route
 * is not used, so an address only reachable through it is an error rather than a guess.
 */
function byCanReach(interfaces: readonly NetInterface[], target: string, routes: readonly HostRoute[] | undefined): Candidate {
  const ip = tryParseIp4(target);
  if (ip === undefined) return { failure: `--iface-can-reach ${target} is not an IPv4 address` };
  const holder = interfaces.find((i) => i.ipv4Addresses.includes(target));
  if (holder) return { iface: holder, ifaceAddr: target, selectedBy: `--iface-can-reach ${target} (local address)` };
  if (!routes) return { failure: `--iface-can-reach ${target}: the route table is not available, so it cannot be approximated` };
  const byIndex = new Map(interfaces.map((i) => [i.index, i]));
  const matches = routes
    .map((route) => ({ route, net: onlinkDestination(route), iface: byIndex.get(route.interfaceIndex) }))
    .filter((m) => m.net !== undefined && m.net.prefixLen > 0 && m.iface?.up && ip4NetContainsIp(m.net, ip))
    .sort((a, b) => (b.net?.prefixLen ?? 0) - (a.net?.prefixLen ?? 0) || a.route.metric - b.route.metric);
  const best = matches[0];
  if (!best?.iface) {
    return {
      failure: `--iface-can-reach ${target}: no interface has a route to a subnet containing it (approximation of flanneld's kernel route lookup, which is not available on Windows; the default route is not considered). Use --iface instead`,
    };
  }
  return { iface: best.iface, selectedBy: `--iface-can-reach ${target} (route ${best.route.destination})` };
}

/** No interface options: the interface of the default route, as flanneld does. */
function byDefault(interfaces: readonly NetInterface[], routes: readonly HostRoute[] | undefined, notes: string[]): Candidate {
  if (routes) {
    const byIndex = new Map(interfaces.map((i) => [i.index, i]));
    // Several default routes make flanneld's PowerShell lookup fail; the lowest metric wins here.
    const defaults = routes
      .filter((r) => r.destination === '0.0.0.0/0' && byIndex.get(r.interfaceIndex)?.up)
      .sort((a, b) => a.metric - b.metric || a.interfaceIndex - b.interfaceIndex);
    const chosen = defaults[0];
    if (chosen) return { iface: byIndex.get(chosen.interfaceIndex) as NetInterface, selectedBy: 'default route' };
    notes.push('no IPv4 default route on an up interface; falling back to the first up interface with a usable IPv4 address');
  }
  const first = interfaces.find((i) => i.up && i.ipv4Addresses.some(isUsableIp4));
  if (!first) return { failure: 'no default route and no up interface with a usable (not loopback, not link-local) IPv4 address' };
  return { iface: first, ifaceAddr: first.ipv4Addresses.find(isUsableIp4) as string, selectedBy: 'first up interface with an IPv4 address' };
}

/**
 * Chooses the external interface by flanneld's rules: each --iface in order, then each
 * --iface-regex, then --iface-can-reach; with none of them, the interface holding --public-ip,
 * else the default-route interface. ifaceAddr is the matched address or the interface's first
 * IPv4 address; extAddr is --public-ip when given, else ifaceAddr.
 */
export function selectExternalInterface(interfaces: readonly NetInterface[], options: InterfaceSelectionOptions): InterfaceSelection {
  const notes: string[] = [];
  const publicIp = options.publicIp || undefined;
  if (publicIp !== undefined && tryParseIp4(publicIp) === undefined) {
    throw new InterfaceSelectionError(`invalid public IP address: ${publicIp} (flannel on Windows is IPv4-only)`, { publicIp });
  }
  const explicit = options.iface.length > 0 || options.ifaceRegex.length > 0 || Boolean(options.ifaceCanReach);

  let chosen: Candidate | undefined;
  if (!explicit) {
    chosen = publicIp !== undefined ? byAddress(interfaces, publicIp, `--public-ip ${publicIp}`) : byDefault(interfaces, options.routes, notes);
    if ('failure' in chosen) {
      const hint = publicIp !== undefined ? ' (flanneld requires --iface when the public IP is not on this host, e.g. behind NAT)' : '';
      throw new InterfaceSelectionError(`failed to find any valid interface to use: ${chosen.failure}${hint}. Available interfaces: ${describeInterfaces(interfaces)}`, {
        publicIp,
      });
    }
  } else {
    const failures: string[] = [];
    const attempts: (() => Candidate)[] = [
      ...options.iface.map((value) => () => byIpOrName(interfaces, value)),
      ...options.ifaceRegex.map((pattern) => () => byRegex(interfaces, pattern)),
      ...(options.ifaceCanReach ? [() => byCanReach(interfaces, options.ifaceCanReach as string, options.routes)] : []),
    ];
    for (const attempt of attempts) {
      const candidate = attempt();
      if (!('failure' in candidate)) {
        chosen = candidate;
        break;
      }
      failures.push(candidate.failure);
    }
    if (!chosen) {
      throw new InterfaceSelectionError(
        `failed to find an interface that matches the interfaces and/or regexes provided: ${failures.join('; ')}. Available interfaces: ${describeInterfaces(interfaces)}`,
        { iface: options.iface, ifaceRegex: options.ifaceRegex, ifaceCanReach: options.ifaceCanReach },
      );
    }
    if (failures.length > 0) notes.push(...failures.map((f) => `skipped: ${f}`));
  }
  if ('failure' in chosen) throw new InterfaceSelectionError(chosen.failure);

  const { iface } = chosen;
  const ifaceAddr = chosen.ifaceAddr ?? iface.ipv4Addresses[0];
  if (ifaceAddr === undefined) {
    throw new InterfaceSelectionError(`failed to find IPv4 address for interface ${iface.name}`, { iface: iface.name, index: iface.index });
  }
  if (!(iface.mtu > 0)) {
    throw new InterfaceSelectionError(`failed to determine MTU for interface ${iface.name} (${ifaceAddr})`, { iface: iface.name, mtu: iface.mtu });
  }
  if (!iface.up) notes.push(`interface ${iface.name} is down`);
  return { iface, ifaceAddr, extAddr: publicIp ?? ifaceAddr, selectedBy: chosen.selectedBy, notes };
}
