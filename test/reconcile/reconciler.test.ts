import test from 'ava';
import { silentLogger } from '../../src/log.js';
import { backoffDelay } from '../../src/async/backoff.js';
import { ManualClock } from '../../src/reconcile/clock.js';
import { Reconciler, type ReconcilerOptions } from '../../src/reconcile/reconciler.js';
import { TokenBucket } from '../../src/reconcile/token-bucket.js';
import type { Change } from '../../src/reconcile/resource-kind.js';
import { FakeKind, flush, hostObject, runFor, settle, type FakeKindOptions } from './fake-kind.js';
import { waitFor } from '../support/wait.js';

function setup(kindOptions: FakeKindOptions = {}, options: Partial<ReconcilerOptions<string, string>> = {}) {
  const clock = new ManualClock();
  const kind = new FakeKind({ clock, ...kindOptions });
  const rec = new Reconciler(kind, { log: silentLogger(), clock, random: () => 0.5, ...options });
  const ac = new AbortController();
  return { clock, kind, rec, ac };
}

const keysOf = (changes: readonly Change<string, string>[]): string[] => changes.map((c) => `${c.op}:${c.key}`);

test('a restart with nothing changed adopts what is there and writes nothing', async (t) => {
  const { clock, kind, rec, ac } = setup({ maxBatch: 10 });
  for (const [k, v] of [['a', '1'], ['b', '2'], ['c', '3']] as const) kind.host.set(k, v);
  await rec.resync(ac.signal);
  rec.replaceAllDesired(new Map([['a', '1'], ['b', '2'], ['c', '3']]));
  rec.markDesiredSynced();
  rec.start(ac.signal);
  await settle(rec, clock);
  t.is(kind.calls.length, 0);
  t.is(rec.stats().queued, 0);
  t.is(rec.stats().actual, 3);
  ac.abort();
});

test('desired set before start is compared with the first listing, so matching entries are not rewritten', async (t) => {
  const { clock, kind, rec, ac } = setup({ maxBatch: 10 });
  kind.host.set('a', '1');
  kind.host.set('b', 'old');
  rec.setDesired('a', '1');
  rec.setDesired('b', 'new');
  rec.setDesired('c', '3');
  rec.start(ac.signal);
  await settle(rec, clock);
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes)), [['replace:b', 'create:c']]);
  t.deepEqual(hostObject(kind), { a: '1', b: 'new', c: '3' });
  ac.abort();
});

test('actual entries nobody desires are deleted only after markDesiredSynced', async (t) => {
  const { clock, kind, rec, ac } = setup();
  kind.host.set('a', '1');
  kind.host.set('stale', '9');
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  rec.setDesired('stale', undefined);
  await settle(rec, clock);
  await rec.resync();
  await settle(rec, clock);
  t.deepEqual(hostObject(kind), { a: '1', stale: '9' });
  t.is(kind.calls.length, 0);
  rec.markDesiredSynced();
  await settle(rec, clock);
  t.deepEqual(hostObject(kind), { a: '1' });
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes)), [['delete:stale']]);
  ac.abort();
});

test('a batch is ordered removals first, then replacements, then additions', async (t) => {
  const { clock, kind, rec, ac } = setup({ maxBatch: 10 });
  kind.host.set('gone', 'x');
  kind.host.set('moved', 'x');
  await rec.resync();
  rec.markDesiredSynced();
  rec.setDesired('new', 'n');
  rec.setDesired('moved', 'y');
  rec.setDesired('gone', undefined);
  rec.start(ac.signal);
  await settle(rec, clock);
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes)), [['delete:gone', 'replace:moved', 'create:new']]);
  ac.abort();
});

