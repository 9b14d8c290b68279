import test from 'ava';
import fc from 'fast-check';
import { ManualClock } from '../../src/reconcile/clock.js';
import { KeyedWorkQueue } from '../../src/reconcile/keyed-work-queue.js';

test('adds of a queued key collapse and keys come out in first-added order', (t) => {
  const q = new KeyedWorkQueue();
  for (const key of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(key);
  t.is(q.len(), 3);
  t.deepEqual(q.tryGetBatch(10), ['a', 'b', 'c']);
  t.is(q.len(), 0);
});

test('a key held by a worker is not handed out again until done, then exactly once more', (t) => {
  const q = new KeyedWorkQueue();
  q.add('a');
  t.is(q.tryGet(), 'a');
  q.add('a');
  q.add('a');
  t.true(q.isDirty('a'));
  t.is(q.tryGet(), undefined, 'second worker must not get a key being processed');
  q.done('a');
  t.deepEqual(q.tryGetBatch(10), ['a']);
  q.done('a');
  t.deepEqual(q.tryGetBatch(10), [], 'no further run without a new add');
});

test('done without an add meanwhile does not re-queue', (t) => {
  const q = new KeyedWorkQueue();
  q.add('a');
  q.tryGet();
  q.done('a');
  t.is(q.len(), 0);
  t.is(q.processingCount, 0);
});

test('getBatch waits for a key and delivers a burst of adds as one batch', async (t) => {
  const q = new KeyedWorkQueue();
  const pending = q.getBatch(10);
  q.add('a');
  q.add('b');
  q.add('c');
  t.deepEqual(await pending, ['a', 'b', 'c']);
  t.is(q.processingCount, 3);
});

test('getBatch resolves undefined when its signal aborts', async (t) => {
  const q = new KeyedWorkQueue();
  const ac = new AbortController();
  const pending = q.getBatch(5, ac.signal);
  ac.abort();
  t.is(await pending, undefined);
  q.add('a');
  t.deepEqual(q.tryGetBatch(5), ['a'], 'the aborted waiter did not swallow a key');
});

test('getBatch respects max', async (t) => {
  const q = new KeyedWorkQueue();
  for (const key of ['a', 'b', 'c']) q.add(key);
  t.deepEqual(await q.getBatch(2), ['a', 'b']);
  t.deepEqual(await q.getBatch(2), ['c']);
});

test('shutDown refuses adds, still hands out queued keys, then resolves undefined', async (t) => {
  const q = new KeyedWorkQueue();
  q.add('a');
  q.shutDown();
  q.add('b');
  t.deepEqual(await q.getBatch(10), ['a']);
  const after = q.getBatch(10);
  q.done('a');
  t.is(await after, undefined);
});

test('a key re-added while processing before shutdown still runs after done', async (t) => {
  const q = new KeyedWorkQueue();
  q.add('a');
  q.tryGet();
  q.add('a');
  q.shutDown();
  const next = q.getBatch(1);
  q.done('a');
  t.deepEqual(await next, ['a']);
});

test('shutDownWithDrain resolves only after every taken key is done', async (t) => {
  const q = new KeyedWorkQueue();
  q.add('a');
  q.tryGet();
  let drained = false;
  const drain = q.shutDownWithDrain().then(() => {
    drained = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  t.false(drained);
  q.done('a');
  await drain;
  t.true(drained);
});

test('addAfter holds a key until its deadline on the clock', (t) => {
  const clock = new ManualClock();
  const q = new KeyedWorkQueue({ clock });
  q.addAfter('a', 100);
  t.is(q.len(), 0);
  t.is(q.waitingCount, 1);
  t.is(q.waitingUntil('a'), 100);
  clock.advance(99);
  t.is(q.len(), 0);
  clock.advance(1);
  t.deepEqual(q.tryGetBatch(5), ['a']);
  t.is(q.waitingCount, 0);
});

test('addWaitingNow adds every waiting key at once, in deadline order, and cancels their timer', (t) => {
  const clock = new ManualClock();
  const q = new KeyedWorkQueue({ clock });
  q.addAfter('late', 60_000);
  q.addAfter('early', 1_000);
  q.add('ready');
  t.is(clock.pendingTimers, 1);
  t.deepEqual(q.addWaitingNow(), ['early', 'late']);
  t.is(q.waitingCount, 0);
  t.is(clock.pendingTimers, 0, 'no deadline left to wait for');
  t.deepEqual(q.tryGetBatch(5), ['ready', 'early', 'late']);
  t.deepEqual(q.addWaitingNow(), [], 'nothing waits any more');
  q.shutDown();
  q.addAfter('after', 10);
  t.deepEqual(q.addWaitingNow(), [], 'nothing after shutdown');
});

test('addAfter keeps the earlier deadline of a waiting key', (t) => {
  const clock = new ManualClock();
  const q = new KeyedWorkQueue({ clock });
  q.addAfter('a', 100);
  q.addAfter('a', 500);
  t.is(q.waitingUntil('a'), 100);
  q.addAfter('a', 50);
  t.is(q.waitingUntil('a'), 50);
  clock.advance(50);
  t.is(q.len(), 1);
});

test('a plain add of a waiting key runs it now (client-go semantics)', (t) => {
  const clock = new ManualClock();
  const q = new KeyedWorkQueue({ clock });
  q.addAfter('a', 1000);
  q.add('a');
  t.deepEqual(q.tryGetBatch(5), ['a']);
});

test('shutDown drops delayed keys and their timer', (t) => {
  const clock = new ManualClock();
  const q = new KeyedWorkQueue({ clock });
  q.addAfter('a', 100);
  q.shutDown();
  t.is(clock.pendingTimers, 0);
  clock.advance(200);
  t.is(q.len(), 0);
});

test('tryGetBatch rejects a max below 1', (t) => {
  const q = new KeyedWorkQueue();
  t.throws(() => q.tryGetBatch(0), { message: /'max' must be an integer >= 1/ });
});

type QueueOp = { op: 'add'; key: string } | { op: 'get'; max: number } | { op: 'done'; pick: number };

test('property: against a reference model, no key is held twice, adds collapse, and every add is eventually run once', (t) => {
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const op: fc.Arbitrary<QueueOp> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), key }),
    fc.record({ op: fc.constant('get' as const), max: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ op: fc.constant('done' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const q = new KeyedWorkQueue();
      // Model: keys added since they were last handed out, and keys held by a worker.
      const pending = new Set<string>();
      const held: string[] = [];
      for (const o of ops) {
        if (o.op === 'add') {
          q.add(o.key);
          pending.add(o.key);
        } else if (o.op === 'get') {
          const got = q.tryGetBatch(o.max);
          const expectedReady = [...pending].filter((k) => !held.includes(k));
          if (got.length !== Math.min(o.max, expectedReady.length)) return false;
          for (const k of got) {
            if (held.includes(k) || !pending.has(k)) return false;
            pending.delete(k);
            held.push(k);
          }
          if (new Set(got).size !== got.length) return false;
        } else if (held.length > 0) {
          const [k] = held.splice(o.pick % held.length, 1);
          q.done(k!);
        }
      }
      for (const k of held) q.done(k);
      const drained: string[] = [];
      for (let got = q.tryGetBatch(100); got.length > 0; got = q.tryGetBatch(100)) {
        drained.push(...got);
        for (const k of got) q.done(k);
      }
      return drained.length === pending.size && drained.every((k) => pending.has(k));
    }),
  );
  t.pass();
});
