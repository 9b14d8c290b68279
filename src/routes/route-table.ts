import { FlannelWinError } from '../errors.js';

export type AddressFamily = 'ipv4' | 'ipv6';

/** One row of the host's IP forwarding table. */
export interface HostRoute {
  /** CIDR text, masked, e.g. "10.244.2.0/24". */
  destination: string;
  /** Next hop address; "0.0.0.0" (or "::") for on-link. */
  nextHop: string;
  interfaceIndex: number;
  /** Route metric; 0 lets Windows use the interface metric only. */
  metric: number;
  /** NL_ROUTE_PROTOCOL; 3 (NetMgmt) for static routes we add. */
  protocol: number;
}

/** A host network interface, as GetAdaptersAddresses reports it. */
export interface NetInterface {
  index: number;
  /** FriendlyName on Windows, e.g. "Ethernet" or "vEthernet (Ethernet)". */
  name: string;
  ipv4Addresses: string[];
  ipv6Addresses: string[];
  mtu: number;
  up: boolean;
  /** NET_LUID as a decimal string (64-bit; never a JSON number). */
  luid: string;
}

/**
 * The host's IP routing table and interfaces. Implementations: `iphlpapi` (koffi, Windows) and
 * the simulated host.
 */
export interface RouteTable {
  listRoutes(family: AddressFamily): Promise<HostRoute[]>;
  /** Throws RouteError code ROUTE_EXISTS when an identical route exists (ERROR_OBJECT_ALREADY_EXISTS). */
  addRoute(route: HostRoute): Promise<void>;
  /** Throws RouteError code ROUTE_NOT_FOUND when absent (ERROR_NOT_FOUND). */
  deleteRoute(route: HostRoute): Promise<void>;
  listInterfaces(): Promise<NetInterface[]>;
  /** Enables or disables IP forwarding on an interface (SetIpInterfaceEntry). */
  setForwarding(interfaceIndex: number, family: AddressFamily, enabled: boolean): Promise<void>;
}

export type RouteErrorCode = 'ROUTE_EXISTS' | 'ROUTE_NOT_FOUND' | 'ROUTE_ACCESS_DENIED' | 'ROUTE_INVALID' | 'ROUTE_FAILED';

export class RouteError extends FlannelWinError {
  readonly win32Code: number;
  constructor(code: RouteErrorCode, call: string, win32Code: number, message: string, context: Record<string, unknown> = {}) {
    super(code, `${call}: ${message} (win32 ${win32Code})`, { call, win32Code, ...context });
    this.win32Code = win32Code;
  }
}

export const WIN32 = {
  NO_ERROR: 0,
  ERROR_ACCESS_DENIED: 5,
  ERROR_NOT_SUPPORTED: 50,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_BUFFER_OVERFLOW: 111,
  ERROR_NOT_FOUND: 1168,
  ERROR_OBJECT_ALREADY_EXISTS: 5010,
} as const;

export function routeErrorCodeFor(win32Code: number): RouteErrorCode {
  switch (win32Code) {
    case WIN32.ERROR_OBJECT_ALREADY_EXISTS:
      return 'ROUTE_EXISTS';
    case WIN32.ERROR_NOT_FOUND:
      return 'ROUTE_NOT_FOUND';
    case WIN32.ERROR_ACCESS_DENIED:
      return 'ROUTE_ACCESS_DENIED';
    case WIN32.ERROR_INVALID_PARAMETER:
      return 'ROUTE_INVALID';
    default:
      return 'ROUTE_FAILED';
  }
}
