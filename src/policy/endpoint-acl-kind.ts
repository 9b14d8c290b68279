/**
 * The `endpoint-acl` resource kind: the ACL set flannel-win programs on each local pod endpoint,
 * keyed by endpoint id, through the generic reconciler.
 *
 * - desired: the compiled, ordered `AclPolicySetting[]` for the endpoint's pod (an empty list for
 *   a pod no policy isolates: our ACLs are then removed);
 * - actual: the endpoint's ACL policies as HNS lists them, split into ours (Id starts with our
 *   prefix) and foreign ones (any other Id, or none), plus its other policies;
 * - `matches` compares normalised sets, so a restart or a resync with nothing changed writes
 *   nothing (re-applying even an identical set resets live TCP connections: calico #10199);
 * - apply: one `HcnModifyEndpoint` per endpoint, `RequestType: "Update"`, carrying the endpoint's
 *   non-ACL policies first (OutBoundNAT, SDNRoute, ProviderAddress: re-sent unchanged, as read
 *   just before), then the foreign ACLs as they are, then the full desired list.
 *
 * Why the whole list: HNS's documentation does not say whether an endpoint `Update` replaces all
 * of the endpoint's policies or only those of the types it carries (compat/hns.md §4.2, §8).
 * Calico's CNI sends an ACL-only Update and its other policies appear to survive; Azure NPM
 * re-sends everything, non-ACL policies first. Sending everything gives the same endpoint under
 * either reading, so no policy of the CNI is lost. Not known either: whether re-sending unchanged
 * non-ACL policies disturbs live traffic, and whether HNS lists an ACL back with fields we did not
 * send (defaults filled in). Normalisation below only equates what is equal by definition; a
 * difference it does not explain costs a write, never a missed one.
 *
 * Foreign ACLs (another agent's, an operator's) are never rewritten or removed: they are kept in
 * every Update and reported through `onForeignAcls`.
 * @module
 */
import { isHnsNotFound, type HnsClient } from '../hns/client.js';
import type { AclPolicySetting, EndpointPolicy } from '../hns/types.js';
import type { Change, ResourceKind } from '../reconcile/resource-kind.js';
import { OUR_ACL_ID_PREFIX } from './acl-id.js';

export interface ActualEndpointAcls {
  /** Our ACLs, in the order HNS listed them. */
  ours: AclPolicySetting[];
  /** ACLs whose Id lacks our prefix. */
  foreign: AclPolicySetting[];
}

export interface EndpointAclKindOptions {
  hns: HnsClient;
  /** The daemon's network: only its endpoints are listed. */
  networkId: () => string;
  /**
   * The endpoints the daemon enforces on now (local pod endpoints, from matchLocalEndpoints).
   * Nothing else is listed, so nothing else is ever written: not an endpoint without a pod, not a
   * remote endpoint, not another network's.
   */
  managedEndpoints: () => ReadonlySet<string>;
  /** The Id prefix that marks a rule as ours; the compiler's OUR_ACL_ID_PREFIX unless a test says otherwise. */
  ourIdPrefix?: string;
  /** An endpoint holds ACLs that are not ours: left in place, reported at every listing. */
  onForeignAcls?(endpointId: string, foreign: readonly AclPolicySetting[]): void;
  /**
   * A change was not written: `gone`, the endpoint vanished before its ACLs could be written (the
   * CNI deleted it: nothing left to enforce); `not-managed`, the endpoint is not (any more) a local
   * pod endpoint, so it must not be touched.
   */
  onSkipped?(endpointId: string, reason: 'gone' | 'not-managed'): void;
  /** An endpoint's policies were written (one HcnModifyEndpoint), for the write counters. */
  onWritten?(endpointId: string): void;
}

/** Address and port fields: comma lists whose order and spacing mean nothing. */
const LIST_FIELDS = ['LocalAddresses', 'RemoteAddresses', 'LocalPorts', 'RemotePorts'] as const;

/**
 * One rule in a canonical text: keys sorted, undefined fields dropped, list fields sorted with
 * spaces removed, an empty list dropped (HNS reads "" as any, the same as no field:
 * compat/netpol.md §5), `Protocols: "256"` dropped (256 is "any": compat/hns.md §4.1).
 */
export function canonicalAcl(acl: AclPolicySetting): string {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(acl)) {
    if (value === undefined) continue;
    fields[key] = value;
  }
  for (const key of LIST_FIELDS) {
    const value = fields[key];
    if (typeof value !== 'string') continue;
    const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) delete fields[key];
    else fields[key] = [...new Set(items)].sort().join(',');
  }
  if (fields['Protocols'] === '256') delete fields['Protocols'];
  return JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k]]));
}

/**
 * True when the two lists hold the same rules (as multisets: HNS orders by Priority, not by
 * position). `canonical` may be a memoised canonicalAcl.
 */
