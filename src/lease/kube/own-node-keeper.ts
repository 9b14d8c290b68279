import { sleep } from '../../async/abortable-sleep.js';
import type { NetConfig } from '../../config/net-config.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ip4NetEqual, ip6NetEqual } from '../../net/ip.js';
import { describeLease } from '../lease-identity.js';
import type { KeepLeaseHooks, Lease, LeaseAttrs } from '../types.js';
import type { KubeAnnotationNames } from './annotations.js';
import { Backoff } from '../../async/backoff.js';
import { PodCidrError } from './errors.js';
import type { ListWatchTimings } from '../../kube/list-watch.js';
import type { KubeNodeApi } from './kube-node-api.js';
import { annotationsOf, nodeNameOf, type NodeView } from './node-view.js';
import { ownLease } from './own-lease.js';
import { ownSubnets, planOwnAnnotations, type OwnSubnets } from './own-node.js';

export interface OwnNodeKeeperOptions {
  readonly api: KubeNodeApi;
  readonly nodeName: string;
  readonly names: KubeAnnotationNames;
  readonly config: NetConfig;
  /** The attributes to publish (the request's, with node-public-ip applied). */
  readonly attrs: LeaseAttrs;
  readonly timings: ListWatchTimings;
  readonly log: Logger;
}

/**
 * Keeps the own node publishing our lease until `signal` aborts. Kube leases never expire, so
 * there is nothing to renew; what can happen is that someone strips or edits our annotations
 * (they are then patched back) or that the node's podCIDR changes (reported as lost and
 * re-acquired). A deleted node is waited for. Never rejects.
 */
export async function keepOwnNode(options: OwnNodeKeeperOptions, lease: Lease, signal: AbortSignal, hooks: KeepLeaseHooks = {}): Promise<void> {
  const { api, nodeName, names, config, attrs, timings } = options;
  const log = options.log.child({ node: nodeName });
  // Only the latest observation matters: older ones are superseded, not queued.
  let latest: NodeView | null | undefined;
  let wake: (() => void) | undefined;
  const observe = (node: NodeView | null): void => {
    latest = node;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  // The field selector lists at most the one node; it is observed once the list is complete.
  let listed: NodeView | null = null;
  const watching = api.listWatchNodes(
    { fieldSelector: `metadata.name=${nodeName}`, timings, log, signal: both },
    {
      listStart: () => {
        listed = null;
      },
      listPage: (nodes) => {
        for (const node of nodes as NodeView[]) if (nodeNameOf(node) === nodeName) listed = node;
      },
      listEnd: () => observe(listed),
      event: (type, node) => observe(type === 'DELETED' ? null : (node as NodeView)),
    },
  );
  const onAbort = (): void => observe(latest ?? null);

  let current = lease;
  const backoff = new Backoff(timings.backoff);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      if (latest === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      const node = latest;
      latest = undefined;
      if (node === null) {
        log.warn(`Own node ${nodeName} is not in the API; waiting for it to come back`);
        continue;
      }
      try {
        current = await reconcileOwnNode(node, current);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof PodCidrError) {
          // Nothing to retry until the node changes again.
          log.error({ err: describeError(err) }, 'Own node no longer has a usable podCIDR; keeping the current lease');
          continue;
        }
        const retryInMs = backoff.next();
        log.warn({ err: describeError(err), retryInMs }, 'Cannot re-publish the own lease; retrying');
        await sleep(retryInMs, signal);
        latest ??= node;
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    await watching;
  }

  async function reconcileOwnNode(node: NodeView, held: Lease): Promise<Lease> {
    const subnets = ownSubnets(node, nodeName, config);
    const moved = !sameOwnSubnets(held, subnets);
    const plan = planOwnAnnotations(annotationsOf(node), attrs, names);
    const keys = Object.keys(plan.changed);
    if (keys.length > 0) {
      log.info({ annotations: keys }, 'Own node annotations differ from the lease; patching them back');
      await api.patchNodeStatus(nodeName, { metadata: { annotations: plan.changed } }, signal);
    }
    if (!moved) return held;
    // Reported only once the new subnet is published, so a failed patch (retried) does not
    // report the loss twice.
    hooks.onLost?.(`podCIDR of node ${nodeName} changed`);
    const next = ownLease(nodeName, subnets, attrs, config);
    log.info({ lease: describeLease(next), previous: describeLease(held) }, 'Own lease moved to a new podCIDR');
    hooks.onReacquired?.(next);
    return next;
  }
}

function sameOwnSubnets(lease: Lease, subnets: OwnSubnets): boolean {
  const v4 = lease.subnet === undefined || (subnets.ipv4 !== undefined && ip4NetEqual(lease.subnet, subnets.ipv4));
  const v6 = lease.ipv6Subnet === undefined || (subnets.ipv6 !== undefined && ip6NetEqual(lease.ipv6Subnet, subnets.ipv6));
  return v4 && v6;
}
