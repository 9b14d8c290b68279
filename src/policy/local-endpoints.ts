/**
 * Which HNS endpoints are the node's own pods: the only endpoints whose ACLs the daemon writes.
 *
 * An endpoint is a candidate when it sits on the daemon's network, is not remote (`Flags & 1`,
 * what kube-proxy creates for service backends on other nodes) and is not the daemon's own host
 * endpoint (`<network>_ep` in host-gw). A candidate belongs to a pod when one of its
 * `IpConfigurations[].IpAddress` equals one of the pod's IPs. hostNetwork pods share the node's
 * address and have no endpoint of their own: they are never matched. Everything else (endpoints
 * of other networks, endpoints with no pod, pods whose IP has no endpoint yet) is left alone and
 * reported, so the caller can retry the pods later (the CNI creates the endpoint before the
 * pod's IP appears in the API, and removes it before the pod is deleted).
 *
 * Pure: no HNS call, no clock.
 * @module
 */
import { isGuid, normalizeGuid } from '../hns/guid.js';
import type { HostComputeEndpoint } from '../hns/types.js';
import { formatIp4, formatIp6, tryParseIp4, tryParseIp6 } from '../net/ip.js';

/** A pod scheduled on this node, as much of it as matching needs. */
export interface LocalPod {
  /** `namespace/name`, the key the result is indexed by. */
  key: string;
  /** `status.podIPs` (or `status.podIP`); empty while the pod has no address yet. */
  ips: readonly string[];
  hostNetwork: boolean;
}

export interface LocalEndpointInput {
  /** Endpoints as HNS lists them; endpoints of other networks may be among them. */
  endpoints: readonly HostComputeEndpoint[];
  /** The daemon's network (the one it created or adopted). */
  networkId: string;
  /** The daemon's own host endpoint (`<network>_ep` in host-gw); absent in vxlan. */
  hostEndpointName?: string | undefined;
  pods: readonly LocalPod[];
}

export interface LocalEndpoints {
  /** Pod key → endpoint id (lower-case GUID), one endpoint per pod. */
  byPod: Map<string, string>;
  /** Pods with an IP but no local endpoint holding it yet (the caller retries these). */
  waiting: string[];
  /**
   * Pods not matched because the match is not unique: two endpoints hold one of the pod's IPs
   * (a leaky CNI, a known WS2019 bug), two pods claim one endpoint, or the pod's IPs lead to two
   * endpoints. Reported, never guessed: writing ACLs on a stale endpoint could cut off a pod
   * that later gets that IP.
   */
  ambiguous: AmbiguousMatch[];
}

export interface AmbiguousMatch {
  pod: string;
  endpointIds: string[];
  /**
   * `shared-ip`: two endpoints hold one of the pod's IPs; `several-endpoints`: the pod's IPs lead
   * to different endpoints; `shared-endpoint`: another pod claims the same endpoint.
   */
  reason: 'shared-ip' | 'several-endpoints' | 'shared-endpoint';
}

/** Canonical text of an IPv4/IPv6 address, so "10.244.1.05"-style and v6 spellings compare equal. */
function canonicalIp(text: string): string | undefined {
  const v4 = tryParseIp4(text);
  if (v4 !== undefined) return formatIp4(v4);
  const v6 = tryParseIp6(text);
  return v6 === undefined ? undefined : formatIp6(v6);
}

function sameGuid(a: string | undefined, b: string): boolean {
  return a !== undefined && isGuid(a) && isGuid(b) && normalizeGuid(a) === normalizeGuid(b);
}

/** The pod → endpoint map of the node's local pods (see the module comment for the rules). */
export function matchLocalEndpoints(input: LocalEndpointInput): LocalEndpoints {
  // IP → ids of the candidate endpoints holding it.
  const byIp = new Map<string, string[]>();
  for (const endpoint of input.endpoints) {
    if (endpoint.ID === undefined || !isGuid(endpoint.ID)) continue;
    if (!sameGuid(endpoint.HostComputeNetwork, input.networkId)) continue;
    if (((endpoint.Flags ?? 0) & 1) === 1) continue;
    if (input.hostEndpointName !== undefined && endpoint.Name === input.hostEndpointName) continue;
    const id = normalizeGuid(endpoint.ID);
    for (const config of endpoint.IpConfigurations ?? []) {
      const ip = canonicalIp(config.IpAddress);
      if (ip === undefined) continue;
      const holders = byIp.get(ip) ?? [];
      if (!holders.includes(id)) holders.push(id);
      byIp.set(ip, holders);
    }
  }

  const result: LocalEndpoints = { byPod: new Map(), waiting: [], ambiguous: [] };
  const claims = new Map<string, string[]>(); // endpoint id → pods that matched it
  for (const pod of input.pods) {
    if (pod.hostNetwork) continue;
    const ips = pod.ips.map(canonicalIp).filter((ip): ip is string => ip !== undefined);
    if (ips.length === 0) continue;
    const found = new Set<string>();
    let sharedIp = false;
    for (const ip of ips) {
      const holders = byIp.get(ip) ?? [];
      if (holders.length > 1) sharedIp = true;
      for (const id of holders) found.add(id);
    }
    if (found.size === 0) {
      result.waiting.push(pod.key);
    } else if (found.size > 1) {
      result.ambiguous.push({ pod: pod.key, endpointIds: [...found].sort(), reason: sharedIp ? 'shared-ip' : 'several-endpoints' });
    } else {
      const id = [...found][0]!;
      result.byPod.set(pod.key, id);
      claims.set(id, [...(claims.get(id) ?? []), pod.key]);
    }
  }
  // Two pods on one endpoint (an IP reused before the old pod object is gone): neither is sure.
  for (const [id, pods] of claims) {
    if (pods.length < 2) continue;
    for (const pod of pods) {
      result.byPod.delete(pod);
      result.ambiguous.push({ pod, endpointIds: [id], reason: 'shared-endpoint' });
    }
  }
  return result;
}
