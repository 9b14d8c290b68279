/**
 * Which ACL list each local pod endpoint should carry: the join of the compiled lists (by pod)
 * and the pod ↔ endpoint match (by IP, see local-endpoints.ts). The policy controller feeds it
 * local pods, compiled lists and endpoint listings; it answers with the desired map, keyed by
 * endpoint id, that the `endpoint-acl` reconciler works from.
 *
 * Pure: no HNS call, no clock.
 * @module
 */
import type { AclPolicySetting, HostComputeEndpoint } from '../hns/types.js';
import { matchLocalEndpoints, type AmbiguousMatch, type LocalEndpoints, type LocalPod } from './local-endpoints.js';

export interface EndpointAclPlanOptions {
  /** The daemon's network; read at every match, since a recreated network has a new id. */
  networkId: () => string;
  /** The daemon's own host endpoint (`<network>_ep` in host-gw), never a pod's. */
  hostEndpointName?: () => string | undefined;
}

const NO_MATCH: LocalEndpoints = { byPod: new Map(), waiting: [], ambiguous: [] };

function samePod(a: LocalPod | undefined, b: LocalPod | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.hostNetwork === b.hostNetwork && a.ips.length === b.ips.length && a.ips.every((ip, i) => ip === b.ips[i]);
}

/** Local pods, their compiled ACLs and the endpoints they are matched to. See the module comment. */
export class EndpointAclPlan {
  readonly #options: EndpointAclPlanOptions;
  readonly #pods = new Map<string, LocalPod>();
  readonly #compiled = new Map<string, readonly AclPolicySetting[]>();
  #endpoints: readonly HostComputeEndpoint[] = [];
  #match: LocalEndpoints = NO_MATCH;
  #managed: ReadonlySet<string> = new Set();

  constructor(options: EndpointAclPlanOptions) {
    this.#options = options;
  }

  /**
   * A local pod was added or changed (`undefined`: removed, or no longer local). Returns true
   * when the match may have changed (new pod, other IPs), so the caller re-matches.
   */
  setPod(key: string, pod: LocalPod | undefined): boolean {
    const before = this.#pods.get(key);
    if (samePod(before, pod)) return false;
    if (pod === undefined) {
      this.#pods.delete(key);
      this.#compiled.delete(key);
    } else {
      this.#pods.set(key, pod);
    }
    return true;
  }

  /**
   * A pod's compiled list (`undefined`: not a local pod any more). Returns the endpoint whose
   * desired list this changes, with the new list (`undefined` = no longer desired), or nothing
   * when the pod has no endpoint yet.
   */
  setCompiled(key: string, acls: readonly AclPolicySetting[] | undefined): { endpointId: string; acls: readonly AclPolicySetting[] | undefined } | undefined {
    if (acls === undefined) this.#compiled.delete(key);
    else this.#compiled.set(key, acls);
    const endpointId = this.#match.byPod.get(key);
    return endpointId === undefined ? undefined : { endpointId, acls: acls === undefined ? undefined : acls };
  }

  /** The endpoints HNS listed on the host (any network: others are filtered when matching). */
  setEndpoints(endpoints: readonly HostComputeEndpoint[]): void {
    this.#endpoints = endpoints;
  }

  /** Matches the local pods to the last endpoint listing again. */
  rematch(): void {
    this.#match = matchLocalEndpoints({
      endpoints: this.#endpoints,
      networkId: this.#options.networkId(),
      hostEndpointName: this.#options.hostEndpointName?.(),
      pods: [...this.#pods.values()],
    });
    this.#managed = new Set(this.#match.byPod.values());
  }

  /** Endpoint id → the ACL list it should carry (empty: none of ours), for every matched pod that has been compiled. */
  desired(): Map<string, readonly AclPolicySetting[]> {
    const desired = new Map<string, readonly AclPolicySetting[]>();
    for (const [pod, endpointId] of this.#match.byPod) {
      const acls = this.#compiled.get(pod);
      if (acls !== undefined) desired.set(endpointId, acls);
    }
    return desired;
  }

  /** The endpoints matched to a local pod: the only ones ever written. */
  managed(): ReadonlySet<string> {
    return this.#managed;
  }

  /** Pod key → endpoint id of the matched pods. */
  endpointOf(pod: string): string | undefined {
    return this.#match.byPod.get(pod);
  }

  /** Local pods with an IP whose endpoint is not (yet) listed. */
  waiting(): readonly string[] {
    return this.#match.waiting;
  }

  /** Pods left alone because their endpoint is not unique. */
  ambiguous(): readonly AmbiguousMatch[] {
    return this.#match.ambiguous;
  }

  get localPodCount(): number {
    return this.#pods.size;
  }
}
