import type { AddressFamily, HostRoute } from '../route-table.js';
import type { KoffiModule, Win32Layout } from './win32-layout.js';
import { bytesToIp, familyFromWindows, sockaddrInput, type IpBytes, type PrefixBytes } from './sockaddr.js';

/** The MIB_IPFORWARD_ROW2 fields that identify a route and the two we set beside them. */
export interface RouteRowFields {
  destination: PrefixBytes;
  nextHop: IpBytes;
  interfaceIndex: number;
  metric: number;
  protocol: number;
}

/** What koffi hands back for a SOCKADDR_INET union: members decode lazily on access. */
interface DecodedSockaddrInet {
  si_family: number;
  Ipv4: { sin_addr: Uint8Array };
  Ipv6: { sin6_addr: Uint8Array };
}

interface DecodedRouteRow {
  InterfaceLuid: number | bigint;
  InterfaceIndex: number;
  DestinationPrefix: { Prefix: DecodedSockaddrInet; PrefixLength: number };
  NextHop: DecodedSockaddrInet;
  Metric: number;
  Protocol: number;
}

/**
 * Writes the route's key and settings over a row that InitializeIpForwardEntry prepared, member
 * by member at koffi's offsets, so every field we do not own keeps Windows' defaults (lifetimes,
 * SitePrefixLength sentinel, Origin).
 */
export function writeRouteRow(koffi: KoffiModule, layout: Win32Layout, row: Buffer, fields: RouteRowFields): void {
  const T = layout.MIB_IPFORWARD_ROW2;
  const at = (member: string): number => koffi.offsetof(T, member);
  // LUID 0 tells Windows to resolve the interface from InterfaceIndex.
  koffi.encode(row, at('InterfaceLuid'), 'uint64_t', 0);
  koffi.encode(row, at('InterfaceIndex'), 'uint32_t', fields.interfaceIndex);
  koffi.encode(row, at('DestinationPrefix'), layout.IP_ADDRESS_PREFIX, {
    Prefix: sockaddrInput(fields.destination),
    PrefixLength: fields.destination.prefixLen,
  });
  koffi.encode(row, at('NextHop'), layout.SOCKADDR_INET, sockaddrInput(fields.nextHop));
  koffi.encode(row, at('Metric'), 'uint32_t', fields.metric);
  // Protocol 0 is not a NL_ROUTE_PROTOCOL: leave Initialize's "unspecified" value for Windows to fill.
  if (fields.protocol > 0) koffi.encode(row, at('Protocol'), 'int32_t', fields.protocol);
}

function sockaddrText(family: AddressFamily, sa: DecodedSockaddrInet): string {
  return family === 'ipv4' ? bytesToIp('ipv4', sa.Ipv4.sin_addr) : bytesToIp('ipv6', sa.Ipv6.sin6_addr);
}

/** Decodes row `i` of a MIB_IPFORWARD_TABLE2; undefined for a family the caller did not ask for. */
export function decodeRouteRow(
  koffi: KoffiModule,
  layout: Win32Layout,
  table: bigint,
  i: number,
  family: AddressFamily,
): HostRoute | undefined {
  const offset = koffi.offsetof(layout.MIB_IPFORWARD_TABLE2, 'Table') + i * koffi.sizeof(layout.MIB_IPFORWARD_ROW2);
  const row = koffi.decode(table, offset, layout.MIB_IPFORWARD_ROW2) as DecodedRouteRow;
  const prefix = row.DestinationPrefix;
  if (familyFromWindows(prefix.Prefix.si_family) !== family) return undefined;
  return {
    destination: `${sockaddrText(family, prefix.Prefix)}/${prefix.PrefixLength}`,
    nextHop: sockaddrText(family, row.NextHop),
    interfaceIndex: row.InterfaceIndex,
    metric: row.Metric,
    protocol: row.Protocol,
  };
}
