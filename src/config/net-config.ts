import type { Ip4Net, Ip6Net } from '../net/ip.js';

/**
 * flannel's network config (net-conf.json), decoded as Go's encoding/json decodes it: keys
 * case-insensitive, unknown keys ignored. `parseNetConfig` produces it; `checkNetworkConfig`
 * (etcd mode only, as in flannel) fills SubnetLen/Min/Max defaults and validates them.
 */
export interface NetConfig {
  enableIpv4: boolean;
  enableIpv6: boolean;
  /** Linux only; kept so the value round-trips, ignored on Windows. */
  enableNftables: boolean;
  /** IPv4 cluster network, masked to its network address. */
  network: Ip4Net | undefined;
  ipv6Network: Ip6Net | undefined;
  /** 0 when unset. */
  subnetLen: number;
  /** IPv4 addresses as uint32; undefined when unset. */
  subnetMin: number | undefined;
  subnetMax: number | undefined;
  ipv6SubnetLen: number;
  ipv6SubnetMin: bigint | undefined;
  ipv6SubnetMax: bigint | undefined;
  /** `Backend.Type` lower-cased; "udp" when `Backend` is absent (flannel's code default). */
  backendType: string;
  /** The `Backend` object as written (key case preserved), or undefined when absent. */
  backend: Readonly<Record<string, unknown>> | undefined;
}

/** A NetConfig after `checkNetworkConfig`: the allocation range is known. */
export interface CheckedNetConfig extends NetConfig {
  subnetLen: number;
  subnetMin: number | undefined;
  subnetMax: number | undefined;
}
