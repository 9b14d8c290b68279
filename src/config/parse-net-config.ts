import { FlannelWinError } from '../errors.js';
import {
  formatIp4,
  formatIp4Net,
  formatIp6,
  ip4Mask,
  ip4NetContainsIp,
  ip6Mask,
  ip6NetContainsIp,
  maskIp4Net,
  maskIp6Net,
  tryParseIp4,
  tryParseIp6,
  parseIp4Net,
  parseIp6Net,
  type Ip4Net,
  type Ip6Net,
} from '../net/ip.js';
import type { CheckedNetConfig, NetConfig } from './net-config.js';

/** net-conf.json is unusable: malformed JSON, a field of the wrong type, or a failed check. */
export class NetConfigError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('NETCONF_INVALID', message, context);
  }
}

/** The backends this daemon implements on Windows (flannel also registers alloc and extension). */
export const WINDOWS_BACKEND_TYPES: readonly string[] = ['vxlan', 'host-gw'];

type FieldName =
  | 'EnableIPv4'
  | 'EnableIPv6'
  | 'EnableNFTables'
  | 'Network'
  | 'IPv6Network'
  | 'SubnetLen'
  | 'SubnetMin'
  | 'SubnetMax'
  | 'IPv6SubnetLen'
  | 'IPv6SubnetMin'
  | 'IPv6SubnetMax'
  | 'Backend';

const FIELD_NAMES: readonly FieldName[] = [
  'EnableIPv4',
  'EnableIPv6',
  'EnableNFTables',
  'Network',
  'IPv6Network',
  'SubnetLen',
  'SubnetMin',
  'SubnetMax',
  'IPv6SubnetLen',
  'IPv6SubnetMin',
  'IPv6SubnetMax',
  'Backend',
];

// Go's encoding/json matches object keys to struct fields ignoring case.
const FIELD_BY_FOLDED_NAME = new Map<string, FieldName>(FIELD_NAMES.map((name) => [name.toLowerCase(), name]));

function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/**
 * Decodes net-conf.json as flannel's `ParseConfig` does. `source` (a file path or an etcd key)
 * prefixes every error so an operator knows which document to fix.
 */
