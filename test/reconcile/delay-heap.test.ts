import test from 'ava';
import fc from 'fast-check';
import { DelayHeap } from '../../src/reconcile/delay-heap.js';

test('popDue returns due keys earliest first, ties in scheduling order', (t) => {
  const h = new DelayHeap();
  h.schedule('c', 30);
  h.schedule('a', 10);
  h.schedule('b', 10);
  h.schedule('d', 40);
  t.deepEqual(h.popDue(30), ['a', 'b', 'c']);
  t.is(h.size, 1);
  t.is(h.peekReadyAt(), 40);
});

test('a key is held once and only ever moves earlier', (t) => {
  const h = new DelayHeap();
  t.true(h.schedule('a', 50));
  t.false(h.schedule('a', 80));
  t.true(h.schedule('a', 20));
  t.is(h.size, 1);
  t.is(h.readyAt('a'), 20);
});

test('property: popDue agrees with sorting the earliest deadline per key', (t) => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.nat(100))), fc.nat(100), (entries, now) => {
      const h = new DelayHeap();
      const earliest = new Map<string, number>();
      for (const [k, at] of entries) {
        h.schedule(k, at);
        earliest.set(k, Math.min(at, earliest.get(k) ?? Infinity));
      }
      const due = h.popDue(now);
      const times = due.map((k) => earliest.get(k)!);
      const expectedDue = [...earliest].filter(([, at]) => at <= now).map(([k]) => k);
      return (
        times.every((x, i) => i === 0 || times[i - 1]! <= x) &&
        due.length === expectedDue.length &&
        expectedDue.every((k) => due.includes(k)) &&
        h.size === earliest.size - due.length
      );
    }),
  );
  t.pass();
});
