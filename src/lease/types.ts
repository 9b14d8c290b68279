import type { NetConfig } from '../config/net-config.js';
import type { Ip4Net, Ip6Net } from '../net/ip.js';

/**
 * What a node publishes about itself (flannel's `lease.LeaseAttrs`). `backendData` and
 * `backendV6Data` hold compact JSON text exactly as stored, so a lease read from etcd or from a
 * node annotation can be written back byte for byte.
 */
export interface LeaseAttrs {
  publicIp: string;
  publicIpv6: string | null;
  /** "" when absent. */
  backendType: string;
  backendData: string | undefined;
  backendV6Data: string | undefined;
}

export interface Lease {
  enableIpv4: boolean;
  enableIpv6: boolean;
  /**
   * IPv4 subnet as the store holds it (an etcd key may carry host bits: `10.244.7.5-24`; the
   * peer-lease validation refuses such a lease); present whenever enableIpv4.
   */
  subnet: Ip4Net | undefined;
  ipv6Subnet: Ip6Net | undefined;
  attrs: LeaseAttrs;
  /**
   * undefined: the lease does not expire (an etcd reservation, kube or local mode), or, for an
   * etcd peer, its expiry was not looked up (nothing downstream needs it; see peerExpiry).
   */
  expiration: Date | undefined;
  /** Kube mode: the node that published it, for logs and warnings. Absent in etcd mode. */
  nodeName?: string | undefined;
}

export type LeaseEvent =
  | { readonly type: 'added'; readonly lease: Lease }
  | { readonly type: 'removed'; readonly lease: Lease };

/**
 * What a subnet manager's watch yields. A snapshot is the complete set of peer and own leases
 * at one point (the first result, and again after a compaction or a relist); events are
 * incremental. The lease watcher turns both into added/removed/changed against what it knows.
 */
export type LeaseWatchResult =
  | { readonly kind: 'snapshot'; readonly leases: readonly Lease[] }
  | { readonly kind: 'events'; readonly events: readonly LeaseEvent[] };

export interface LeaseRequest {
  attrs: LeaseAttrs;
  /** The subnet this node had before (from subnet.env), tried first when free. */
  previousSubnet?: Ip4Net | undefined;
  previousIpv6Subnet?: Ip6Net | undefined;
}

export interface KeepLeaseHooks {
  /** The lease was renewed (etcd: new expiry). */
  onRenewed?(lease: Lease): void;
  /** One renewal attempt failed (it is retried); for the renewal-failure count. */
  onRenewFailed?(err: unknown): void;
  /** The lease vanished from the store (deleted or expired); re-acquisition follows. */
  onLost?(reason: string): void;
  /** A lost lease was acquired again (possibly another subnet). */
  onReacquired?(lease: Lease): void;
}

/**
 * Where leases live: etcd (flannel's v3 layout), the Kubernetes API (node podCIDR and
 * annotations) or a local file. Everything downstream sees only this interface.
 */
export interface SubnetManager {
  readonly kind: 'etcd' | 'kube' | 'local';
  getNetworkConfig(signal: AbortSignal): Promise<NetConfig>;
  acquireLease(request: LeaseRequest, signal: AbortSignal): Promise<Lease>;
  /**
   * Keeps the own lease until `signal` aborts: renews it before it expires (retrying on
   * failure) and re-acquires it if it is lost. Resolves when the signal aborts; never rejects
   * for a store failure (those are retried and reported through hooks and logs).
   */
  keepLease(lease: Lease, request: LeaseRequest, signal: AbortSignal, hooks?: KeepLeaseHooks): Promise<void>;
  /**
   * All leases (own included): first a snapshot, then events. Resumes after a disconnect
   * without losing or replaying events; a relist is delivered as a new snapshot. Ends when
   * `signal` aborts.
   */
  watchLeases(signal: AbortSignal): AsyncIterable<LeaseWatchResult>;
  /**
   * An address the store says this node must publish instead of --public-ip (kube: the
   * node-public-ip annotation, read once at start-up). Absent or undefined: none.
   */
  publicIpOverride?(signal: AbortSignal): Promise<string | undefined>;
  /** Called once the backend is up (kube: the NetworkUnavailable=False condition). */
  markNetworkUp(signal: AbortSignal): Promise<void>;
  /**
   * What markNetworkUp would change, read-only (for `plan`): one line per field, empty when it
   * would write nothing. Absent when the store has nothing to mark.
   */
  networkUpChanges?(signal: AbortSignal): Promise<string[]>;
  close(): Promise<void>;
}