test('a failing batch falls back to single changes, so one bad entry does not block the rest', async (t) => {
  const bad = new Set(['bad']);
  const failed: string[] = [];
  const { clock, kind, rec: rec2, ac } = setup(
    { maxBatch: 10, shouldFail: (changes) => changes.some((c) => bad.has(c.key)) },
    { onFailed: (c) => failed.push(c.key) },
  );
  await rec2.resync();
  for (const k of ['a', 'b', 'bad', 'c']) rec2.setDesired(k, k);
  rec2.start(ac.signal);
  await waitFor(async () => {
    await flush();
    return kind.host.size === 3;
  });
  t.deepEqual(
    kind.calls.map((c) => [keysOf(c.changes), c.ok]),
    [
      [['create:a', 'create:b', 'create:bad', 'create:c'], false],
      [['create:a'], true],
      [['create:b'], true],
      [['create:bad'], false],
      [['create:c'], true],
    ],
  );
  t.deepEqual(failed, ['bad']);
  t.like(rec2.stats(), { applied: 3, failed: 1, retries: 1, pendingRetries: 1 });
  t.regex(rec2.stats().lastError ?? '', /create bad: fake apply failed/);
  // The per-key view /status shows: the failing key with its own error, the others programmed.
  t.like(rec2.keyState('bad'), { state: 'failing' });
  t.regex(rec2.keyState('bad')?.lastError ?? '', /fake apply failed for bad/);
  t.deepEqual(rec2.keyState('a'), { key: 'a', state: 'programmed' });
  t.is(rec2.keyState('never-desired'), undefined);
  bad.clear();
  await settle(rec2, clock);
  t.deepEqual(hostObject(kind), { a: 'a', b: 'b', bad: 'bad', c: 'c' });
  t.is(rec2.stats().pendingRetries, 0);
  t.deepEqual(rec2.keyState('bad'), { key: 'bad', state: 'programmed' }, 'a success clears the error');
  ac.abort();
});

test('retries of a failing key back off exponentially, with bounded jitter', async (t) => {
  const randoms = [0, 0.99, 0.5, 0.25, 0.75, 0.1, 0.9, 0.3, 0.6, 0.8, 0.05, 0.95];
  let i = 0;
  const { clock, kind, rec, ac } = setup(
    { shouldFail: () => true },
    { random: () => randoms[i++ % randoms.length]!, backoff: { baseMs: 100, maxMs: 10_000, jitter: 0.2 } },
  );
  await rec.resync();
  rec.setDesired('x', '1');
  rec.start(ac.signal);
  await runFor(clock, 60_000);
  const times = kind.calls.map((c) => c.at);
  t.true(times.length >= 10, `only ${times.length} attempts`);
  const gaps = times.slice(1).map((at, n) => at - times[n]!);
  for (const [n, gap] of gaps.entries()) {
    const nominal = Math.min(10_000, 100 * 2 ** n);
    t.true(gap >= Math.floor(nominal * 0.8) && gap <= nominal, `gap ${n + 1} = ${gap}, nominal ${nominal}`);
    t.is(gap, Math.round(backoffDelay(n + 1, { baseMs: 100, maxMs: 10_000, jitter: 0.2 }, randoms[n]!)));
  }
  t.true(gaps.slice(0, 6).every((g, n) => n === 0 || g > gaps[n - 1]!), 'grows until the cap');
  t.is(rec.stats().failed, times.length);
  ac.abort();
});

test('the global rate limit bounds apply calls over time', async (t) => {
  const { clock, kind, rec, ac } = setup({}, { rateLimit: { perSecond: 10, burst: 3 }, concurrency: 4 });
  await rec.resync();
  for (let k = 0; k < 20; k++) rec.setDesired(`k${k}`, 'v');
  rec.start(ac.signal);
  await settle(rec, clock);
  t.is(kind.host.size, 20);
  const times = kind.calls.map((c) => c.at).sort((a, b) => a - b);
  for (const [n, at] of times.entries()) {
    // The (n+1)-th call needs n+1 tokens: burst plus what refilled by then.
    t.true(n + 1 <= 3 + (at * 10) / 1000 + 1e-9, `call ${n + 1} at ${at} ms exceeds the bucket`);
  }
  t.true(times.at(-1)! >= 1700, `20 calls finished at ${times.at(-1)} ms, faster than the limit allows`);
  ac.abort();
});

