import ipaddr from 'ipaddr.js';
import { FlannelWinError } from '../errors.js';

/** An IPv4 network: `ip` is the address as an unsigned 32-bit number. Not necessarily masked. */
export interface Ip4Net {
  readonly ip: number;
  readonly prefixLen: number;
}

/** An IPv6 network: `ip` is the 128-bit address. Not necessarily masked. */
export interface Ip6Net {
  readonly ip: bigint;
  readonly prefixLen: number;
}

export class IpParseError extends FlannelWinError {
  constructor(kind: string, value: string) {
    super('IP_PARSE', `invalid ${kind} "${value}"`, { kind, value });
  }
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Strict dotted-quad parse (no leading "+", no octal, each octet 0..255). */
export function parseIp4(text: string): number {
  const ip = tryParseIp4(text);
  if (ip === undefined) throw new IpParseError('IPv4 address', text);
  return ip;
}

/**
 * parseIp4 without the error. It throws nothing on the way: validating an ACL's address list
 * asks it about every item, most of which are CIDRs, and an error per item (with its stack)
 * cost most of the simulated host's time in an endpoint write.
 */
export function tryParseIp4(text: string): number | undefined {
  const m = IPV4_RE.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part.startsWith('0'))) return undefined;
    n = n * 256 + octet;
  }
  return n >>> 0;
}

/**
 * Dotted quad. Built with `join`, not a template: V8 keeps a concatenation of 13 or more
 * characters as a tree of its parts (~130 bytes and 5-9 heap objects for "172.16.10.20/24"
 * instead of one ~40-byte string), and every peer keeps several of these for as long as it lives.
 */
export function formatIp4(ip: number): string {
  return [(ip >>> 24) & 255, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

export function ip4Mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Parses "a.b.c.d/n". The result keeps the host bits; use `maskIp4Net` to drop them. */
export function parseIp4Net(text: string): Ip4Net {
  const slash = text.indexOf('/');
  if (slash < 0) throw new IpParseError('IPv4 CIDR', text);
  const ip = tryParseIp4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(lenText)) throw new IpParseError('IPv4 CIDR', text);
  const prefixLen = Number(lenText);
  if (prefixLen > 32) throw new IpParseError('IPv4 CIDR', text);
  return { ip, prefixLen };
}

export function tryParseIp4Net(text: string): Ip4Net | undefined {
  try {
    return parseIp4Net(text);
  } catch {
    return undefined;
  }
}

export function maskIp4Net(net: Ip4Net): Ip4Net {
  return { ip: (net.ip & ip4Mask(net.prefixLen)) >>> 0, prefixLen: net.prefixLen };
}

/** "a.b.c.d/n", joined for the same reason as `formatIp4`. */
export function formatIp4Net(net: Ip4Net): string {
  return [formatIp4(net.ip), net.prefixLen].join('/');
}

export function ip4NetSize(net: Ip4Net): number {
  return 2 ** (32 - net.prefixLen);
}

export function ip4NetContainsIp(net: Ip4Net, ip: number): boolean {
  const mask = ip4Mask(net.prefixLen);
  return ((ip & mask) >>> 0) === ((net.ip & mask) >>> 0);
}

/** True when `inner` lies wholly inside `outer`. */
export function ip4NetContainsNet(outer: Ip4Net, inner: Ip4Net): boolean {
  return inner.prefixLen >= outer.prefixLen && ip4NetContainsIp(outer, inner.ip);
}

export function ip4NetsOverlap(a: Ip4Net, b: Ip4Net): boolean {
  return ip4NetContainsNet(a, b) || ip4NetContainsNet(b, a);
}

export function ip4NetEqual(a: Ip4Net, b: Ip4Net): boolean {
  return a.ip === b.ip && a.prefixLen === b.prefixLen;
}

// ---- IPv6 ----

export function parseIp6(text: string): bigint {
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) throw new IpParseError('IPv6 address', text);
  const bytes = ipaddr.IPv6.parse(text).toByteArray();
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

export function tryParseIp6(text: string): bigint | undefined {
  // The check parseIp6 makes, first, so that an IPv4 text costs no error.
  if (!text.includes(':') || !ipaddr.IPv6.isValid(text)) return undefined;
  return parseIp6(text);
}

/** RFC 5952 text (lowercase, longest zero run compressed), as Go's net.IP.String prints it. */
export function formatIp6(ip: bigint): string {
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((ip >> BigInt(i * 8)) & 0xffn));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

export function ip6Mask(prefixLen: number): bigint {
  const all = (1n << 128n) - 1n;
  return prefixLen === 0 ? 0n : (all << BigInt(128 - prefixLen)) & all;
}

export function parseIp6Net(text: string): Ip6Net {
  const slash = text.indexOf('/');
  if (slash < 0) throw new IpParseError('IPv6 CIDR', text);
  const ip = tryParseIp6(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(lenText)) throw new IpParseError('IPv6 CIDR', text);
  const prefixLen = Number(lenText);
  if (prefixLen > 128) throw new IpParseError('IPv6 CIDR', text);
  return { ip, prefixLen };
}

export function maskIp6Net(net: Ip6Net): Ip6Net {
  return { ip: net.ip & ip6Mask(net.prefixLen), prefixLen: net.prefixLen };
}

export function formatIp6Net(net: Ip6Net): string {
  return `${formatIp6(net.ip)}/${net.prefixLen}`;
}

export function ip6NetContainsIp(net: Ip6Net, ip: bigint): boolean {
  const mask = ip6Mask(net.prefixLen);
  return (ip & mask) === (net.ip & mask);
}

export function ip6NetContainsNet(outer: Ip6Net, inner: Ip6Net): boolean {
  return inner.prefixLen >= outer.prefixLen && ip6NetContainsIp(outer, inner.ip);
}

export function ip6NetsOverlap(a: Ip6Net, b: Ip6Net): boolean {
  return ip6NetContainsNet(a, b) || ip6NetContainsNet(b, a);
}

export function ip6NetEqual(a: Ip6Net, b: Ip6Net): boolean {
  return a.ip === b.ip && a.prefixLen === b.prefixLen;
}
