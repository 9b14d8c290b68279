import test from 'ava';
import fc from 'fast-check';
import type { StoredEndpoint, StoredNetwork } from '../../src/sim/hns-model.js';
import { mergeSimStates } from '../../src/sim/state-merge.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { openTestHost, overlayNetwork, readState } from './sim-fixture.js';

const NET = '0b5f2c1e-3a4d-4c4e-9f00-000000000001';
const network = (policies: number): StoredNetwork => ({ ID: NET, Name: 'flannel.4096', Type: 'Overlay', SchemaVersion: { Major: 2, Minor: 0 }, Policies: Array.from({ length: policies }, (_, i) => ({ Type: 'HostRoute', Settings: { n: i } as never })) });
const endpoint = (n: number, name = `ep${n}`): StoredEndpoint => ({ ID: `0b5f2c1e-3a4d-4c4e-9f00-00000000010${n}`, Name: name, HostComputeNetwork: NET, SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: `10.244.1.${n}` }] });
const doc = (networks: StoredNetwork[], endpoints: StoredEndpoint[], counters: Record<string, number>): SimStateDocument => ({ version: 1, networks, endpoints, interfaces: [], routes: [], counters });

test('each side keeps what the other did not touch: our network change and their new endpoint', (t) => {
  const base = doc([network(1)], [endpoint(1)], { writes: 10, reads: 3 });
  const ours = doc([network(2)], [endpoint(1)], { writes: 11, reads: 9 });
  const theirs = doc([network(1)], [endpoint(1), endpoint(2)], { writes: 11, reads: 4 });
  const { merged, conflicts, keepsOurs } = mergeSimStates(base, ours, theirs);
  t.deepEqual(merged.networks, [network(2)]);
  t.deepEqual(merged.endpoints, [endpoint(1), endpoint(2)]);
  t.deepEqual(merged.counters, { writes: 12, reads: 10 }, 'our counts plus what the file gained');
  t.deepEqual(conflicts, []);
  t.true(keepsOurs);
  const countsOnly = mergeSimStates(base, { ...base, counters: { writes: 10, reads: 5 } }, base);
  t.false(countsOnly.keepsOurs);
  t.true(countsOnly.countsDiffer);
});

test('a deletion on either side wins over no change; a change on both sides keeps theirs and is reported', (t) => {
  const base = doc([network(1)], [endpoint(1), endpoint(2), endpoint(3)], {});
  const ours = doc([network(2)], [endpoint(2), endpoint(3, 'ours')], {});
  const theirs = doc([network(3)], [endpoint(1), endpoint(3, 'theirs')], {});
  const { merged, conflicts } = mergeSimStates(base, ours, theirs);
  t.deepEqual(merged.networks, [network(3)], 'the policy lists merge as sets');
  t.deepEqual(merged.endpoints, [endpoint(3, 'theirs')], 'ep1 deleted by us, ep2 by them, ep3 renamed by both');
  t.deepEqual(conflicts, [`endpoints/${endpoint(3).ID}`]);
});

test('a network both sides changed keeps both sides\' policy changes', (t) => {
  const route = (n: number) => ({ Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: `10.244.${n}.0/24`, IsolationId: 4096, ProviderAddress: '192.168.1.12', DistributedRouterMacAddress: '00-15-5D-00-00-01' } });
  const net = (routes: number[], name = 'flannel.4096'): StoredNetwork => ({ ID: NET, Name: name, Type: 'Overlay', SchemaVersion: { Major: 2, Minor: 0 }, Policies: routes.map(route) as never });
  // The daemon added route 4 (unsaved); a test deleted route 2 behind its back.
  const { merged, conflicts } = mergeSimStates(doc([net([1, 2, 3])], [], {}), doc([net([1, 2, 3, 4])], [], {}), doc([net([1, 3])], [], {}));
  t.deepEqual(merged.networks, [net([1, 3, 4])]);
  t.deepEqual(conflicts, []);
  // A document field both changed differently is a conflict; theirs wins, the policies still merge.
  const other = mergeSimStates(doc([net([1])], [], {}), doc([net([1, 2], 'ours')], [], {}), doc([net([], 'theirs')], [], {}));
  t.deepEqual(other.merged.networks, [net([2], 'theirs')]);
  t.deepEqual(other.conflicts, [`networks/${NET}`]);
});

test('with nothing of ours changed the merge is their document and needs no write', (t) => {
  const base = doc([network(1)], [endpoint(1)], { writes: 4 });
  const theirs = doc([], [], { writes: 4 });
  const { merged, keepsOurs } = mergeSimStates(base, structuredClone(base), theirs);
  t.deepEqual(merged, theirs);
  t.false(keepsOurs);
});

