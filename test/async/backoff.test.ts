import test from 'ava';
import fc from 'fast-check';
import { Backoff, backoffDelay, KeyedBackoff } from '../../src/async/backoff.js';

const options = { baseMs: 200, maxMs: 60_000, jitter: 0.2 };

test('without jitter drawn, delays double from baseMs up to maxMs', (t) => {
  const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, options, 0));
  t.deepEqual(delays, [200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000, 60_000]);
});

test('property: a delay lies in [nominal * (1 - jitter), nominal], never above maxMs, and grows until the cap', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r1, r2) => {
      const nominal = Math.min(options.maxMs, options.baseMs * 2 ** (n - 1));
      const d = backoffDelay(n, options, r1);
      const next = backoffDelay(n + 1, options, r2);
      const inRange = d >= nominal * (1 - options.jitter) && d <= nominal && d <= options.maxMs;
      const grows = nominal * 2 > options.maxMs || next > d;
      return inRange && grows;
    }),
  );
  t.pass();
});

test('KeyedBackoff counts failures per key and forget starts a key over', (t) => {
  const b = new KeyedBackoff(options, () => 0);
  t.is(b.next('a'), 200);
  t.is(b.next('a'), 400);
  t.is(b.next('b'), 200);
  t.is(b.failures('a'), 2);
  t.is(b.size, 2);
  b.forget('a');
  t.is(b.failures('a'), 0);
  t.is(b.next('a'), 200);
});

test('bad options fail up front with the option name', (t) => {
  t.throws(() => new KeyedBackoff({ baseMs: 0, maxMs: 10, jitter: 0 }), { message: /'baseMs'/ });
  t.throws(() => new KeyedBackoff({ baseMs: 100, maxMs: 10, jitter: 0 }), { message: /'maxMs'/ });
  t.throws(() => new KeyedBackoff({ baseMs: 100, maxMs: 1000, jitter: 1 }), { message: /'jitter'/ });
});

test('Backoff counts one loop\'s failures in whole milliseconds and reset starts it over', (t) => {
  const b = new Backoff({ baseMs: 100, maxMs: 350, jitter: 0.5 }, () => 0.5);
  t.deepEqual([b.next(), b.next(), b.next(), b.next()], [75, 150, 263, 263]);
  t.is(b.failures, 4);
  b.reset();
  t.is(b.next(), 75);
  t.throws(() => new Backoff({ baseMs: Number.NaN, maxMs: 10, jitter: 0 }), { message: /'baseMs'/ });
});
