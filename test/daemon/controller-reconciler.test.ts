import test from 'ava';
import { createControllerReconciler } from '../../src/daemon/controller-reconciler.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { silentLogger } from '../../src/log.js';
import type { Change, ResourceKind } from '../../src/reconcile/resource-kind.js';
import { systemClock } from '../../src/reconcile/clock.js';
import { TokenBucket } from '../../src/reconcile/token-bucket.js';

/** A kind over an in-memory map whose writes are batched up to `maxBatch`, each batch recorded. */
function memoryKind(batches: string[][]): ResourceKind<string, string> {
  const held = new Map<string, string>();
  return {
    name: 'memory',
    maxBatch: 50,
    listActual: async () => new Map(held),
    matches: (d, a) => d === a,
    toActual: (d) => d,
    async apply(changes: readonly Change<string, string>[]) {
      batches.push(changes.map((c) => c.op));
      for (const c of changes) if (c.op === 'delete') held.delete(c.key);
      else held.set(c.key, c.desired);
    },
  };
}

test('dataplane changes are counted by op, one per change, whatever the batches', async (t) => {
  const metrics = new DaemonMetrics({ processMetrics: false });
  const batches: string[][] = [];
  const reconciler = createControllerReconciler('peers', memoryKind(batches), {
    log: silentLogger(),
    metrics,
    concurrency: 1,
    backoff: undefined,
    hnsWriteLimit: new TokenBucket({ perSecond: 1000, burst: 1000 }, systemClock),
    reportHnsError: () => undefined,
  }, { writesTo: 'hns' });
  const signal = new AbortController();
  for (let i = 0; i < 7; i++) reconciler.setDesired(`k${i}`, `v${i}`);
  reconciler.markDesiredSynced();
  reconciler.start(signal.signal);
  await reconciler.whenIdle();
  for (const key of ['k0', 'k1', 'k2']) reconciler.setDesired(key, undefined);
  reconciler.setDesired('k3', 'v3 changed');
  await reconciler.whenIdle();
  signal.abort();
  const values = (await metrics.changes.get()).values.map((v) => [v.labels.op, v.value] as const);
  t.deepEqual(Object.fromEntries(values), { create: 7, delete: 3, replace: 1 });
  t.true(batches.some((ops) => ops.length > 1), `some batch carried several changes: ${JSON.stringify(batches)}`);
  t.is(batches.flat().length, 11);
  const applies = (await metrics.applies.get()).values.find((v) => v.labels.result === 'ok');
  t.is(applies?.value, batches.length);
});
