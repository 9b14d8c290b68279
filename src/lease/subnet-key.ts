import { FlannelWinError } from '../errors.js';
import { formatIp4, formatIp6, tryParseIp4, tryParseIp6, type Ip4Net, type Ip6Net } from '../net/ip.js';

/**
 * flannel's subnet key codec (`10.244.3.0-24`), shared by the etcd store and the local lease file.
 * @module
 */

/** A key (etcd's `<prefix>/subnets/…` or the local lease file's) that is not a flannel subnet key. */
export class SubnetKeyError extends FlannelWinError {
  constructor(key: string, problem: string) {
    super('SUBNET_KEY_INVALID', `key "${key}" is not a subnet key: ${problem}`, { key });
  }
}

/**
 * flannel's `MakeSubnetKey`: `10.244.3.0-24`, or in dual stack `10.244.3.0-24&fd00:1::-64`
 * (IPv6 in RFC 5952 text, as Go prints it). There is no IPv6-only form.
 */
export function makeSubnetKey(subnet: Ip4Net, ipv6Subnet?: Ip6Net | undefined): string {
  const v4 = `${formatIp4(subnet.ip)}-${subnet.prefixLen}`;
  return ipv6Subnet === undefined ? v4 : `${v4}&${formatIp6(ipv6Subnet.ip)}-${ipv6Subnet.prefixLen}`;
}

// flannel's pattern, but anchored at both ends of the key's last part: flannel anchors only at
// the end, so it would also accept "junk10.1.2.0-24"; we rather skip such a key with a warning.
const SUBNET_KEY_RE = /^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f0-9:]+)-(\d+))?$/;

export interface ParsedSubnetKey {
  readonly subnet: Ip4Net;
  readonly ipv6Subnet: Ip6Net | undefined;
}

/**
 * flannel's `ParseSubnetKey` on the part after `<prefix>/subnets/`. The IPv4 prefix length must
 * fit 5 bits (0..31, so /32 is rejected, as in flannel), the IPv6 one 7 bits (0..127).
 */
export function parseSubnetKey(name: string): ParsedSubnetKey {
  const m = SUBNET_KEY_RE.exec(name);
  if (!m) throw new SubnetKeyError(name, 'expected <IPv4>-<len> or <IPv4>-<len>&<IPv6>-<len>');
  const ip = tryParseIp4(m[1] as string);
  const len = Number(m[2]);
  if (ip === undefined) throw new SubnetKeyError(name, `"${m[1]}" is not an IPv4 address`);
  if (len > 31) throw new SubnetKeyError(name, `IPv4 prefix length ${m[2]} is out of range 0..31`);
  if (m[3] === undefined) return { subnet: { ip, prefixLen: len }, ipv6Subnet: undefined };
  const ip6 = tryParseIp6(m[3]);
  const len6 = Number(m[4]);
  if (ip6 === undefined) throw new SubnetKeyError(name, `"${m[3]}" is not an IPv6 address`);
  if (len6 > 127) throw new SubnetKeyError(name, `IPv6 prefix length ${m[4]} is out of range 0..127`);
  return { subnet: { ip, prefixLen: len }, ipv6Subnet: { ip: ip6, prefixLen: len6 } };
}