export function sameAclSet(a: readonly AclPolicySetting[], b: readonly AclPolicySetting[], canonical: (acl: AclPolicySetting) => string = canonicalAcl): boolean {
  if (a.length !== b.length) return false;
  const left = a.map(canonical).sort();
  const right = b.map(canonical).sort();
  return left.every((text, i) => text === right[i]);
}

export class EndpointAclKind implements ResourceKind<readonly AclPolicySetting[], ActualEndpointAcls> {
  readonly name = 'endpoint-acl';
  /** One endpoint per HcnModifyEndpoint: the call takes one endpoint handle. */
  readonly maxBatch = 1;

  /**
   * Canonical form by ACL object. A compiled list is compared at every resync, when its pod's
   * policies change and again before its write, and one rule can list 4,000 addresses to split
   * and sort: this was a quarter of the daemon's time in the policy benchmark. An ACL object is
   * never changed once built (compiled, or read back from HNS), so its form never goes stale;
   * the map holds it only as long as someone else does.
   */
  readonly #canonical = new WeakMap<AclPolicySetting, string>();

  constructor(private readonly options: EndpointAclKindOptions) {}

  #canonicalOf = (acl: AclPolicySetting): string => {
    let text = this.#canonical.get(acl);
    if (text === undefined) {
      text = canonicalAcl(acl);
      this.#canonical.set(acl, text);
    }
    return text;
  };

  private isOurs(acl: AclPolicySetting): boolean {
    return typeof acl.Id === 'string' && acl.Id.startsWith(this.options.ourIdPrefix ?? OUR_ACL_ID_PREFIX);
  }

  private split(policies: readonly EndpointPolicy[]): ActualEndpointAcls & { others: EndpointPolicy[] } {
    const result = { ours: [] as AclPolicySetting[], foreign: [] as AclPolicySetting[], others: [] as EndpointPolicy[] };
    for (const policy of policies) {
      if (policy.Type !== 'ACL') result.others.push(policy);
      else if (this.isOurs(policy.Settings as AclPolicySetting)) result.ours.push(policy.Settings as AclPolicySetting);
      else result.foreign.push(policy.Settings as AclPolicySetting);
    }
    return result;
  }

  async listActual(): Promise<Map<string, ActualEndpointAcls>> {
    const managed = this.options.managedEndpoints();
    const actual = new Map<string, ActualEndpointAcls>();
    if (managed.size === 0) return actual;
    for (const endpoint of await this.options.hns.listEndpoints({ networkId: this.options.networkId() })) {
      const id = endpoint.ID?.toLowerCase();
      if (id === undefined || !managed.has(id)) continue;
      const { ours, foreign } = this.split(endpoint.Policies ?? []);
      if (foreign.length > 0) this.options.onForeignAcls?.(id, foreign);
      actual.set(id, { ours, foreign });
    }
    return actual;
  }

  matches(desired: readonly AclPolicySetting[], actual: ActualEndpointAcls): boolean {
    return sameAclSet(desired, actual.ours, this.#canonicalOf);
  }

  toActual(desired: readonly AclPolicySetting[]): ActualEndpointAcls {
    return { ours: [...desired], foreign: [] };
  }

  async apply(changes: readonly Change<readonly AclPolicySetting[], ActualEndpointAcls>[]): Promise<void> {
    for (const change of changes) await this.applyOne(change.key, change.op === 'delete' ? [] : change.desired);
  }

  private async applyOne(endpointId: string, desired: readonly AclPolicySetting[]): Promise<void> {
    const { hns } = this.options;
    if (!this.options.managedEndpoints().has(endpointId)) {
      this.options.onSkipped?.(endpointId, 'not-managed');
      return;
    }
    // Read just before writing: the policies re-sent must be the endpoint's current ones, not
    // those of the last listing (a foreign ACL may have been added since).
    let policies: EndpointPolicy[];
    try {
      policies = (await hns.getEndpoint(endpointId)).Policies ?? [];
    } catch (err) {
      if (!isHnsNotFound(err)) throw err;
      this.options.onSkipped?.(endpointId, 'gone');
      return;
    }
    const { others, foreign, ours } = this.split(policies);
    if (sameAclSet(desired, ours, this.#canonicalOf)) return; // already there (someone, or an earlier try, wrote it)
    if (foreign.length > 0) this.options.onForeignAcls?.(endpointId, foreign);
    const update: EndpointPolicy[] = [
      ...others,
      ...foreign.map((settings): EndpointPolicy => ({ Type: 'ACL', Settings: settings })),
      ...desired.map((settings): EndpointPolicy => ({ Type: 'ACL', Settings: settings })),
    ];
    try {
      await hns.modifyEndpoint(endpointId, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: update } });
      this.options.onWritten?.(endpointId);
    } catch (err) {
      if (!isHnsNotFound(err)) throw err;
      this.options.onSkipped?.(endpointId, 'gone');
    }
  }
}
