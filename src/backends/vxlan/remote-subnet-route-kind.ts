import { forEachInSlices } from '../../async/in-slices.js';
import type { HnsClient } from '../../hns/client.js';
import { isHnsAlreadyExists, isHnsNotFound } from '../../hns/client.js';
import type { NetworkPolicy, RemoteSubnetRoutePolicySetting } from '../../hns/types.js';
import type { Change, ResourceKind } from '../../reconcile/resource-kind.js';
import { fromPolicySetting, sameRoute, toPolicySetting, type RemoteSubnetRouteSpec } from './remote-subnet-route.js';

/**
 * What HNS holds for one destination prefix. `settings` are the policies exactly as HNS
 * reported them (flannel removes with the settings it read back, since HNS matches on them);
 * there can be more than one when someone added a duplicate.
 */
export interface ActualRemoteRoute {
  spec: RemoteSubnetRouteSpec | undefined;
  settings: RemoteSubnetRoutePolicySetting[];
}

/** Which listing last showed an entry (a symbol: never part of what is compared or logged). */
const SHOWN_IN = Symbol('shown in listing');
type Stamped = ActualRemoteRoute & { [SHOWN_IN]: number };

/** An entry with its stamp field from the start, so that every entry keeps one shape. */
function entry(spec: RemoteSubnetRouteSpec | undefined, settings: RemoteSubnetRoutePolicySetting[]): ActualRemoteRoute {
  const made: Stamped = { spec, settings, [SHOWN_IN]: 0 };
  return made;
}

/**
 * HNS policies per request. Cold start of N peers then costs about N/100 writes instead of
 * flannel's 2N; the cap keeps one request document small (~20 KB).
 */
export const REMOTE_ROUTES_PER_REQUEST = 100;

/**
 * The RemoteSubnetRoute policies on our Overlay network, as a reconciler resource kind. Every
 * RemoteSubnetRoute on the network flannel-win created is ours: the network is owned by name,
 * and nobody else programs remote subnets on it.
 */
export class RemoteSubnetRouteKind implements ResourceKind<RemoteSubnetRouteSpec, ActualRemoteRoute> {
  readonly name = 'remote-subnet-route';
  readonly maxBatch = REMOTE_ROUTES_PER_REQUEST;
  /** How many listings this kind has made: the stamp `#holdsExactly` leaves on each entry shown. */
  #listings = 0;

  constructor(
    private readonly hns: HnsClient,
    private readonly networkId: () => string,
  ) {}

