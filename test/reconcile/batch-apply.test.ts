import test from 'ava';
import { applyBatchWithFallback, type BatchApplySteps } from '../../src/reconcile/batch-apply.js';
import type { Change } from '../../src/reconcile/resource-kind.js';

const create = (key: string): Change<string, string> => ({ op: 'create', key, desired: key });

function steps(overrides: Partial<BatchApplySteps<string, string>>, log: string[]): BatchApplySteps<string, string> {
  return {
    applyOnce: async (changes) => {
      log.push(`apply ${changes.map((c) => c.key).join(',')}`);
    },
    replan: (key) => create(key),
    acquire: async () => true,
    aborted: () => false,
    onBatchFailed: (_err, size) => log.push(`batch failed ${size}`),
    onChangeFailed: (change) => log.push(`failed ${change.key}`),
    ...overrides,
  };
}

test('a failed batch is retried change by change, skipping keys that no longer need a change', async (t) => {
  const log: string[] = [];
  await applyBatchWithFallback(
    [create('a'), create('b'), create('c')],
    steps(
      {
        applyOnce: async (changes) => {
          log.push(`apply ${changes.map((c) => c.key).join(',')}`);
          if (changes.length > 1 || changes[0]!.key === 'c') throw new Error('rejected');
        },
        replan: (key) => (key === 'b' ? undefined : create(key)),
      },
      log,
    ),
  );
  t.deepEqual(log, ['apply a,b,c', 'batch failed 3', 'apply a', 'apply c', 'failed c']);
});

test('a single change that fails is reported once, without a fallback', async (t) => {
  const log: string[] = [];
  await applyBatchWithFallback([create('a')], steps({ applyOnce: async () => Promise.reject(new Error('no')) }, log));
  t.deepEqual(log, ['failed a']);
});

test('an abort is not a failure, neither for the batch nor for a single', async (t) => {
  const log: string[] = [];
  let aborted = false;
  await applyBatchWithFallback(
    [create('a'), create('b')],
    steps(
      {
        applyOnce: async () => {
          aborted = true;
          throw new DOMException('aborted', 'AbortError');
        },
        aborted: () => aborted,
      },
      log,
    ),
  );
  t.deepEqual(log, []);
  const log2: string[] = [];
  await applyBatchWithFallback([create('a'), create('b')], steps({ applyOnce: async () => Promise.reject(new Error('x')), acquire: async () => false }, log2));
  t.deepEqual(log2, ['batch failed 2'], 'no single is tried once the rate-limit wait was aborted');
});