test('two processes on one state file lose nothing of each other: unsaved changes survive an outside write', async (t) => {
  // The "daemon": a long debounce keeps its changes unsaved while the other process writes.
  const daemon = await openTestHost(t, { flushDelayMs: 60_000 });
  const network = await daemon.hns.createNetwork(overlayNetwork());
  await daemon.flush();
  await daemon.hns.modifyNetwork(network.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] } });
  // The "CLI": opens the same file, adds an endpoint, closes (writes under the lock).
  const cli = await openTestHost(t, { stateFile: daemon.stateFile });
  const added = await cli.hns.createEndpoint(network.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: '10.244.1.7' }] });
  await cli.close();
  // The daemon sees the endpoint at its next call and keeps its own unsaved HostRoute.
  t.deepEqual((await daemon.hns.listEndpoints()).map((e) => e.ID), [added.ID]);
  t.true((await daemon.hns.getNetwork(network.ID!)).Policies!.some((p) => p.Type === 'HostRoute'));
  await daemon.close();
  const file = await readState(daemon.stateFile);
  t.deepEqual(file.endpoints.map((e) => e.ID), [added.ID]);
  t.true(file.networks[0]!.Policies!.some((p) => p.Type === 'HostRoute'));
  t.like(file.counters, { createNetwork: 1, modifyNetwork: 1, createEndpoint: 1 });
});

test('interleaved writers on one file: every endpoint and every policy of both ends up in the file', async (t) => {
  const a = await openTestHost(t, { flushDelayMs: 1 });
  const network = await a.hns.createNetwork(overlayNetwork());
  await a.flush();
  const b = await openTestHost(t, { stateFile: a.stateFile, flushDelayMs: 1 });
  await Promise.all([
    (async () => {
      for (let i = 0; i < 20; i++) {
        await a.hns.modifyNetwork(network.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: `10.244.${100 + i}.0/24`, IsolationId: 4096, ProviderAddress: '192.168.1.12', DistributedRouterMacAddress: '00-15-5D-00-00-01' } }] } });
        await a.flush();
      }
    })(),
    (async () => {
      for (let i = 0; i < 20; i++) {
        await b.hns.createEndpoint(network.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: `10.244.1.${10 + i}` }] });
        await b.flush();
      }
    })(),
  ]);
  await a.close();
  await b.close();
  const file = await readState(a.stateFile);
  t.is(file.endpoints.length, 20);
  t.is(file.networks[0]!.Policies!.filter((p) => p.Type === 'RemoteSubnetRoute').length, 20);
  t.like(file.counters, { modifyNetwork: 20, createEndpoint: 20 });
});

test('changes to different objects always both survive, whatever they are (reference model)', (t) => {
  const ids = Array.from({ length: 10 }, (_, i) => i);
  const change = fc.constantFrom('keep', 'delete', 'rename', 'add');
  // For each object: what happens to it, whether we (true) or they make that change, whether base holds it.
  const plans = fc.array(fc.tuple(change, fc.boolean(), fc.boolean()), { minLength: 10, maxLength: 10 });
  t.notThrows(() => fc.assert(
    fc.property(plans, (plan) => {
      const base = doc([], ids.filter((i) => plan[i]![2]).map((i) => endpoint(i)), {});
      const side = (mine: boolean): SimStateDocument => {
        const out: StoredEndpoint[] = [];
        for (const i of ids) {
          const [op, ours, exists] = plan[i]!;
          if (ours !== mine) {
            if (exists) out.push(endpoint(i));
          } else if (op === 'rename' && exists) out.push(endpoint(i, `renamed${i}`));
          else if (op === 'add' && !exists) out.push(endpoint(i, `new${i}`));
          else if (op !== 'delete' && exists) out.push(endpoint(i));
        }
        return doc([], out, {});
      };
      const ours = side(true);
      const theirs = side(false);
      // The reference: each object as the side that changed it left it.
      const want = ids.flatMap((i) => (plan[i]![1] ? ours : theirs).endpoints.filter((e) => e.ID === endpoint(i).ID)).map((e) => `${e.ID}:${e.Name}`).sort();
      const { merged, conflicts } = mergeSimStates(base, ours, theirs);
      return conflicts.length === 0 && JSON.stringify(merged.endpoints.map((e) => `${e.ID}:${e.Name}`).sort()) === JSON.stringify(want);
    }),
  ));
});
