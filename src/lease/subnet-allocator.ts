import type { CheckedNetConfig } from '../config/net-config.js';
import { FlannelWinError } from '../errors.js';
import { formatIp4, formatIp6, ip4NetsOverlap, ip6NetsOverlap, type Ip4Net, type Ip6Net } from '../net/ip.js';
import { allocationIgnores } from './peer-lease-validation.js';
import { makeSubnetKey } from './subnet-key.js';

/** No free subnet is left in [SubnetMin, SubnetMax]: every candidate overlaps a lease. */
export class SubnetAllocationError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>) {
    super('SUBNET_EXHAUSTED', message, context);
  }
}

/** flannel picks at random among the first this-many free subnets, so racing nodes rarely collide. */
export const RANDOM_POOL_SIZE = 100;

/** A subnet pair that some lease (or reservation) already holds. */
export interface TakenSubnet {
  readonly subnet: Ip4Net | undefined;
  readonly ipv6Subnet: Ip6Net | undefined;
  /** Where the lease lives, for the warning when it is ignored. @default its subnet key (`10.244.3.0-24`) */
  readonly label?: string | undefined;
}

/** A lease the allocator did not count as taking space, and why. */
export interface IgnoredLease {
  readonly label: string;
  readonly reason: string;
}

export interface AllocationRequest {
  readonly config: CheckedNetConfig;
  readonly taken: readonly TakenSubnet[];
  readonly previousSubnet?: Ip4Net | undefined;
  readonly previousIpv6Subnet?: Ip6Net | undefined;
  /** Uniform in [0, 1), like Math.random; injected so tests are deterministic. */
  readonly random: () => number;
}

export interface SubnetCandidate {
  readonly subnet: Ip4Net | undefined;
  readonly ipv6Subnet: Ip6Net | undefined;
  /** 'previous': the subnet from the old subnet.env was free and reused. */
  readonly source: 'previous' | 'random';
  /** Leases that cannot be valid and were not counted as taken (the caller warns about them). */
  readonly ignored: readonly IgnoredLease[];
}

/**
 * Splits the taken leases into those that count and those no node could hold (see
 * allocationIgnores): a junk key such as `0.0.0.0-0` covers every subnet and would otherwise
 * leave a new node "out of subnets" for as long as it exists.
 */
export function countedLeases(config: CheckedNetConfig, taken: readonly TakenSubnet[]): { counted: TakenSubnet[]; ignored: IgnoredLease[] } {
  const network = config.network;
  if (network === undefined) return { counted: [...taken], ignored: [] };
  const counted: TakenSubnet[] = [];
  const ignored: IgnoredLease[] = [];
  for (const lease of taken) {
    const reason = lease.subnet === undefined ? undefined : allocationIgnores(lease.subnet, network);
    if (reason === undefined) counted.push(lease);
    else ignored.push({ label: lease.label ?? makeSubnetKey(lease.subnet!, lease.ipv6Subnet), reason });
  }
  return { counted, ignored };
}

/** True when `subnet` is one flannel could have allocated under `config` (right length, in range). */
export function ip4SubnetFitsConfig(config: CheckedNetConfig, subnet: Ip4Net | undefined): boolean {
  if (!config.enableIpv4) return subnet === undefined;
  if (subnet === undefined || config.subnetMin === undefined || config.subnetMax === undefined) return false;
  return subnet.prefixLen === config.subnetLen && subnet.ip >= config.subnetMin && subnet.ip <= config.subnetMax;
}

export function ip6SubnetFitsConfig(config: CheckedNetConfig, subnet: Ip6Net | undefined): boolean {
  if (!config.enableIpv6) return subnet === undefined;
  if (subnet === undefined || config.ipv6SubnetMin === undefined || config.ipv6SubnetMax === undefined) return false;
  return subnet.prefixLen === config.ipv6SubnetLen && subnet.ip >= config.ipv6SubnetMin && subnet.ip <= config.ipv6SubnetMax;
}

/** Both halves of a lease fit the config (flannel's check before reusing a lease by PublicIP). */
export function leaseFitsConfig(config: CheckedNetConfig, lease: TakenSubnet): boolean {
  return ip4SubnetFitsConfig(config, lease.subnet) && ip6SubnetFitsConfig(config, lease.ipv6Subnet);
}

function ip4Taken(taken: readonly TakenSubnet[], subnet: Ip4Net): boolean {
  return taken.some((t) => t.subnet !== undefined && ip4NetsOverlap(t.subnet, subnet));
}

