import type { Lease, LeaseEvent } from '../types.js';
import type { KubeAnnotationNames } from './annotations.js';
import { leasesEqual, nodeToLease, sameSubnets, type LeaseFamilies } from './node-lease.js';
import { nodeNameOf, type NodeView } from './node-view.js';

/** A node that cannot be a lease, reported the first time this reason is seen for it. */
export interface NodeProblem {
  readonly node: string;
  readonly reason: string;
  /** No flannel annotation at all: worth a debug line, not a warning. */
  readonly notFlannel: boolean;
}

export interface TrackerUpdate {
  readonly events: readonly LeaseEvent[];
  readonly problems: readonly NodeProblem[];
}

interface TrackedNode {
  /** The lease last derived from the node; undefined while the node is not a valid lease. */
  readonly lease: Lease | undefined;
  /** The last problem reported for the node, so a resync does not log it again. */
  readonly problem: string | undefined;
}

/**
 * Remembers, per node name, only the lease derived from it (never the whole Node object) and
 * turns node updates into lease events: an update that leaves the lease unchanged (an unrelated
 * annotation, a heartbeat, a resync) yields nothing.
 */
export class NodeLeaseTracker {
  readonly #names: KubeAnnotationNames;
  readonly #families: LeaseFamilies;
  #nodes = new Map<string, TrackedNode>();
  #listing: Map<string, TrackedNode> | undefined;

  constructor(names: KubeAnnotationNames, families: LeaseFamilies) {
    this.#names = names;
    this.#families = families;
  }

  /** Replaces everything known with a full list; returns the snapshot of valid leases. */
  replaceAll(nodes: readonly NodeView[]): { leases: Lease[]; problems: NodeProblem[] } {
    this.listStart();
    const problems = this.listPage(nodes);
    return { leases: this.listEnd(), problems };
  }

  /**
   * A (re)list begins: pages are folded into a new map, which replaces the current one at
   * `listEnd`, so nodes gone from the cluster are dropped. Starting again discards a list that
   * failed half-way.
   */
  listStart(): void {
    this.#listing = new Map();
  }

  /** Folds one page of listed nodes in; only the derived leases are kept. */
  listPage(nodes: readonly NodeView[]): NodeProblem[] {
    const listing = this.#listing;
    if (!listing) throw new Error('NodeLeaseTracker.listPage outside a list');
    const problems: NodeProblem[] = [];
    for (const node of nodes) {
      const name = nodeNameOf(node);
      const derived = this.#derive(node, this.#nodes.get(name));
      listing.set(name, derived.tracked);
      if (derived.problem) problems.push(derived.problem);
    }
    return problems;
  }

  /** The list is complete: it becomes the known state; returns the snapshot of valid leases. */
  listEnd(): Lease[] {
    const listing = this.#listing;
    if (!listing) throw new Error('NodeLeaseTracker.listEnd outside a list');
    this.#nodes = listing;
    this.#listing = undefined;
    const leases: Lease[] = [];
    for (const tracked of listing.values()) if (tracked.lease) leases.push(tracked.lease);
    return leases;
  }

  upsert(node: NodeView): TrackerUpdate {
    const name = nodeNameOf(node);
    const before = this.#nodes.get(name);
    const { tracked, problem } = this.#derive(node, before);
    this.#nodes.set(name, tracked);
    return { events: transition(before?.lease, tracked.lease), problems: problem ? [problem] : [] };
  }

  remove(nodeName: string): TrackerUpdate {
    const before = this.#nodes.get(nodeName);
    this.#nodes.delete(nodeName);
    return { events: before?.lease ? [{ type: 'removed', lease: before.lease }] : [], problems: [] };
  }

  /** Number of nodes currently yielding a valid lease. */
  get leaseCount(): number {
    let count = 0;
    for (const tracked of this.#nodes.values()) if (tracked.lease) count++;
    return count;
  }

  #derive(node: NodeView, before: TrackedNode | undefined): { tracked: TrackedNode; problem?: NodeProblem } {
    const result = nodeToLease(node, this.#names, this.#families);
    if (result.ok) return { tracked: { lease: result.lease, problem: undefined } };
    const tracked = { lease: undefined, problem: result.reason };
    if (before?.problem === result.reason) return { tracked };
    return { tracked, problem: { node: nodeNameOf(node), reason: result.reason, notFlannel: result.notFlannel === true } };
  }
}

function transition(before: Lease | undefined, after: Lease | undefined): LeaseEvent[] {
  if (before === undefined) return after ? [{ type: 'added', lease: after }] : [];
  if (after === undefined) return [{ type: 'removed', lease: before }];
  if (leasesEqual(before, after)) return [];
  // Downstream keys leases by subnet: a node that moved to another subnet frees the old one.
  if (!sameSubnets(before, after)) return [{ type: 'removed', lease: before }, { type: 'added', lease: after }];
  return [{ type: 'added', lease: after }];
}