export function parseNetConfig(text: string, source = 'net-conf.json'): NetConfig {
  const fail = (field: string, problem: string, value: unknown): never => {
    throw new NetConfigError(`${source}: field "${field}": ${problem}`, { source, field, value });
  };

  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new NetConfigError(`${source}: malformed JSON: ${(err as Error).message}`, { source });
  }
  const config: NetConfig = {
    enableIpv4: true,
    enableIpv6: false,
    enableNftables: false,
    network: undefined,
    ipv6Network: undefined,
    subnetLen: 0,
    subnetMin: undefined,
    subnetMax: undefined,
    ipv6SubnetLen: 0,
    ipv6SubnetMin: undefined,
    ipv6SubnetMax: undefined,
    backendType: 'udp',
    backend: undefined,
  };
  // A top-level null decodes to the defaults in Go, as it does here.
  if (document === null) return config;
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new NetConfigError(`${source}: expected a JSON object, got ${jsonTypeName(document)}`, { source });
  }

  const bool = (field: FieldName, value: unknown): boolean =>
    typeof value === 'boolean' ? value : fail(field, `expected a boolean, got ${jsonTypeName(value)} ${describeValue(value)}`, value);
  const uint = (field: FieldName, value: unknown): number =>
    // Go decodes into a uint, so a fraction, a sign or a number past 2^64 is an error there;
    // past 2^53 a JavaScript number is no longer exact, so that is the bound here.
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
      ? value
      : fail(field, `expected a non-negative integer, got ${jsonTypeName(value)} ${describeValue(value)}`, value);
  const text4Net = (field: FieldName, value: unknown): Ip4Net => {
    if (typeof value !== 'string') return fail(field, `expected a string, got ${jsonTypeName(value)} ${describeValue(value)}`, value);
    try {
      return maskIp4Net(parseIp4Net(value));
    } catch {
      return fail(field, `invalid IPv4 CIDR "${value}"`, value);
    }
  };
  const text6Net = (field: FieldName, value: unknown): Ip6Net => {
    if (typeof value !== 'string') return fail(field, `expected a string, got ${jsonTypeName(value)} ${describeValue(value)}`, value);
    try {
      return maskIp6Net(parseIp6Net(value));
    } catch {
      return fail(field, `invalid IPv6 CIDR "${value}"`, value);
    }
  };
  const ip4 = (field: FieldName, value: unknown): number => {
    const ip = typeof value === 'string' ? tryParseIp4(value) : undefined;
    return ip ?? fail(field, `invalid IPv4 address ${describeValue(value)}`, value);
  };
  const ip6 = (field: FieldName, value: unknown): bigint => {
    const ip = typeof value === 'string' ? tryParseIp6(value) : undefined;
    return ip ?? fail(field, `invalid IPv6 address ${describeValue(value)}`, value);
  };

  for (const [key, value] of Object.entries(document)) {
    const field = FIELD_BY_FOLDED_NAME.get(key.toLowerCase());
    // Go ignores unknown keys, and a JSON null leaves a value field as it was.
    if (field === undefined || value === null) continue;
    switch (field) {
      case 'EnableIPv4':
        config.enableIpv4 = bool(field, value);
        break;
      case 'EnableIPv6':
        config.enableIpv6 = bool(field, value);
        break;
      case 'EnableNFTables':
        config.enableNftables = bool(field, value);
        break;
      case 'Network':
        config.network = text4Net(field, value);
        break;
      case 'IPv6Network':
        config.ipv6Network = text6Net(field, value);
        break;
      case 'SubnetLen':
        config.subnetLen = uint(field, value);
        break;
      case 'IPv6SubnetLen':
        config.ipv6SubnetLen = uint(field, value);
        break;
      case 'SubnetMin':
        config.subnetMin = ip4(field, value);
        break;
      case 'SubnetMax':
        config.subnetMax = ip4(field, value);
        break;
      case 'IPv6SubnetMin':
        config.ipv6SubnetMin = ip6(field, value);
        break;
      case 'IPv6SubnetMax':
        config.ipv6SubnetMax = ip6(field, value);
        break;
      case 'Backend':
        config.backend = backendObject(value, fail);
        config.backendType = backendTypeOf(config.backend, fail);
        break;
    }
  }
  if (hasNullBackend(document)) {
    // flannel keeps `"Backend": null` as the raw text "null", whose Type decodes to "".
    config.backend = undefined;
    config.backendType = '';
  }
  return config;
}

function hasNullBackend(document: object): boolean {
  let isNull = false;
  for (const [key, value] of Object.entries(document)) {
    if (key.toLowerCase() === 'backend') isNull = value === null;
  }
  return isNull;
}

function backendObject(value: unknown, fail: (field: string, problem: string, value: unknown) => never): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('Backend', `expected a JSON object, got ${jsonTypeName(value)} ${describeValue(value)}`, value);
  }
  return value as Record<string, unknown>;
}

function backendTypeOf(backend: Record<string, unknown>, fail: (field: string, problem: string, value: unknown) => never): string {
  let type = '';
  for (const [key, value] of Object.entries(backend)) {
    if (key.toLowerCase() !== 'type' || value === null) continue;
    if (typeof value !== 'string') return fail('Backend.Type', `expected a string, got ${jsonTypeName(value)} ${describeValue(value)}`, value);
    type = value;
  }
  // flannel's backend manager lower-cases the name before the lookup.
  return type.toLowerCase();
}

/**
 * Why `backendType` cannot run on Windows, or undefined when it can. `backendAbsent` says the
 * config had no `Backend` at all, which is how the type became flannel's code default "udp".
 */
export function describeBackendTypeProblem(backendType: string, options: { backendAbsent?: boolean } = {}): string | undefined {
  if (WINDOWS_BACKEND_TYPES.includes(backendType)) return undefined;
  if (backendType === 'udp' && options.backendAbsent === true) {
    return 'Backend is missing; flannel\'s default udp cannot run on Windows; set "Backend": {"Type": "vxlan"} (or "host-gw")';
  }
  if (backendType === '') {
    return 'unknown backend type: "" ("Backend" has no "Type"; set "Backend": {"Type": "vxlan"} or "host-gw")';
  }
  return `unknown backend type: ${backendType} (Windows supports ${WINDOWS_BACKEND_TYPES.join(', ')})`;
}

