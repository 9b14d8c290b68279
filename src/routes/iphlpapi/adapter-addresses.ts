import type { NetInterface } from '../route-table.js';
import type { KoffiModule, Win32Layout } from './win32-layout.js';
import { AF_INET, AF_INET6, bytesToIp } from './sockaddr.js';

/** GAA_FLAG_SKIP_ANYCAST | SKIP_MULTICAST | SKIP_DNS_SERVER: we read unicast addresses and names only. */
export const ADAPTER_QUERY_FLAGS = 0x2 | 0x4 | 0x8;
/** Microsoft's advice: start with 15 KB, which fits most hosts in one call. */
export const ADAPTER_BUFFER_FIRST_GUESS = 15_000;

const IF_OPER_STATUS_UP = 1;
// Guards against a corrupt or cyclic list; a host has far fewer adapters and addresses.
const MAX_LIST_LENGTH = 4096;

interface DecodedAdapter {
  IfIndex: number;
  Ipv6IfIndex: number;
  Next: bigint | null;
  FirstUnicastAddress: bigint | null;
  FriendlyName: bigint | null;
  Mtu: number;
  OperStatus: number;
  Luid: number | bigint;
}

interface DecodedUnicast {
  Next: bigint | null;
  Address: { lpSockaddr: bigint | null; iSockaddrLength: number };
}

/**
 * Walks the IP_ADAPTER_ADDRESSES list GetAdaptersAddresses wrote into `buffer`. The list's
 * pointers point into that same buffer, so it must stay referenced until this returns.
 */
export function decodeAdapters(koffi: KoffiModule, layout: Win32Layout, buffer: Buffer): NetInterface[] {
  const result: NetInterface[] = [];
  let next: bigint | null = koffi.address(buffer);
  for (let n = 0; next && n < MAX_LIST_LENGTH; n++) {
    const a = koffi.decode(next, layout.IP_ADAPTER_ADDRESSES) as DecodedAdapter;
    const ipv4Addresses: string[] = [];
    const ipv6Addresses: string[] = [];
    let u: bigint | null = a.FirstUnicastAddress;
    for (let k = 0; u && k < MAX_LIST_LENGTH; k++) {
      const unicast = koffi.decode(u, layout.IP_ADAPTER_UNICAST_ADDRESS) as DecodedUnicast;
      const sa = unicast.Address.lpSockaddr;
      if (sa) {
        const family = koffi.decode(sa, 'uint16_t') as number;
        if (family === AF_INET) {
          const s = koffi.decode(sa, layout.SOCKADDR_IN) as { sin_addr: Uint8Array };
          ipv4Addresses.push(bytesToIp('ipv4', s.sin_addr));
        } else if (family === AF_INET6) {
          const s = koffi.decode(sa, layout.SOCKADDR_IN6) as { sin6_addr: Uint8Array };
          ipv6Addresses.push(bytesToIp('ipv6', s.sin6_addr));
        }
      }
      u = unicast.Next;
    }
    result.push({
      // IfIndex is 0 when IPv4 is disabled on the adapter; the IPv6 index is then the one routes use.
      index: a.IfIndex || a.Ipv6IfIndex,
      name: a.FriendlyName ? (koffi.decode(a.FriendlyName, 'char16_t', -1) as string) : '',
      ipv4Addresses,
      ipv6Addresses,
      mtu: a.Mtu,
      up: a.OperStatus === IF_OPER_STATUS_UP,
      luid: BigInt(a.Luid).toString(),
    });
    next = a.Next;
  }
  return result;
}
