import type { NetConfig } from '../config/net-config.js';
import type { HnsClient } from '../hns/client.js';
import type { Lease, LeaseAttrs, LeaseRequest, SubnetManager } from '../lease/types.js';
import type { Ip4Net } from '../net/ip.js';
import type { Logger } from '../log.js';
import type { ResourceKind } from '../reconcile/resource-kind.js';
import type { NetInterface, RouteTable } from '../routes/route-table.js';

/** The interface flannel-win uses to reach its peers, chosen from --iface/--iface-regex/--public-ip. */
export interface ExternalInterface {
  iface: NetInterface;
  /** The interface's own IPv4 address. */
  ifaceAddr: string;
  /** The address published in the lease: --public-ip (or the node-public-ip annotation), else ifaceAddr. */
  extAddr: string;
}

export interface BackendContext {
  hns: HnsClient;
  routes: RouteTable;
  subnetManager: SubnetManager;
  netConfig: NetConfig;
  external: ExternalInterface;
  /** The subnet this node had before, from subnet.env. */
  previous: Pick<LeaseRequest, 'previousSubnet' | 'previousIpv6Subnet'>;
  log: Logger;
  timings?: Partial<BackendTimings>;
}

export interface BackendTimings {
  /** How often to poll HNS / the interface table while waiting after a network is created. */
  pollMs: number;
  /** How long to wait for HNS to report the network's management IP. */
  managementIpTimeoutMs: number;
  /** How long to wait for the host interface holding the management IP to come back. */
  interfaceTimeoutMs: number;
}

export const DEFAULT_BACKEND_TIMINGS: BackendTimings = {
  pollMs: 100,
  managementIpTimeoutMs: 30_000,
  interfaceTimeoutMs: 45_000,
};

/** What a backend wants for one peer lease. `key` identifies the peer's slot (its subnet). */
export type PeerDecision<D> =
  | { readonly kind: 'route'; readonly key: string; readonly spec: D }
  | { readonly kind: 'ignore'; readonly key: string; readonly reason: string }
  | { readonly kind: 'unusable'; readonly key: string; readonly code: string; readonly reason: string };

/** What `inspect` found wrong with the HNS objects a backend set up. */
export interface NetworkInspection {
  /**
   * The network itself is gone or no longer what we need (HNS restarted, someone deleted it):
   * pods are cut off until it is recreated, so the node is not ready meanwhile.
   */
  readonly networkLost: boolean;
  /** Every object found missing or wrong, in words for the log; empty when all is well. */
  readonly problems: readonly string[];
}

/** What `repair` did. */
export interface NetworkRepair {
  /** The network was created again (new id): every object on it must be re-applied. */
  readonly recreated: boolean;
  /** The own lease must be published again with this request (vxlan: a new DR MAC). */
  readonly leaseRequest?: LeaseRequest | undefined;
  /** Peer specs depend on something that changed (host-gw: the interface index): decide them again. */
  readonly peersChanged: boolean;
  /** What was fixed, for the log. */
  readonly repaired: readonly string[];
}

/** A backend after registration: the own lease, the MTU for subnet.env, and the peer resources. */
export interface BackendNetwork<D, A> {
  readonly backendType: string;
  /**
   * Which host API the peer kind writes to. HNS writes of every controller share the daemon's
   * one HNS rate limit; route-table writes (iphlpapi) keep the kind's own.
   */
  readonly writesTo: 'hns' | 'route-table';
  lease: Lease;
  /** What keepLease must re-publish if the lease is lost. */
  leaseRequest: LeaseRequest;
  mtu: number;
  kind: ResourceKind<D, A>;
  decide(peer: Lease): PeerDecision<D>;
  /** Facts for /status and the start-up log. */
  describe(): Record<string, unknown>;
  /**
   * Reads (never writes) the network and everything set up with it (host endpoint, HostRoute
   * policy) and says what is missing or wrong. Run at every resync and after an HNS error that
   * says the network or an endpoint is gone.
   */
  inspect(signal: AbortSignal): Promise<NetworkInspection>;
  /**
   * Brings the network and its objects back to what `register` set up: adopts what still
   * matches, recreates the network on the physical adapter when it is gone, adds what is
   * missing. Idempotent; throws when HNS refuses (the caller retries at the next resync).
   */
  repair(signal: AbortSignal): Promise<NetworkRepair>;
}

/** One write the daemon would make, as `flannel-win plan` reports it. */
export interface PlannedWrite {
  /** What is written: "network", "endpoint", "lease", "file", or a reconciler kind's name. */
  readonly kind: string;
  readonly key: string;
  readonly op: 'create' | 'replace' | 'delete';
  /** What differs ("field: now -> wanted"), or what a create would hold. */
  readonly fields: readonly string[];
}

/**
 * What `register` would find and do, learnt by reading only: the writes to the network and its
 * objects, and the peer kind and decisions to plan the per-peer writes with.
 */
export interface BackendPreview {
  readonly networkWrites: readonly PlannedWrite[];
  /** The peer resource kind, as register would set it up. */
  readonly kind: ResourceKind<unknown, unknown>;
  /**
   * False when the network would be created or recreated: nothing of it exists to list, and
   * every peer object is a create.
   */
  readonly networkExists: boolean;
  decide(peer: Lease): PeerDecision<unknown>;
  /** The lease attributes register would publish, where they are known without writing. */
  readonly leaseAttrs: Partial<Pick<LeaseAttrs, 'publicIp' | 'backendType' | 'backendData'>>;
  /**
   * The MTU register would report for subnet.env: read from the interface that holds the
   * network's management address now, or, for a network still to be created, from the adapter
   * its vSwitch takes over (which keeps the adapter's MTU).
   */
  readonly mtu: number;
  /**
   * What `BackendNetwork.describe` would say, as far as it is known without writing (`network`
   * always; `networkId` only for a network that is kept): the CNI config and the policy
   * controller read the same keys.
   */
  describe(): Record<string, unknown>;
}

export interface Backend {
  readonly type: string;
  /** Local set-up and lease acquisition (flannel's RegisterNetwork). */
  register(signal: AbortSignal): Promise<BackendNetwork<unknown, unknown>>;
  /** Reads the host (never writes) to say what `register` would do for `ownSubnet` (plan). */
  preview(ownSubnet: Ip4Net, signal: AbortSignal): Promise<BackendPreview>;
}