function ip6Taken(taken: readonly TakenSubnet[], subnet: Ip6Net): boolean {
  return taken.some((t) => t.ipv6Subnet !== undefined && ip6NetsOverlap(t.ipv6Subnet, subnet));
}

function pick<T>(pool: readonly T[], random: () => number): T | undefined {
  // Clamp: a random() returning exactly 1 (a broken source) must not index past the end.
  const index = Math.min(pool.length - 1, Math.floor(random() * pool.length));
  return pool[index];
}

function freeIp4Subnets(config: CheckedNetConfig, taken: readonly TakenSubnet[]): Ip4Net[] {
  const free: Ip4Net[] = [];
  if (config.subnetMin === undefined || config.subnetMax === undefined) return free;
  const step = 2 ** (32 - config.subnetLen);
  for (let ip = config.subnetMin; ip <= config.subnetMax && free.length < RANDOM_POOL_SIZE; ip += step) {
    const candidate = { ip, prefixLen: config.subnetLen };
    if (!ip4Taken(taken, candidate)) free.push(candidate);
  }
  return free;
}

function freeIp6Subnets(config: CheckedNetConfig, taken: readonly TakenSubnet[]): Ip6Net[] {
  const free: Ip6Net[] = [];
  if (config.ipv6SubnetMin === undefined || config.ipv6SubnetMax === undefined) return free;
  const step = 1n << BigInt(128 - config.ipv6SubnetLen);
  for (let ip = config.ipv6SubnetMin; ip <= config.ipv6SubnetMax && free.length < RANDOM_POOL_SIZE; ip += step) {
    const candidate = { ip, prefixLen: config.ipv6SubnetLen };
    if (!ip6Taken(taken, candidate)) free.push(candidate);
  }
  return free;
}

/**
 * Chooses the subnet(s) to try to create, as flannel's `tryAcquireLease` does after the
 * reuse-by-PublicIP step: the previous subnet when it is free and fits the config, otherwise a
 * uniformly random one among the first 100 free subnets walking up from SubnetMin (per family).
 * Leases that cannot be valid are not counted (returned in `ignored`). Throws SubnetAllocationError when a family has nothing free.
 */
export function chooseSubnet(request: AllocationRequest): SubnetCandidate {
  const { config, random } = request;
  const { counted: taken, ignored } = countedLeases(config, request.taken);
  // A previous subnet of a family the config no longer enables is simply not wanted.
  const previousSubnet = config.enableIpv4 ? request.previousSubnet : undefined;
  const previousIpv6Subnet = config.enableIpv6 ? request.previousIpv6Subnet : undefined;
  const previousUsable =
    (config.enableIpv4 || config.enableIpv6) &&
    leaseFitsConfig(config, { subnet: previousSubnet, ipv6Subnet: previousIpv6Subnet }) &&
    (previousSubnet === undefined || !ip4Taken(taken, previousSubnet)) &&
    (previousIpv6Subnet === undefined || !ip6Taken(taken, previousIpv6Subnet));
  if (previousUsable) return { subnet: previousSubnet, ipv6Subnet: previousIpv6Subnet, source: 'previous', ignored };

  let subnet: Ip4Net | undefined;
  if (config.enableIpv4) {
    subnet = pick(freeIp4Subnets(config, taken), random);
    if (subnet === undefined) {
      throw new SubnetAllocationError('out of subnets', {
        family: 'IPv4',
        subnetMin: config.subnetMin === undefined ? undefined : formatIp4(config.subnetMin),
        subnetMax: config.subnetMax === undefined ? undefined : formatIp4(config.subnetMax),
        subnetLen: config.subnetLen,
        taken: taken.length,
        ignored: ignored.length,
      });
    }
  }
  let ipv6Subnet: Ip6Net | undefined;
  if (config.enableIpv6) {
    ipv6Subnet = pick(freeIp6Subnets(config, taken), random);
    if (ipv6Subnet === undefined) {
      throw new SubnetAllocationError('out of subnets', {
        family: 'IPv6',
        ipv6SubnetMin: config.ipv6SubnetMin === undefined ? undefined : formatIp6(config.ipv6SubnetMin),
        ipv6SubnetMax: config.ipv6SubnetMax === undefined ? undefined : formatIp6(config.ipv6SubnetMax),
        ipv6SubnetLen: config.ipv6SubnetLen,
        taken: taken.length,
      });
    }
  }
  return { subnet, ipv6Subnet, source: 'random', ignored };
}