  async listActual(signal?: AbortSignal, previous?: ReadonlyMap<string, ActualRemoteRoute>): Promise<Map<string, ActualRemoteRoute>> {
    const network = await this.hns.getNetwork(this.networkId());
    const policies = network.Policies ?? [];
    // Sliced: at 20,000 peers reading every route back is tens of milliseconds of work.
    const sliced = signal ? { signal } : {};
    if (previous instanceof Map && (await this.#holdsExactly(policies, previous, sliced))) return previous;
    const actual = new Map<string, ActualRemoteRoute>();
    await forEachInSlices(policies, (policy) => {
      if (policy.Type !== 'RemoteSubnetRoute') return;
      const settings = policy.Settings as RemoteSubnetRoutePolicySetting;
      const known = previous?.get(typeof settings.DestinationPrefix === 'string' ? settings.DestinationPrefix : '');
      if (known !== undefined && !actual.has(settings.DestinationPrefix) && known.settings.length === 1 && sameSettings(known.settings[0]!, settings)) {
        // HNS still holds exactly what we knew: keep that entry rather than parse a new one.
        actual.set(settings.DestinationPrefix, known);
        return;
      }
      const spec = fromPolicySetting(settings);
      // A policy we cannot parse still belongs to our network: key it by its raw text so that
      // it is never desired and gets removed once the desired state is known.
      const key = spec?.destinationPrefix ?? `unparseable:${JSON.stringify(settings)}`;
      const earlier = actual.get(key);
      actual.set(key, earlier ? entry(earlier.spec, [...earlier.settings, settings]) : entry(spec, [settings]));
    }, sliced);
    return actual;
  }

  /**
   * True when the listed policies are exactly the entries of `previous`, one policy each: the
   * usual resync, which can then keep `previous` instead of building a map of 20,000 entries
   * (most of a resync's garbage, and the collections it set off). Stops looking at the first
   * policy that differs; the caller then builds the map. Each entry shown is stamped with this
   * listing's number, so a second policy for the same prefix counts as a difference, and its
   * setting is swapped for the equal one HNS listed, so that the next listing finds the very
   * same object when the host hands it out again (the simulator does; a parsed document never).
   */
  async #holdsExactly(policies: readonly NetworkPolicy[], previous: ReadonlyMap<string, ActualRemoteRoute>, sliced: { signal?: AbortSignal }): Promise<boolean> {
    const listing = ++this.#listings;
    let same = true;
    let shown = 0;
    await forEachInSlices(policies, (policy) => {
      if (!same || policy.Type !== 'RemoteSubnetRoute') return;
      const settings = policy.Settings as RemoteSubnetRoutePolicySetting;
      const known = typeof settings.DestinationPrefix === 'string' ? (previous.get(settings.DestinationPrefix) as (ActualRemoteRoute & { [SHOWN_IN]?: number }) | undefined) : undefined;
      if (known === undefined || known[SHOWN_IN] === listing || known.settings.length !== 1 || !sameSettings(known.settings[0]!, settings)) {
        same = false;
        return;
      }
      known[SHOWN_IN] = listing;
      known.settings[0] = settings;
      shown++;
    }, sliced);
    return same && shown === previous.size;
  }

  matches(desired: RemoteSubnetRouteSpec, actual: ActualRemoteRoute): boolean {
    return actual.settings.length === 1 && actual.spec !== undefined && sameRoute(desired, actual.spec);
  }

  toActual(desired: RemoteSubnetRouteSpec): ActualRemoteRoute {
    return entry(desired, [toPolicySetting(desired)]);
  }

  async apply(changes: readonly Change<RemoteSubnetRouteSpec, ActualRemoteRoute>[]): Promise<void> {
    const id = this.networkId();
    const removals: NetworkPolicy[] = [];
    const additions: NetworkPolicy[] = [];
    for (const change of changes) {
      if (change.op !== 'create') {
        for (const settings of change.actual.settings) removals.push({ Type: 'RemoteSubnetRoute', Settings: settings });
      }
      if (change.op !== 'delete') additions.push({ Type: 'RemoteSubnetRoute', Settings: toPolicySetting(change.desired) });
    }
    const single = changes.length === 1;
    if (removals.length > 0) {
      try {
        await this.hns.modifyNetwork(id, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: removals } });
      } catch (err) {
        // Alone, a policy that is already gone is the state we wanted. In a batch we cannot
        // tell which one is missing, so the reconciler retries each change on its own.
        if (!(single && isHnsNotFound(err))) throw err;
      }
    }
    if (additions.length > 0) {
      try {
        await this.hns.modifyNetwork(id, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: additions } });
      } catch (err) {
        if (single && isHnsAlreadyExists(err) && (await this.alreadyPresent(id, changes[0]!))) return;
        throw err;
      }
    }
  }

  /** After "already exists", check whether exactly the wanted policy is there (someone raced us). */
  private async alreadyPresent(id: string, change: Change<RemoteSubnetRouteSpec, ActualRemoteRoute>): Promise<boolean> {
    if (change.op === 'delete') return false;
    const network = await this.hns.getNetwork(id);
    return (network.Policies ?? []).some((p) => {
      if (p.Type !== 'RemoteSubnetRoute') return false;
      const spec = fromPolicySetting(p.Settings as RemoteSubnetRoutePolicySetting);
      return spec !== undefined && sameRoute(spec, change.desired);
    });
  }
}

/**
 * Field for field the same setting, with no field more: only then does an entry read earlier
 * still describe the policy (removal sends the settings back as read, and HNS matches on them).
 */
function sameSettings(known: RemoteSubnetRoutePolicySetting, listed: RemoteSubnetRoutePolicySetting): boolean {
  if (known === listed) return true;
  if (
    known.DestinationPrefix !== listed.DestinationPrefix ||
    known.IsolationId !== listed.IsolationId ||
    known.ProviderAddress !== listed.ProviderAddress ||
    known.DistributedRouterMacAddress !== listed.DistributedRouterMacAddress
  ) {
    return false;
  }
  let fields = 0;
  for (const _ in listed) fields++;
  let knownFields = 0;
  for (const _ in known) knownFields++;
  return fields === knownFields;
}
