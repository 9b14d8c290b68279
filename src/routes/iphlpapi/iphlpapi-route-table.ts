import { forEachInSlices } from '../../async/in-slices.js';
import { FlannelWinError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import {
  RouteError,
  WIN32,
  routeErrorCodeFor,
  type AddressFamily,
  type HostRoute,
  type NetInterface,
  type RouteErrorCode,
  type RouteTable,
} from '../route-table.js';
import { ADAPTER_BUFFER_FIRST_GUESS, ADAPTER_QUERY_FLAGS, decodeAdapters } from './adapter-addresses.js';
import { bindIphlpapi, type IphlpapiLibrary } from './iphlpapi-library.js';
import { decodeRouteRow, writeRouteRow, type RouteRowFields } from './route-row.js';
import { AF_UNSPEC, ipToBytes, parseDestination, windowsFamily } from './sockaddr.js';

const ERROR_NO_DATA = 232;
// The adapter list can grow between the sizing call and the real one (HNS adds vNICs): retry a few times.
const ADAPTER_ATTEMPTS = 4;

export interface IphlpapiRouteTableOptions {
  /** Path or name of the library; 'iphlpapi.dll' on Windows, a stand-in .so in tests. */
  iphlpapiPath?: string;
  log?: Logger;
}

/** Loads iphlpapi.dll (or a stand-in) and returns the RouteTable over it. Throws IphlpapiLoadError. */
export function loadIphlpapiRouteTable(options: IphlpapiRouteTableOptions = {}): IphlpapiRouteTable {
  const path = options.iphlpapiPath ?? 'iphlpapi.dll';
  const log = (options.log ?? silentLogger()).child({ component: 'iphlpapi' });
  const table = new IphlpapiRouteTable(bindIphlpapi(path), log);
  log.debug({ path }, 'iphlpapi loaded');
  return table;
}

/** The host routing table through the IP Helper API (the calls New-NetRoute makes, without PowerShell). */
export class IphlpapiRouteTable implements RouteTable {
  readonly #lib: IphlpapiLibrary;
  readonly #log: Logger;

  constructor(lib: IphlpapiLibrary, log: Logger) {
    this.#lib = lib;
    this.#log = log;
  }

  async listRoutes(family: AddressFamily): Promise<HostRoute[]> {
    const { koffi, layout } = this.#lib;
    const { status, table } = await this.#lib.GetIpForwardTable2(windowsFamily(family));
    if (status !== WIN32.NO_ERROR) throw routeError('GetIpForwardTable2', status, { family });
    if (table === null) return [];
    // The table is Windows' memory: give it back exactly once, whatever decoding does.
    try {
      const count = koffi.decode(table, 'uint32_t') as number;
      const routes: HostRoute[] = [];
      // Sliced: a host-gw node holds one route per peer, and each row is decoded field by field.
      await forEachInSlices(rowIndexes(count), (i) => {
        const route = decodeRouteRow(koffi, layout, table, i, family);
        if (route) routes.push(route);
      });
      return routes;
    } finally {
      this.#lib.FreeMibTable(table);
    }
  }

  async addRoute(route: HostRoute): Promise<void> {
    const row = this.#routeRow('CreateIpForwardEntry2', route);
    const status = await this.#lib.CreateIpForwardEntry2(row);
    if (status === WIN32.NO_ERROR) {
      this.#log.debug({ route }, 'route added');
      return;
    }
    // On create, "not found" is about the interface, not the route: report it as an invalid request
    // so a caller's ROUTE_NOT_FOUND handling (meant for delete) never swallows it.
    const code = status === WIN32.ERROR_NOT_FOUND ? 'ROUTE_INVALID' : routeErrorCodeFor(status);
    const detail = status === WIN32.ERROR_NOT_FOUND ? 'interface not found' : undefined;
    throw routeError('CreateIpForwardEntry2', status, routeContext(route), code, detail);
  }

  async deleteRoute(route: HostRoute): Promise<void> {
    const row = this.#routeRow('DeleteIpForwardEntry2', route);
    const status = await this.#lib.DeleteIpForwardEntry2(row);
    if (status !== WIN32.NO_ERROR) throw routeError('DeleteIpForwardEntry2', status, routeContext(route));
    this.#log.debug({ route }, 'route deleted');
  }

  async listInterfaces(): Promise<NetInterface[]> {
    const { koffi, layout } = this.#lib;
    let size = ADAPTER_BUFFER_FIRST_GUESS;
    for (let attempt = 1; attempt <= ADAPTER_ATTEMPTS; attempt++) {
      const buffer = Buffer.alloc(size);
      const result = await this.#lib.GetAdaptersAddresses(AF_UNSPEC, ADAPTER_QUERY_FLAGS, buffer, size);
      if (result.status === WIN32.NO_ERROR) return decodeAdapters(koffi, layout, buffer);
      if (result.status === ERROR_NO_DATA) return [];
      if (result.status !== WIN32.ERROR_BUFFER_OVERFLOW) throw routeError('GetAdaptersAddresses', result.status, { size });
      this.#log.debug({ given: size, needed: result.size }, 'adapter buffer too small');
      size = Math.max(result.size, size + 1);
    }
    throw routeError('GetAdaptersAddresses', WIN32.ERROR_BUFFER_OVERFLOW, { size, attempts: ADAPTER_ATTEMPTS });
  }

  async setForwarding(interfaceIndex: number, family: AddressFamily, enabled: boolean): Promise<void> {
    const { koffi, layout } = this.#lib;
    const T = layout.MIB_IPINTERFACE_ROW;
    const at = (member: string): number => koffi.offsetof(T, member);
    const context = { interfaceIndex, family, enabled };
    const row = Buffer.alloc(koffi.sizeof(T));
    this.#lib.InitializeIpInterfaceEntry(row);
    koffi.encode(row, at('Family'), 'uint16_t', windowsFamily(family));
    koffi.encode(row, at('InterfaceIndex'), 'uint32_t', interfaceIndex);
    // Read-modify-write: SetIpInterfaceEntry writes every field, so start from the current ones.
    const getStatus = await this.#lib.GetIpInterfaceEntry(row);
    if (getStatus !== WIN32.NO_ERROR) throw routeError('GetIpInterfaceEntry', getStatus, context);
    const current = koffi.decode(row, at('ForwardingEnabled'), 'uint8_t') as number;
    if ((current !== 0) === enabled) return; // already so: no write, no interface churn
    koffi.encode(row, at('ForwardingEnabled'), 'uint8_t', enabled ? 1 : 0);
    // Get reports a SitePrefixLength that Set rejects for IPv4 (ERROR_INVALID_PARAMETER); 0 is the write form.
    if (family === 'ipv4') koffi.encode(row, at('SitePrefixLength'), 'uint32_t', 0);
    const setStatus = await this.#lib.SetIpInterfaceEntry(row);
    if (setStatus !== WIN32.NO_ERROR) throw routeError('SetIpInterfaceEntry', setStatus, context);
    this.#log.info(context, 'interface forwarding set');
  }

  /** Validates a HostRoute and lays it out as a MIB_IPFORWARD_ROW2 initialized the Windows way. */
  #routeRow(call: string, route: HostRoute): Buffer {
    let fields: RouteRowFields;
    try {
      const destination = parseDestination(route.destination);
      const nextHop = ipToBytes(route.nextHop);
      if (nextHop.family !== destination.family) {
        throw new FlannelWinError('ROUTE_FAMILY_MISMATCH', `next hop ${route.nextHop} is not in the destination's family`);
      }
      fields = { destination, nextHop, interfaceIndex: route.interfaceIndex, metric: route.metric, protocol: route.protocol };
    } catch (err) {
      // Refused before any call: Windows would answer ERROR_INVALID_PARAMETER or, worse, accept it.
      const message = err instanceof Error ? err.message : String(err);
      throw new RouteError('ROUTE_INVALID', call, WIN32.ERROR_INVALID_PARAMETER, message, { ...routeContext(route), rejectedLocally: true });
    }
    const { koffi, layout } = this.#lib;
    const row = Buffer.alloc(koffi.sizeof(layout.MIB_IPFORWARD_ROW2));
    this.#lib.InitializeIpForwardEntry(row);
    writeRouteRow(koffi, layout, row, fields);
    return row;
  }
}

function routeContext(route: HostRoute): Record<string, unknown> {
  return { destination: route.destination, nextHop: route.nextHop, interfaceIndex: route.interfaceIndex };
}

const MESSAGES: Record<RouteErrorCode, string> = {
  ROUTE_EXISTS: 'route already exists',
  ROUTE_NOT_FOUND: 'not found',
  ROUTE_ACCESS_DENIED: 'access denied (the daemon must run as Administrator)',
  ROUTE_INVALID: 'invalid parameter',
  ROUTE_FAILED: 'call failed',
};

function routeError(
  call: string,
  win32Code: number,
  context: Record<string, unknown>,
  code: RouteErrorCode = routeErrorCodeFor(win32Code),
  detail?: string,
): RouteError {
  return new RouteError(code, call, win32Code, detail ?? MESSAGES[code], context);
}

function* rowIndexes(count: number): Generator<number, void, undefined> {
  for (let i = 0; i < count; i++) yield i;
}
