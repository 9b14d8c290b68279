import test from 'ava';
import fc from 'fast-check';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/reconcile/clock.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { FakeKind, flush, hostObject, settle } from './fake-kind.js';

type Command =
  | { readonly t: 'set'; readonly key: string; readonly value: string | undefined }
  | { readonly t: 'drift'; readonly key: string; readonly value: string | undefined }
  | { readonly t: 'resync' }
  | { readonly t: 'synced' }
  | { readonly t: 'tick'; readonly rounds: number; readonly advance: boolean };

const key = fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5');
const value = fc.option(fc.constantFrom('v0', 'v1', 'v2'), { nil: undefined });
const state = fc.dictionary(key, fc.constantFrom('v0', 'v1', 'v2'), { maxKeys: 6 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('set' as const), key, value }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drift' as const), key, value }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resync' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'synced' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('tick' as const), rounds: fc.integer({ min: 1, max: 4 }), advance: fc.boolean() }) },
);

const sorted = (record: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

test('property: after any mix of desired changes, drift and failing applies, the host converges to the desired state', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      state,
      state,
      fc.array(command, { maxLength: 40 }),
      fc.array(fc.boolean(), { maxLength: 30 }),
      fc.constantFrom(1, 3, 10),
      fc.constantFrom(1, 2, 4),
      fc.boolean(),
      async (initialHost, initialDesired, commands, failures, maxBatch, concurrency, tightRate) => {
        const clock = new ManualClock();
        const failQueue = [...failures];
        let synced = false;
        const earlyDeletes: string[] = [];
        const kind = new FakeKind({ clock, maxBatch, shouldFail: () => failQueue.shift() ?? false });
        const rec = new Reconciler(kind, {
          log: silentLogger(),
          clock,
          concurrency,
          random: () => 0.5,
          ...(tightRate && { rateLimit: { perSecond: 5, burst: 2 } }),
          onApplied: (changes) => {
            for (const c of changes) if (c.op === 'delete' && !synced) earlyDeletes.push(c.key);
          },
        });
        for (const [k, v] of Object.entries(initialHost)) kind.host.set(k, v);
        const model = new Map<string, string>(Object.entries(initialDesired));
        const drifted = new Set<string>();
        rec.replaceAllDesired(new Map(model));
        const ac = new AbortController();
        rec.start(ac.signal);
        for (const c of commands) {
          if (c.t === 'set') {
            rec.setDesired(c.key, c.value);
            if (c.value === undefined) model.delete(c.key);
            else model.set(c.key, c.value);
          } else if (c.t === 'drift') {
            drifted.add(c.key);
            if (c.value === undefined) kind.host.delete(c.key);
            else kind.host.set(c.key, c.value);
          } else if (c.t === 'resync') {
            void rec.resync().catch(() => undefined);
          } else if (c.t === 'synced') {
            synced = true;
            rec.markDesiredSynced();
          } else {
            await flush(c.rounds);
            const next = clock.nextDeadline();
            if (c.advance && next !== undefined) clock.advance(next - clock.now());
          }
        }
        synced = true;
        rec.markDesiredSynced();
        await settle(rec, clock);
        // Without drift, events and retries alone must have converged, no listing needed.
        for (const k of new Set([...model.keys(), ...kind.host.keys()])) {
          if (!drifted.has(k) && model.get(k) !== kind.host.get(k)) {
            throw new Error(`before the final resync, ${k} is ${kind.host.get(k)} on the host, desired ${model.get(k)}`);
          }
        }
        // Drift is only seen by a listing; one more resync after the dust settled repairs it.
        await rec.resync();
        await settle(rec, clock);
        ac.abort();
        const expected = sorted(Object.fromEntries(model));
        const host = hostObject(kind);
        const stats = rec.stats();
        if (JSON.stringify(host) !== JSON.stringify(expected)) throw new Error(`host ${JSON.stringify(host)} != desired ${JSON.stringify(expected)}`);
        if (kind.overlaps !== 0) throw new Error(`${kind.overlaps} concurrent applies touched one key`);
        if (earlyDeletes.length > 0) throw new Error(`deleted before markDesiredSynced: ${earlyDeletes.join(',')}`);
        if (stats.queued !== 0 || stats.inFlight !== 0 || stats.pendingRetries !== 0) throw new Error(`not idle: ${JSON.stringify(stats)}`);
        return true;
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

test('property: once converged, a new reconciler over the same host and desired state writes nothing', async (t) => {
  await fc.assert(
    fc.asyncProperty(state, state, fc.constantFrom(1, 4), async (initialHost, desired, maxBatch) => {
      const clock = new ManualClock();
      const kind = new FakeKind({ clock, maxBatch });
      for (const [k, v] of Object.entries(initialHost)) kind.host.set(k, v);
      const first = new Reconciler(kind, { log: silentLogger(), clock });
      const ac1 = new AbortController();
      first.replaceAllDesired(new Map(Object.entries(desired)));
      first.markDesiredSynced();
      first.start(ac1.signal);
      await settle(first, clock);
      ac1.abort();
      const writesBefore = kind.calls.length;
      const second = new Reconciler(kind, { log: silentLogger(), clock });
      const ac2 = new AbortController();
      second.start(ac2.signal);
      second.replaceAllDesired(new Map(Object.entries(desired)));
      second.markDesiredSynced();
      await settle(second, clock);
      ac2.abort();
      return kind.calls.length === writesBefore && JSON.stringify(hostObject(kind)) === JSON.stringify(sorted(desired));
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test('property: keys set while the bucket is empty all go out in the one batch that gets the next token', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
      fc.constantFrom(1, 2, 4),
      async (keys, pauses, concurrency) => {
        const clock = new ManualClock();
        const kind = new FakeKind({ clock, maxBatch: 8 });
        const rec = new Reconciler(kind, { log: silentLogger(), clock, concurrency, rateLimit: { perSecond: 1, burst: 1 } });
        const ac = new AbortController();
        await rec.resync();
        rec.start(ac.signal);
        rec.setDesired('first', 'v');
        await settle(rec, clock);
        // The bucket is empty: whatever arrives now, in any rhythm, waits for the same token.
        for (const [i, k] of keys.entries()) {
          rec.setDesired(k, 'v');
          await flush(pauses[i]);
        }
        await settle(rec, clock);
        ac.abort();
        const batches = kind.calls.slice(1).map((c) => c.changes.map((ch) => ch.key));
        if (batches.length !== 1) throw new Error(`expected one batch, got ${JSON.stringify(batches)}`);
        if (JSON.stringify(batches[0]) !== JSON.stringify(keys)) throw new Error(`batch ${JSON.stringify(batches[0])} != arrival order ${JSON.stringify(keys)}`);
        return true;
      },
    ),
    { numRuns: 80 },
  );
  t.pass();
});