test('updates of a key being applied wait for it and then run once with the latest spec', async (t) => {
  let release!: () => void;
  let holding = true;
  const { clock, kind, rec, ac } = setup({
    gate: () => (holding ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()),
  });
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(() => kind.inFlight.has('a') && release !== undefined);
  rec.setDesired('a', '2');
  rec.setDesired('a', '3');
  await flush(10);
  t.is(kind.inFlight.size, 1);
  t.is(rec.stats().inFlight, 1);
  holding = false;
  release();
  await settle(rec, clock);
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes).concat(c.changes.map((x) => (x.op === 'delete' ? '' : x.desired)))), [
    ['create:a', '1'],
    ['replace:a', '3'],
  ]);
  t.is(kind.overlaps, 0);
  ac.abort();
});

test('desired returning to the old spec while a write is in flight is caught after the write', async (t) => {
  let release!: () => void;
  let holding = true;
  const { clock, kind, rec, ac } = setup({
    gate: () => (holding ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()),
  });
  kind.host.set('a', '0');
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(() => kind.inFlight.has('a') && release !== undefined);
  rec.setDesired('a', '0');
  holding = false;
  release();
  await settle(rec, clock);
  t.deepEqual(hostObject(kind), { a: '0' });
  t.is(kind.writes, 2);
  ac.abort();
});

test('replaceAllDesired queues only what differs', async (t) => {
  const { clock, kind, rec, ac } = setup({ maxBatch: 10 });
  kind.host.set('a', '1');
  kind.host.set('b', '2');
  kind.host.set('d', '4');
  await rec.resync();
  rec.markDesiredSynced();
  rec.replaceAllDesired(new Map([['a', '1'], ['b', '2'], ['d', '4']]));
  rec.start(ac.signal);
  await settle(rec, clock);
  t.is(kind.calls.length, 0);
  rec.replaceAllDesired(new Map([['a', '1'], ['b', '22'], ['c', '3']]));
  t.is(rec.stats().queued, 3);
  await settle(rec, clock);
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes)), [['delete:d', 'replace:b', 'create:c']]);
  t.deepEqual(hostObject(kind), { a: '1', b: '22', c: '3' });
  ac.abort();
});

test('a repeated identical spec does not cut a running back-off short', async (t) => {
  const { clock, kind, rec, ac } = setup({ shouldFail: () => true }, { backoff: { baseMs: 1000, maxMs: 1000, jitter: 0 } });
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(async () => {
    await flush();
    return rec.stats().pendingRetries === 1;
  });
  for (let n = 0; n < 5; n++) rec.setDesired('a', '1');
  await flush(10);
  t.is(kind.calls.length, 1);
  rec.setDesired('a', '2');
  await waitFor(async () => {
    await flush();
    return kind.calls.length === 2;
  });
  t.is(kind.calls[1]!.at, 0, 'a new spec is tried at once');
  ac.abort();
});

test('periodic resync repairs drift made by someone else', async (t) => {
  const applied: string[][] = [];
  const drift: number[] = [];
  const { clock, kind, rec: rec2, ac } = setup({ maxBatch: 10 }, { onApplied: (changes) => applied.push(keysOf(changes)), onResynced: (queued) => drift.push(queued) });
  rec2.replaceAllDesired(new Map([['a', '1'], ['b', '2']]));
  rec2.markDesiredSynced();
  rec2.start(ac.signal);
  await settle(rec2, clock);
  t.deepEqual(hostObject(kind), { a: '1', b: '2' });
  kind.host.delete('a');
  kind.host.set('b', 'tampered');
  kind.host.set('intruder', 'x');
  rec2.startPeriodicResync(30_000, ac.signal);
  clock.advance(29_999);
  await flush();
  t.is(kind.host.get('b'), 'tampered', 'nothing happens before the interval');
  clock.advance(1);
  await settle(rec2, clock);
  t.deepEqual(hostObject(kind), { a: '1', b: '2' });
  t.deepEqual(applied.at(-1), ['delete:intruder', 'replace:b', 'create:a']);
  t.is(rec2.stats().lastResyncAt instanceof Date, true);
  // The first listing found nothing to repair (the creates were queued as desired state); the periodic one three drifted keys.
  t.deepEqual(drift, [0, 3]);
  t.is(rec2.stats().driftRepaired, 3);
  ac.abort();
  t.is(clock.pendingTimers, 0, 'abort cancels the next resync');
});