/**
 * flannel's `CheckNetworkConfig` (etcd mode): fills SubnetLen/Min/Max defaults and rejects
 * ranges that cannot hold four subnets. flannel's words are kept so operators can search for
 * them; each message starts with `source` and the field and value at fault, and the context
 * carries them too. One check flannel lacks: SubnetMax below SubnetMin (an empty range, which
 * flannel reports only later as "out of subnets").
 */
export function checkNetworkConfig(cfg: NetConfig, source = 'net-conf.json'): CheckedNetConfig {
  const checked: CheckedNetConfig = { ...cfg };
  if (cfg.enableIpv4) Object.assign(checked, checkIpv4Range(cfg, source));
  if (cfg.enableIpv6) Object.assign(checked, checkIpv6Range(cfg, source));
  return checked;
}

/** A failed range check: `<source>: field "<field>" = <value>: <flannel's words>`. */
function rangeError(source: string, field: string, value: string | number | undefined, problem: string, context: Record<string, unknown>): NetConfigError {
  const shown = value === undefined ? 'is missing' : `= ${typeof value === 'string' ? `"${value}"` : value}`;
  return new NetConfigError(`${source}: field "${field}" ${shown}: ${problem}`, { source, field, value, ...context });
}

function checkIpv4Range(cfg: NetConfig, source: string): Pick<CheckedNetConfig, 'subnetLen' | 'subnetMin' | 'subnetMax'> {
  const network = cfg.network;
  if (network === undefined) {
    throw rangeError(source, 'Network', undefined, 'please define a correct Network parameter in the flannel config (the cluster\'s IPv4 CIDR, e.g. "10.244.0.0/16")', {});
  }
  const networkText = formatIp4Net(network);
  if (network.prefixLen === 0) {
    throw rangeError(source, 'Network', networkText, 'please define a correct Network parameter in the flannel config: a cluster network cannot cover every IPv4 address', {});
  }
  const context = { network: networkText, subnetLen: cfg.subnetLen };
  let subnetLen = cfg.subnetLen;
  if (subnetLen > 0) {
    if (subnetLen > 30) throw rangeError(source, 'SubnetLen', subnetLen, 'SubnetLen must be less than /31', context);
    if (subnetLen < network.prefixLen + 2) {
      throw rangeError(source, 'SubnetLen', subnetLen, `network must be able to accommodate at least four subnets (Network is ${networkText})`, context);
    }
  } else if (network.prefixLen > 28) {
    throw rangeError(source, 'Network', networkText, 'network is too small. Minimum useful network prefix is /28', context);
  } else {
    subnetLen = network.prefixLen <= 22 ? 24 : network.prefixLen + 2;
  }
  const size = 2 ** (32 - subnetLen);
  // 0.0.0.0 counts as unset, as in flannel, which uses the zero value for "not given".
  let subnetMin = cfg.subnetMin ?? 0;
  if (subnetMin === 0) {
    // The network's first subnet is skipped: its .0 would clash with the network address.
    subnetMin = (network.ip + size) >>> 0;
  } else if (!ip4NetContainsIp(network, subnetMin)) {
    throw rangeError(source, 'SubnetMin', formatIp4(subnetMin), `SubnetMin is not in the range of the Network ${networkText}`, context);
  }
  let subnetMax = cfg.subnetMax ?? 0;
  if (subnetMax === 0) {
    subnetMax = (network.ip + 2 ** (32 - network.prefixLen) - size) >>> 0;
  } else if (!ip4NetContainsIp(network, subnetMax)) {
    throw rangeError(source, 'SubnetMax', formatIp4(subnetMax), `SubnetMax is not in the range of the Network ${networkText}`, context);
  }
  const mask = ip4Mask(subnetLen);
  if ((subnetMin & mask) >>> 0 !== subnetMin) {
    throw rangeError(source, 'SubnetMin', formatIp4(subnetMin), `SubnetMin is not on a SubnetLen boundary: ${formatIp4(subnetMin)} (SubnetLen ${subnetLen})`, { ...context, subnetLen });
  }
  if ((subnetMax & mask) >>> 0 !== subnetMax) {
    throw rangeError(source, 'SubnetMax', formatIp4(subnetMax), `SubnetMax is not on a SubnetLen boundary: ${formatIp4(subnetMax)} (SubnetLen ${subnetLen})`, { ...context, subnetLen });
  }
  if (subnetMax < subnetMin) {
    throw rangeError(source, 'SubnetMax', formatIp4(subnetMax), `SubnetMax is below SubnetMin ${formatIp4(subnetMin)}: no subnet can be allocated`, context);
  }
  return { subnetLen, subnetMin, subnetMax };
}

