import test from 'ava';
import { ManualClock } from '../../src/reconcile/clock.js';
import { TokenBucket } from '../../src/reconcile/token-bucket.js';

test('a full bucket serves burst at once, then one token per 1/perSecond', (t) => {
  const clock = new ManualClock();
  const b = new TokenBucket({ perSecond: 10, burst: 3 }, clock);
  t.deepEqual([b.reserve(), b.reserve(), b.reserve()], [0, 0, 0]);
  t.is(b.reserve(), 100);
  t.is(b.reserve(), 200, 'reservations queue up behind each other');
  clock.advance(200);
  t.is(b.reserve(), 100);
});

test('refill stops at burst after an idle period', (t) => {
  const clock = new ManualClock();
  const b = new TokenBucket({ perSecond: 100, burst: 5 }, clock);
  b.reserve(5);
  clock.advance(60_000);
  t.is(b.available(), 5);
});

test('acquire waits on the clock and gives up on abort', async (t) => {
  const clock = new ManualClock();
  const b = new TokenBucket({ perSecond: 1, burst: 1 }, clock);
  t.true(await b.acquire(new AbortController().signal));
  let got: boolean | undefined;
  const waiting = b.acquire(new AbortController().signal).then((v) => (got = v));
  clock.advance(999);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(got, undefined);
  clock.advance(1);
  await waiting;
  t.true(got);
  const ac = new AbortController();
  const aborted = b.acquire(ac.signal);
  ac.abort();
  t.false(await aborted);
  t.is(clock.pendingTimers, 0);
});

test('bad options fail up front', (t) => {
  const clock = new ManualClock();
  t.throws(() => new TokenBucket({ perSecond: 0, burst: 1 }, clock), { message: /'perSecond'/ });
  t.throws(() => new TokenBucket({ perSecond: 1, burst: 0 }, clock), { message: /'burst'/ });
});
