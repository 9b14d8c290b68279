import type { RemoteSubnetRoutePolicySetting } from '../../hns/types.js';
import { formatIp4Net, maskIp4Net, tryParseIp4, tryParseIp4Net } from '../../net/ip.js';
import { normalizeMac } from '../../net/mac.js';
import { describeLease } from '../../lease/lease-identity.js';
import type { Lease } from '../../lease/types.js';
import { decodeVxlanBackendData } from './backend-data.js';
import { WINDOWS_MIN_VNI } from './config.js';


/** One peer's route through the overlay, normalised so that equal routes compare equal. */
export interface RemoteSubnetRouteSpec {
  /** Masked peer subnet, e.g. "10.244.2.0/24"; also the reconciler key. */
  destinationPrefix: string;
  isolationId: number;
  providerAddress: string;
  /** Lowercase colon form. */
  drMac: string;
}

export type PeerRouteDecision =
  | { readonly kind: 'route'; readonly key: string; readonly spec: RemoteSubnetRouteSpec }
  /** Not a vxlan peer: nothing to program, nothing to warn about beyond a debug line. */
  | { readonly kind: 'ignore'; readonly key: string; readonly reason: string }
  /** A vxlan peer we cannot reach from Windows: warn once, count it, program nothing. */
  | { readonly kind: 'unusable'; readonly key: string; readonly code: string; readonly reason: string };

/**
 * Decides what the overlay needs for one peer lease (pure). The key is the peer subnet, so a
 * peer whose lease becomes unusable replaces (removes) its earlier route.
 */
export function decidePeerRoute(lease: Lease): PeerRouteDecision {
  const key = lease.subnet ? formatIp4Net(maskIp4Net(lease.subnet)) : '';
  // Named in a reason only; most leases need none.
  const who = (): string => describeLease(lease);
  if (!lease.subnet) return { kind: 'ignore', key, reason: `lease ${who()} has no IPv4 subnet (Windows is IPv4-only)` };
  if (lease.attrs.backendType.toLowerCase() !== 'vxlan') {
    return { kind: 'ignore', key, reason: `lease ${who()} uses backend "${lease.attrs.backendType}", not vxlan` };
  }
  let data;
  try {
    data = decodeVxlanBackendData(lease.attrs.backendData);
  } catch (err) {
    return { kind: 'unusable', key, code: 'BAD_BACKEND_DATA', reason: `lease ${who()}: ${(err as Error).message}` };
  }
  if (data.vtepMac === '') {
    // flannel's Windows start-up publishes a lease without a MAC first; the real one follows.
    return { kind: 'ignore', key, reason: `lease ${who()} has not published its VtepMAC yet` };
  }
  if (data.vni < WINDOWS_MIN_VNI) {
    return {
      kind: 'unusable',
      key,
      code: 'VNI_TOO_SMALL',
      reason:
        `peer ${who()} uses VNI ${data.vni}, but Windows requires a VNI >= ${WINDOWS_MIN_VNI}: ` +
        `set "VNI": 4096 and "Port": 4789 in the Backend of the shared net-conf.json (kube-flannel-cfg) and restart flannel on the Linux nodes`,
    };
  }
  if (tryParseIp4(lease.attrs.publicIp) === undefined) {
    return { kind: 'unusable', key, code: 'BAD_PUBLIC_IP', reason: `lease ${who()} has no usable IPv4 PublicIP` };
  }
  return {
    kind: 'route',
    key,
    spec: { destinationPrefix: key, isolationId: data.vni, providerAddress: lease.attrs.publicIp, drMac: data.vtepMac },
  };
}

/** The HNS policy setting for a spec, with flannel's key order. */
export function toPolicySetting(spec: RemoteSubnetRouteSpec): RemoteSubnetRoutePolicySetting {
  return {
    DestinationPrefix: spec.destinationPrefix,
    IsolationId: spec.isolationId,
    ProviderAddress: spec.providerAddress,
    DistributedRouterMacAddress: spec.drMac,
  };
}

/** Reads a policy setting back from HNS into a spec; undefined when it is not one we can own. */
export function fromPolicySetting(setting: Partial<RemoteSubnetRoutePolicySetting> | Record<string, unknown>): RemoteSubnetRouteSpec | undefined {
  const s = setting as Partial<RemoteSubnetRoutePolicySetting>;
  const prefix = typeof s.DestinationPrefix === 'string' ? tryParseIp4Net(s.DestinationPrefix) : undefined;
  const mac = typeof s.DistributedRouterMacAddress === 'string' ? normalizeMac(s.DistributedRouterMacAddress) : undefined;
  if (!prefix || !mac || typeof s.IsolationId !== 'number' || typeof s.ProviderAddress !== 'string') return undefined;
  return {
    destinationPrefix: formatIp4Net(maskIp4Net(prefix)),
    isolationId: s.IsolationId,
    providerAddress: s.ProviderAddress,
    drMac: mac,
  };
}

export function sameRoute(a: RemoteSubnetRouteSpec, b: RemoteSubnetRouteSpec): boolean {
  return (
    a.destinationPrefix === b.destinationPrefix &&
    a.isolationId === b.isolationId &&
    a.providerAddress === b.providerAddress &&
    a.drMac === b.drMac
  );
}
