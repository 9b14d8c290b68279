import { HCN_E, HnsError } from '../hns/client.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { ResourceKind } from '../reconcile/resource-kind.js';
import type { ControllerContext } from './controller.js';

/**
 * True for an HNS error saying the network or an endpoint no longer exists: the sign that HNS
 * lost our network (a restart of the service drops every non-persistent network).
 */
export function isHnsObjectGone(err: unknown): boolean {
  const cause = err instanceof Error && !(err instanceof HnsError) && err.cause !== undefined ? err.cause : err;
  return cause instanceof HnsError && (cause.hresult === HCN_E.NETWORK_NOT_FOUND || cause.hresult === HCN_E.ENDPOINT_NOT_FOUND);
}

/**
 * A reconciler for one controller's resource kind, wired the way every controller needs it:
 * metrics labelled by controller and kind, HNS writes through the daemon's shared rate limit
 * (a kind that writes elsewhere keeps its own), and failures reported so a lost network is
 * noticed at once.
 */
export function createControllerReconciler<D, A>(
  controller: string,
  kind: ResourceKind<D, A>,
  ctx: Pick<ControllerContext, 'log' | 'metrics' | 'concurrency' | 'backoff' | 'hnsWriteLimit' | 'reportHnsError'>,
  options: { writesTo: 'hns' | 'route-table' },
): Reconciler<D, A> {
  const { metrics } = ctx;
  const labels = { controller, kind: kind.name };
  const ok = { ...labels, result: 'ok' };
  const opLabels = new Map<string, { controller: string; kind: string; op: string }>();
  const labelsOf = (op: string) => opLabels.get(op) ?? opLabels.set(op, { ...labels, op }).get(op)!;
  return new Reconciler<D, A>(kind, {
    log: ctx.log.child({ controller, kind: kind.name }),
    ...(ctx.concurrency !== undefined ? { concurrency: ctx.concurrency } : {}),
    ...(ctx.backoff !== undefined ? { backoff: ctx.backoff } : {}),
    ...(options.writesTo === 'hns' ? { rateLimiter: ctx.hnsWriteLimit } : kind.rateLimit ? { rateLimit: kind.rateLimit } : {}),
    onApplied: (changes, durationMs) => {
      metrics.applies.inc(ok);
      metrics.applySeconds.observe(labels, durationMs / 1000);
      // One increment per kind of change in the batch: each call hashes and checks its labels.
      const counts = new Map<string, number>();
      for (const change of changes) counts.set(change.op, (counts.get(change.op) ?? 0) + 1);
      for (const [op, count] of counts) metrics.changes.inc(labelsOf(op), count);
    },
    onFailed: (_change, err) => {
      metrics.applies.inc({ ...labels, result: 'error' });
      ctx.reportHnsError(err);
    },
    onResynced: (drifted) => {
      metrics.resyncs.inc(ok);
      if (drifted > 0) metrics.driftRepaired.inc(labels, drifted);
    },
  });
}
