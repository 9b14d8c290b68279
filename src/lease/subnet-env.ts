import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-file.js';
import {
  formatIp4,
  formatIp4Net,
  formatIp6,
  formatIp6Net,
  maskIp4Net,
  maskIp6Net,
  tryParseIp4,
  tryParseIp6,
  type Ip4Net,
  type Ip6Net,
} from '../net/ip.js';

/**
 * What flanneld writes to subnet.env. A line is written only when its value is present, so an
 * IPv4-off network leaves out FLANNEL_NETWORK/FLANNEL_SUBNET as flannel does.
 */
export interface SubnetEnvValues {
  /** The cluster network (net-conf Network), present when IPv4 is enabled. */
  network?: Ip4Net | undefined;
  /** This node's leased subnet; written as its first address, e.g. 10.244.3.1/24. */
  subnet?: Ip4Net | undefined;
  ipv6Network?: Ip6Net | undefined;
  ipv6Subnet?: Ip6Net | undefined;
  mtu: number;
  /** The --ip-masq value (Windows does no masquerading but flannel still reports it). */
  ipMasq: boolean;
}

/**
 * flannel's WriteSubnetFile text: KEY=value lines, LF endings even on Windows, no quoting, in
 * the order NETWORK, SUBNET, IPV6_NETWORK, IPV6_SUBNET, MTU, IPMASQ, ending with a newline.
 */
export function formatSubnetEnv(values: SubnetEnvValues): string {
  const lines: string[] = [];
  if (values.network) lines.push(`FLANNEL_NETWORK=${formatIp4Net(maskIp4Net(values.network))}`);
  if (values.subnet) {
    // The CNI plugin uses this as the bridge gateway: the subnet's first host address.
    const masked = maskIp4Net(values.subnet);
    lines.push(`FLANNEL_SUBNET=${formatIp4((masked.ip + 1) >>> 0)}/${masked.prefixLen}`);
  }
  if (values.ipv6Network) lines.push(`FLANNEL_IPV6_NETWORK=${formatIp6Net(maskIp6Net(values.ipv6Network))}`);
  if (values.ipv6Subnet) {
    const masked = maskIp6Net(values.ipv6Subnet);
    lines.push(`FLANNEL_IPV6_SUBNET=${formatIp6(masked.ip + 1n)}/${masked.prefixLen}`);
  }
  lines.push(`FLANNEL_MTU=${values.mtu}`);
  lines.push(`FLANNEL_IPMASQ=${values.ipMasq ? 'true' : 'false'}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Replaces `path` with `text` so a reader (the CNI plugin) sees the old file or the new one,
 * never a torn write (see writeFileAtomic: fsync, rename, retried on Windows while the plugin
 * holds the file open). flanneld on Windows overwrites in place; atomic is strictly better for
 * the same readers.
 */
export async function writeSubnetEnvAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, { durable: true, mode: 0o644 });
}

export interface PreviousSubnetEnv {
  /** FLANNEL_SUBNET parsed back to its network (10.244.3.1/24 → 10.244.3.0/24). */
  previousSubnet?: Ip4Net;
  previousIpv6Subnet?: Ip6Net;
  /** Every KEY=value pair read, in file order (later duplicates win). */
  raw: Map<string, string>;
  /** Lines or values that were skipped, for the caller to log. */
  warnings: string[];
}

const LINE_RE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*?)\s*$/;

function unquote(value: string): string {
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) {
    return value.slice(1, -1);
  }
  // An unquoted value ends at an inline comment, as in godotenv.
  const hash = value.indexOf(' #');
  return hash >= 0 ? value.slice(0, hash).trimEnd() : value;
}

/** Parses dotenv text as flanneld's godotenv does for the keys it needs. */
export function parseSubnetEnv(text: string): PreviousSubnetEnv {
  const raw = new Map<string, string>();
  const warnings: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const m = LINE_RE.exec(line);
    if (!m) {
      warnings.push(`line ${index + 1} is not KEY=value: ${JSON.stringify(line)}`);
      return;
    }
    raw.set(m[1] as string, unquote(m[2] as string));
  });
  const result: PreviousSubnetEnv = { raw, warnings };
  const v4 = cidrValue(raw, 'FLANNEL_SUBNET', warnings, (text) => parseNet(text, tryParseIp4, 32));
  if (v4) result.previousSubnet = maskIp4Net({ ip: v4.ip, prefixLen: v4.prefixLen });
  const v6 = cidrValue(raw, 'FLANNEL_IPV6_SUBNET', warnings, (text) => parseNet(text, tryParseIp6, 128));
  if (v6) result.previousIpv6Subnet = maskIp6Net({ ip: v6.ip, prefixLen: v6.prefixLen });
  return result;
}

function parseNet<T>(text: string, parseIp: (t: string) => T | undefined, maxLen: number): { ip: T; prefixLen: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(lenText) || Number(lenText) > maxLen) return undefined;
  return { ip, prefixLen: Number(lenText) };
}

function cidrValue<T>(raw: Map<string, string>, key: string, warnings: string[], parse: (text: string) => T | undefined): T | undefined {
  const value = raw.get(key);
  if (value === undefined || value === '') return undefined;
  // flannel reads the value as a comma list and uses it only when it holds exactly one entry.
  const entries = value.split(',');
  if (entries.length !== 1) {
    warnings.push(`${key}=${value} lists ${entries.length} subnets; ignored`);
    return undefined;
  }
  const parsed = parse(value.trim());
  if (parsed === undefined) warnings.push(`${key}=${value} is not a CIDR; ignored`);
  return parsed;
}

/**
 * The previous subnets from an existing subnet.env, used to ask for the same subnet again
 * after a restart. A missing file is not an error (first start); other read errors throw.
 */
export async function readSubnetEnv(path: string): Promise<PreviousSubnetEnv> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { raw: new Map(), warnings: [] };
    throw err;
  }
  return parseSubnetEnv(text);
}