test('a failing periodic resync is recorded, not thrown, and tried again next interval', async (t) => {
  const { clock, kind, rec, ac } = setup();
  rec.start(ac.signal);
  await settle(rec, clock);
  const listsBefore = kind.lists;
  kind.listFailures = 1;
  rec.startPeriodicResync(1000, ac.signal);
  await runFor(clock, 1000);
  t.is(kind.lists, listsBefore + 1);
  t.regex(rec.stats().lastError ?? '', /Cannot resync fake/);
  kind.host.set('drift', 'x');
  rec.markDesiredSynced();
  await runFor(clock, 1000);
  t.is(kind.lists, listsBefore + 2);
  await settle(rec, clock);
  t.false(kind.host.has('drift'));
  ac.abort();
});

test('start retries the initial listing with back-off until it succeeds', async (t) => {
  const { clock, kind, rec, ac } = setup({}, { backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
  kind.listFailures = 2;
  rec.setDesired('a', '1');
  rec.start(ac.signal);
  await settle(rec, clock);
  t.is(kind.lists, 3);
  t.is(clock.now(), 300, 'waited 100 then 200 ms');
  t.deepEqual(hostObject(kind), { a: '1' });
  ac.abort();
});

test('an abort during apply is not a failure', async (t) => {
  const { kind, rec, ac } = setup({
    gate: (_changes, signal) =>
      new Promise((_resolve, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  });
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(() => kind.inFlight.has('a'));
  ac.abort();
  await rec.whenIdle();
  t.like(rec.stats(), { failed: 0, retries: 0, inFlight: 0, pendingRetries: 0 });
});

test('drain lets in-flight applies finish and takes no new work', async (t) => {
  let release!: () => void;
  const { kind, rec, ac } = setup({ gate: () => new Promise<void>((resolve) => (release = resolve)) });
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(() => kind.inFlight.has('a') && release !== undefined);
  let drained = false;
  const draining = rec.drain().then(() => (drained = true));
  rec.setDesired('b', '2');
  await flush(10);
  t.false(drained);
  release();
  await draining;
  t.deepEqual(hostObject(kind), { a: '1' });
  t.is(kind.calls.length, 1);
  await rec.whenIdle();
  ac.abort();
});

test('bad options and a second start fail with a clear message', (t) => {
  const kind = new FakeKind();
  t.throws(() => new Reconciler(kind, { log: silentLogger(), concurrency: 0 }), { message: /'concurrency' must be an integer >= 1/ });
  t.throws(() => new Reconciler(kind, { log: silentLogger(), rateLimit: { perSecond: -1 } }), { message: /'perSecond'/ });
  const rec = new Reconciler(kind, { log: silentLogger() });
  const ac = new AbortController();
  rec.start(ac.signal);
  t.throws(() => rec.start(ac.signal), { message: /Cannot start the fake reconciler: it was already started/ });
  ac.abort();
});

test('a key removed from desired before markDesiredSynced is not deleted even if it was already queued', async (t) => {
  const { clock, kind, rec, ac } = setup();
  kind.host.set('a', 'old');
  await rec.resync();
  rec.setDesired('a', 'new');
  rec.setDesired('a', undefined);
  rec.start(ac.signal);
  await settle(rec, clock);
  t.deepEqual(hostObject(kind), { a: 'old' });
  t.is(kind.calls.length, 0);
  rec.markDesiredSynced();
  await settle(rec, clock);
  t.deepEqual(hostObject(kind), {});
});

test('a listing that started before a write does not undo the write in the cache', async (t) => {
  let releaseList: (() => void) | undefined;
  let holdList = false;
  const { clock, kind, rec, ac } = setup({
    listGate: () => (holdList ? new Promise<void>((resolve) => (releaseList = resolve)) : Promise.resolve()),
  });
  rec.start(ac.signal);
  await settle(rec, clock);
  holdList = true;
  const resync = rec.resync();
  await waitFor(() => releaseList !== undefined);
  rec.setDesired('a', '1');
  await waitFor(async () => {
    await flush();
    return kind.host.get('a') === '1';
  });
  releaseList!();
  await resync;
  await settle(rec, clock);
  t.is(kind.writes, 1, 'the stale listing must not make the reconciler write again');
  t.is(rec.stats().actual, 1);
  ac.abort();
});

test('keys that arrive while every worker is busy wait in the queue and go out as one batch', async (t) => {
  let release: (() => void) | undefined;
  let holding = true;
  const { clock, kind, rec, ac } = setup(
    { maxBatch: 10, gate: () => (holding ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve()) },
    { concurrency: 1 },
  );
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(() => release !== undefined);
  for (const k of ['b', 'c', 'd']) {
    rec.setDesired(k, '1');
    await flush();
  }
  holding = false;
  release!();
  await settle(rec, clock);
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes)), [['create:a'], ['create:b', 'create:c', 'create:d']]);
  ac.abort();
});

test('keys that arrive while the next batch waits for a rate-limit token join that batch', async (t) => {
  const { clock, kind, rec, ac } = setup({ maxBatch: 10 }, { rateLimit: { perSecond: 1, burst: 1 }, concurrency: 2 });
  await rec.resync();
  rec.start(ac.signal);
  rec.setDesired('a', '1');
  await waitFor(() => kind.calls.length === 1);
  // The bucket is empty now: the next token comes in one second. Keys added meanwhile must not
  // be taken one by one into batches that then wait; they wait in the queue and go out together.
  for (const k of ['b', 'c', 'd']) {
    rec.setDesired(k, '1');
    await flush();
  }
  t.is(kind.calls.length, 1, 'nothing may be written before the token is there');
  await settle(rec, clock);
  t.deepEqual(kind.calls.map((c) => keysOf(c.changes)), [['create:a'], ['create:b', 'create:c', 'create:d']]);
  t.true(kind.calls[1]!.at >= 1000, `the second batch went out at ${kind.calls[1]!.at} ms, before its token`);
  ac.abort();
});

test('reconcilers given one shared bucket stay within its rate together', async (t) => {
  const clock = new ManualClock();
  const shared = new TokenBucket({ perSecond: 10, burst: 2 }, clock);
  const kinds = [new FakeKind({ clock }), new FakeKind({ clock })];
  const ac = new AbortController();
  const recs = kinds.map((kind) => new Reconciler(kind, { log: silentLogger(), clock, random: () => 0.5, rateLimiter: shared, rateLimit: { perSecond: 1000, burst: 1000 } }));
  for (const rec of recs) {
    await rec.resync();
    for (let k = 0; k < 10; k++) rec.setDesired(`k${k}`, 'v');
    rec.start(ac.signal);
  }
  for (const rec of recs) await settle(rec, clock);
  t.is(kinds[0]!.host.size + kinds[1]!.host.size, 20);
  const times = kinds.flatMap((k) => k.calls.map((c) => c.at)).sort((a, b) => a - b);
  for (const [n, at] of times.entries()) {
    t.true(n + 1 <= 2 + (at * 10) / 1000 + 1e-9, `call ${n + 1} (of both kinds) at ${at} ms exceeds the shared bucket`);
  }
  ac.abort();
});

test('a resync compares desired and actual state in slices, giving the event loop back in between', async (t) => {
  const { kind, rec, ac } = setup({}, { resyncSliceKeys: 100 });
  for (let k = 0; k < 2000; k++) {
    kind.host.set(`k${k}`, 'v');
    rec.setDesired(`k${k}`, 'v');
  }
  rec.markDesiredSynced();
  let done = false;
  let turns = 0;
  const resync = rec.resync().then(() => {
    done = true;
  });
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  await resync;
  // 2,000 desired keys plus 2,000 actual ones in slices of 100: at least 40 turns of the loop.
  t.true(turns >= 40, `only ${turns} event-loop turns during the resync`);
  t.is(kind.writes, 0);
  ac.abort();
});

test('whenListed waits for the initial listing that start retries, without failing on the failed attempts', async (t) => {
  const { clock, kind, rec, ac } = setup({}, { backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
  kind.listFailures = 2;
  rec.setDesired('a', '1');
  let listed = false;
  void rec.whenListed(ac.signal).then(() => {
    listed = true;
  });
  rec.start(ac.signal);
  await runFor(clock, 150);
  t.is(kind.lists, 2, 'the first listing and one retry have failed');
  t.false(listed, 'still waiting after failed listings');
  await runFor(clock, 200);
  t.is(kind.lists, 3);
  t.true(listed, 'resolved once a listing succeeded');
  t.true(rec.stats().queued + rec.stats().inFlight + kind.calls.length >= 1, 'the key found different was queued by then');
  await settle(rec, clock);
  t.deepEqual(hostObject(kind), { a: '1' });
  let again = false;
  void rec.whenListed(ac.signal).then(() => {
    again = true;
  });
  await flush(1);
  t.true(again, 'resolves at once after a listing');
  ac.abort();
});

test('whenListed resolves when its signal aborts or the reconciler stops before any listing', async (t) => {
  const { kind, rec, ac } = setup();
  kind.listFailures = 1_000;
  const waiter = new AbortController();
  const resolved: string[] = [];
  void rec.whenListed(waiter.signal).then(() => resolved.push('aborted waiter'));
  void rec.whenListed().then(() => resolved.push('stopped reconciler'));
  rec.start(ac.signal);
  await flush();
  t.deepEqual(resolved, [], 'both wait while the listing fails');
  waiter.abort();
  await flush(1);
  t.deepEqual(resolved, ['aborted waiter']);
  ac.abort();
  await flush(1);
  t.deepEqual(resolved, ['aborted waiter', 'stopped reconciler']);
  t.false(rec.stats().lastResyncAt instanceof Date, 'nothing was ever listed');
});

test('retryNow ends the back-off of failed keys: they are tried at once, and one failing again starts from the first delay', async (t) => {
  let failing = new Set(['a', 'b']);
  const { clock, kind, rec, ac } = setup(
    { maxBatch: 10, shouldFail: (changes) => changes.some((c) => failing.has(c.key)) },
    { backoff: { baseMs: 1_000, maxMs: 60_000, jitter: 0 } },
  );
  const attemptsOf = (key: string) => [...new Set(kind.calls.filter((c) => c.changes.some((ch) => ch.key === key)).map((c) => c.at))];
  await rec.resync();
  rec.markDesiredSynced();
  rec.start(ac.signal);
  rec.replaceAllDesired(new Map([['a', '1'], ['b', '2']]));
  // Attempts at 0, 1 s, 3 s and 7 s; the next one would come at 15 s.
  await runFor(clock, 7_000);
  t.is(rec.stats().pendingRetries, 2);
  t.deepEqual(attemptsOf('a'), [0, 1_000, 3_000, 7_000]);
  t.deepEqual(hostObject(kind), {}, 'nothing applied yet');

  // What made a fail is repaired (b still fails): without retryNow both would wait another 8 s.
  failing = new Set(['b']);
  t.is(rec.retryNow(), 2);
  t.is(rec.stats().pendingRetries, 0);
  await waitFor(async () => {
    await flush();
    return rec.stats().pendingRetries === 1 && rec.stats().inFlight === 0;
  }, { what: 'a applied and b backing off again' });
  t.deepEqual(hostObject(kind), { a: '1' });
  t.is(attemptsOf('a').at(-1), 7_000, 'a applied at once, no back-off waited out');
  t.is(attemptsOf('b').at(-1), 7_000, 'b tried at once');

  // Failure counts started over: b, failing again, waits the first delay (1 s), not the fifth (16 s).
  await runFor(clock, 1_000);
  t.deepEqual(attemptsOf('b').slice(-2), [7_000, 8_000]);
  t.is(rec.retryNow(), 1, 'only the key waiting now');
  ac.abort();
  t.is(rec.retryNow(), 0, 'nothing after a stop');
});
