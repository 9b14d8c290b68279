import { decodeLeaseAttrs } from '../lease-json.js';
import type { Lease, LeaseAttrs } from '../types.js';
import { parseSubnetKey, SubnetKeyError, type ParsedSubnetKey } from '../subnet-key.js';

/** etcd's lease id for a key written without a lease: a flannel reservation. */
export const NO_ETCD_LEASE = '0';

/** The subnet(s) named by a key under `subnetsPrefix`; throws SubnetKeyError otherwise. */
export function subnetsOfKey(subnetsPrefix: string, key: string): ParsedSubnetKey {
  if (!key.startsWith(subnetsPrefix)) throw new SubnetKeyError(key, `not under ${subnetsPrefix}`);
  return parseSubnetKey(key.slice(subnetsPrefix.length));
}

/**
 * When the lease expires, from etcd's TimeToLive answer. A reservation (no etcd lease) never
 * expires. A lease etcd no longer knows (TTL −1) counts as already expired, as in flannel.
 */
export function expirationOf(etcdLeaseId: string, ttlSeconds: number | undefined, now: Date): Date | undefined {
  if (etcdLeaseId === NO_ETCD_LEASE || ttlSeconds === undefined) return undefined;
  if (ttlSeconds < 0) return new Date(now.getTime() - 1000);
  return new Date(now.getTime() + ttlSeconds * 1000);
}

/**
 * A Lease from one etcd key-value pair (flannel's `parseSubnetWatchResponse`/list path):
 * EnableIPv4 always, EnableIPv6 when the key has an IPv6 part. Throws (SubnetKeyError,
 * LeaseJsonError) for a key or value flannel could not parse either.
 */
export function leaseFromKeyValue(
  subnetsPrefix: string,
  key: string,
  value: string,
  expiration: Date | undefined,
): Lease {
  const { subnet, ipv6Subnet } = subnetsOfKey(subnetsPrefix, key);
  const attrs = decodeLeaseAttrs(value, { key });
  return { enableIpv4: true, enableIpv6: ipv6Subnet !== undefined, subnet, ipv6Subnet, attrs, expiration };
}

/**
 * A removed lease when only the key is known (the deleted value was compacted away): the
 * subnet identifies it; attributes are placeholders the lease watcher replaces with the stored
 * lease.
 */
export function removedLeaseFromKey(subnetsPrefix: string, key: string): Lease {
  const { subnet, ipv6Subnet } = subnetsOfKey(subnetsPrefix, key);
  const attrs: LeaseAttrs = { publicIp: '0.0.0.0', publicIpv6: null, backendType: '', backendData: undefined, backendV6Data: undefined };
  return { enableIpv4: true, enableIpv6: ipv6Subnet !== undefined, subnet, ipv6Subnet, attrs, expiration: undefined };
}
