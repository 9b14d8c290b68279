import type { Logger } from '../../log.js';
import type { LeaseWatchResult } from '../types.js';
import type { KubeAnnotationNames } from './annotations.js';
import type { ListWatchTimings } from '../../kube/list-watch.js';
import type { KubeNodeApi } from './kube-node-api.js';
import { LeaseResultQueue } from './lease-result-queue.js';
import type { LeaseFamilies } from './node-lease.js';
import { NodeLeaseTracker, type NodeProblem } from './node-lease-tracker.js';
import { nodeNameOf, type NodeView } from './node-view.js';

export interface NodeLeaseStreamOptions {
  readonly api: KubeNodeApi;
  readonly names: KubeAnnotationNames;
  readonly families: LeaseFamilies;
  readonly timings: ListWatchTimings;
  readonly log: Logger;
}

/**
 * The leases of all flannel nodes (own included): a snapshot after every (re)list, then
 * added/removed events for node changes that alter a lease. Ends when `signal` aborts or the
 * consumer stops iterating (which stops the watch).
 */
export async function* watchNodeLeases(options: NodeLeaseStreamOptions, signal: AbortSignal): AsyncGenerator<LeaseWatchResult> {
  const { log } = options;
  const tracker = new NodeLeaseTracker(options.names, options.families);
  const queue = new LeaseResultQueue();
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const report = (problems: readonly NodeProblem[]): void => {
    for (const { node, reason, notFlannel } of problems) {
      if (notFlannel) log.debug({ node, reason }, `Ignoring node ${node}: it does not run flannel`);
      else log.warn({ node, reason }, `Ignoring node ${node}: it does not publish a valid flannel lease`);
    }
  };

  let listed = 0;
  const running = options.api.listWatchNodes(
    { timings: options.timings, log, signal: both },
    {
      listStart() {
        listed = 0;
        tracker.listStart();
      },
      listPage(nodes) {
        listed += nodes.length;
        report(tracker.listPage(nodes as NodeView[]));
      },
      listEnd() {
        const leases = tracker.listEnd();
        log.info({ nodes: listed, leases: leases.length }, 'Listed nodes');
        queue.push({ kind: 'snapshot', leases });
      },
      event(type, object) {
        const node = object as NodeView;
        const update = type === 'DELETED' ? tracker.remove(nodeNameOf(node)) : tracker.upsert(node);
        report(update.problems);
        queue.push({ kind: 'events', events: update.events });
      },
    },
  ).finally(() => queue.close());

  const onAbort = (): void => queue.close({ discardPending: true });
  both.addEventListener('abort', onAbort, { once: true });
  try {
    yield* queue.results();
  } finally {
    both.removeEventListener('abort', onAbort);
    stop.abort();
    await running;
  }
}
