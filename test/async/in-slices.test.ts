import test from 'ava';
import { forEachInSlices } from '../../src/async/in-slices.js';

test('every item is visited in order, with the event loop given back between slices', async (t) => {
  const seen: number[] = [];
  const turns: number[] = [];
  // A callback queued by the event loop records how far the walk had got when it ran. Slices end
  // by count only here (no clock), so the boundaries are exact.
  let ticking = true;
  const tick = (): void => {
    turns.push(seen.length);
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  await forEachInSlices(Array.from({ length: 1000 }, (_, i) => i), (i) => seen.push(i), { maxItems: 100, sliceMs: Number.POSITIVE_INFINITY });
  ticking = false;
  t.deepEqual(seen, Array.from({ length: 1000 }, (_, i) => i));
  const inBetween = turns.filter((n) => n > 0 && n < 1000);
  t.true(inBetween.length >= 9, `the loop ran between slices: ${turns.join(',')}`);
  t.true(inBetween.every((n) => n % 100 === 0), 'only at slice boundaries');
});

test('a generator is pulled lazily, one slice at a time', async (t) => {
  let produced = 0;
  function* items(): Generator<number> {
    for (let i = 0; i < 500; i++) {
      produced++;
      yield i;
    }
  }
  const producedAtTurns: number[] = [];
  let ticking = true;
  const tick = (): void => {
    producedAtTurns.push(produced);
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  let sum = 0;
  await forEachInSlices(items(), (i) => (sum += i), { maxItems: 50, sliceMs: Number.POSITIVE_INFINITY });
  ticking = false;
  t.is(sum, (499 * 500) / 2);
  t.true(producedAtTurns.some((n) => n > 0 && n < 500), `part-way through: ${producedAtTurns.join(',')}`);
});

test('an abort between slices stops the walk with the signal\'s reason', async (t) => {
  const controller = new AbortController();
  const seen: number[] = [];
  const walk = forEachInSlices(Array.from({ length: 1000 }, (_, i) => i), (i) => {
    seen.push(i);
    if (i === 150) controller.abort(new Error('stopping'));
  }, { maxItems: 100, sliceMs: Number.POSITIVE_INFINITY, signal: controller.signal });
  await t.throwsAsync(walk, { message: 'stopping' });
  t.is(seen.length, 200, 'the slice in progress finishes, the next one never starts');
});
