import { FlannelWinError } from '../../errors.js';
import type { AddressFamily } from '../route-table.js';
import { formatIp4, formatIp6, ip4Mask, ip6Mask, parseIp4, parseIp4Net, parseIp6, parseIp6Net } from '../../net/ip.js';

/** Windows ADDRESS_FAMILY values (AF_INET6 is 23 on Windows, not Linux's 10). */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 23;

/** An address as the bytes a SOCKADDR holds, in network order. */
export interface IpBytes {
  family: AddressFamily;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

/** A masked destination prefix, ready for IP_ADDRESS_PREFIX. */
export interface PrefixBytes extends IpBytes {
  prefixLen: number;
}

/** A route destination that is valid CIDR but not masked. */
export class DestinationError extends FlannelWinError {
  constructor(destination: string) {
    super('ROUTE_DESTINATION_NOT_MASKED', `destination ${destination} has host bits set`, { destination });
  }
}

export function windowsFamily(family: AddressFamily): number {
  return family === 'ipv4' ? AF_INET : AF_INET6;
}

export function familyFromWindows(af: number): AddressFamily | undefined {
  if (af === AF_INET) return 'ipv4';
  if (af === AF_INET6) return 'ipv6';
  return undefined;
}

function ip4Bytes(ip: number): Uint8Array {
  return Uint8Array.of((ip >>> 24) & 255, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255);
}

function ip6Bytes(ip: bigint): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number((ip >> BigInt((15 - i) * 8)) & 0xffn);
  return out;
}

/** Parses an IPv4 or IPv6 address text into SOCKADDR bytes. Throws IpParseError. */
export function ipToBytes(text: string): IpBytes {
  if (text.includes(':')) return { family: 'ipv6', bytes: ip6Bytes(parseIp6(text)) };
  return { family: 'ipv4', bytes: ip4Bytes(parseIp4(text)) };
}

/** Formats SOCKADDR bytes the way the rest of the daemon writes addresses (dotted quad, RFC 5952). */
export function bytesToIp(family: AddressFamily, bytes: ArrayLike<number>): string {
  if (family === 'ipv4') {
    const b = (i: number): number => bytes[i] ?? 0;
    return formatIp4(((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0);
  }
  let n = 0n;
  for (let i = 0; i < 16; i++) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return formatIp6(n);
}

/**
 * Parses a HostRoute destination. It must be masked CIDR text: Windows would store host bits as
 * given, and the route would never compare equal to what the daemon wants.
 */
export function parseDestination(cidr: string): PrefixBytes {
  if (cidr.includes(':')) {
    const net = parseIp6Net(cidr);
    if ((net.ip & ip6Mask(net.prefixLen)) !== net.ip) throw new DestinationError(cidr);
    return { family: 'ipv6', bytes: ip6Bytes(net.ip), prefixLen: net.prefixLen };
  }
  const net = parseIp4Net(cidr);
  if (((net.ip & ip4Mask(net.prefixLen)) >>> 0) !== net.ip) throw new DestinationError(cidr);
  return { family: 'ipv4', bytes: ip4Bytes(net.ip), prefixLen: net.prefixLen };
}

export function formatDestination(prefix: PrefixBytes): string {
  return `${bytesToIp(prefix.family, prefix.bytes)}/${prefix.prefixLen}`;
}

/** The value koffi encodes into a SOCKADDR_INET union: exactly one member set, port 0. */
export type SockaddrInetInput =
  | { Ipv4: { sin_family: number; sin_port: number; sin_addr: number[]; sin_zero: number[] } }
  | { Ipv6: { sin6_family: number; sin6_port: number; sin6_flowinfo: number; sin6_addr: number[]; sin6_scope_id: number } };

export function sockaddrInput(ip: IpBytes): SockaddrInetInput {
  if (ip.family === 'ipv4') {
    return { Ipv4: { sin_family: AF_INET, sin_port: 0, sin_addr: [...ip.bytes], sin_zero: [0, 0, 0, 0, 0, 0, 0, 0] } };
  }
  return { Ipv6: { sin6_family: AF_INET6, sin6_port: 0, sin6_flowinfo: 0, sin6_addr: [...ip.bytes], sin6_scope_id: 0 } };
}