function checkIpv6Range(cfg: NetConfig, source: string): Pick<CheckedNetConfig, 'ipv6SubnetLen' | 'ipv6SubnetMin' | 'ipv6SubnetMax'> {
  const network = cfg.ipv6Network;
  if (network === undefined || (network.ip === 0n && network.prefixLen === 0)) {
    throw rangeError(source, 'IPv6Network', network && `${formatIp6(network.ip)}/${network.prefixLen}`, 'please define a correct IPv6Network parameter in the flannel config', {});
  }
  const networkText = `${formatIp6(network.ip)}/${network.prefixLen}`;
  const context = { ipv6Network: networkText, ipv6SubnetLen: cfg.ipv6SubnetLen };
  let subnetLen = cfg.ipv6SubnetLen;
  if (subnetLen > 0) {
    if (subnetLen > 126) throw rangeError(source, 'IPv6SubnetLen', subnetLen, 'SubnetLen must be less than /127', context);
    if (subnetLen < network.prefixLen + 2) {
      throw rangeError(source, 'IPv6SubnetLen', subnetLen, `network must be able to accommodate at least four subnets (IPv6Network is ${networkText})`, context);
    }
  } else if (network.prefixLen > 124) {
    throw rangeError(source, 'IPv6Network', networkText, 'IPv6Network is too small. Minimum useful network prefix is /124', context);
  } else {
    subnetLen = network.prefixLen <= 62 ? 64 : network.prefixLen + 2;
  }
  const size = 1n << BigInt(128 - subnetLen);
  const all = (1n << 128n) - 1n;
  let subnetMin = cfg.ipv6SubnetMin ?? 0n;
  if (subnetMin === 0n) {
    subnetMin = (network.ip + size) & all;
  } else if (!ip6NetContainsIp(network, subnetMin)) {
    throw rangeError(source, 'IPv6SubnetMin', formatIp6(subnetMin), `IPv6SubnetMin is not in the range of the IPv6Network ${networkText}`, context);
  }
  let subnetMax = cfg.ipv6SubnetMax ?? 0n;
  if (subnetMax === 0n) {
    subnetMax = (network.ip + (1n << BigInt(128 - network.prefixLen)) - size) & all;
  } else if (!ip6NetContainsIp(network, subnetMax)) {
    throw rangeError(source, 'IPv6SubnetMax', formatIp6(subnetMax), `IPv6SubnetMax is not in the range of the IPv6Network ${networkText}`, context);
  }
  const mask = ip6Mask(subnetLen);
  if ((subnetMin & mask) !== subnetMin) {
    throw rangeError(source, 'IPv6SubnetMin', formatIp6(subnetMin), `IPv6SubnetMin is not on a SubnetLen boundary: ${formatIp6(subnetMin)}`, { ...context, ipv6SubnetLen: subnetLen });
  }
  if ((subnetMax & mask) !== subnetMax) {
    throw rangeError(source, 'IPv6SubnetMax', formatIp6(subnetMax), `IPv6SubnetMax is not on a SubnetLen boundary: ${formatIp6(subnetMax)}`, { ...context, ipv6SubnetLen: subnetLen });
  }
  if (subnetMax < subnetMin) {
    throw rangeError(source, 'IPv6SubnetMax', formatIp6(subnetMax), `IPv6SubnetMax is below IPv6SubnetMin ${formatIp6(subnetMin)}: no subnet can be allocated`, context);
  }
  return { ipv6SubnetLen: subnetLen, ipv6SubnetMin: subnetMin, ipv6SubnetMax: subnetMax };
}
