import test from 'ava';
import { RemoteSubnetRouteKind } from '../../../src/backends/vxlan/remote-subnet-route-kind.js';
import { toPolicySetting } from '../../../src/backends/vxlan/remote-subnet-route.js';
import type { HnsClient } from '../../../src/hns/client.js';
import type { HostComputeNetwork, NetworkPolicy } from '../../../src/hns/types.js';
import { openTestHost, overlayNetwork, policyRequest, remoteSubnetRoute } from '../../sim/sim-fixture.js';

const NEVER = new AbortController().signal;

/** An HnsClient that answers getNetwork with a fresh copy of `policies`, as HCN's JSON would be. */
function answering(policies: () => NetworkPolicy[]): HnsClient {
  return { getNetwork: async (): Promise<HostComputeNetwork> => ({ ID: 'net', Name: 'flannel.4096', Type: 'Overlay', SchemaVersion: { Major: 2, Minor: 0 }, Policies: structuredClone(policies()) }) } as unknown as HnsClient;
}

test('a relisting keeps the entries HNS still holds unchanged, and reads anew what changed', async (t) => {
  let policies = [remoteSubnetRoute('10.244.1.0/24', '192.168.1.11', '00-15-5D-00-00-01'), remoteSubnetRoute('10.244.2.0/24', '192.168.1.12', '00-15-5D-00-00-02')];
  const kind = new RemoteSubnetRouteKind(answering(() => policies), () => 'net');
  const first = await kind.listActual(NEVER);
  t.deepEqual([...first.keys()], ['10.244.1.0/24', '10.244.2.0/24']);

  const same = await kind.listActual(NEVER, first);
  t.is(same.get('10.244.1.0/24'), first.get('10.244.1.0/24'), 'an unchanged route keeps its entry');
  t.is(same.get('10.244.2.0/24'), first.get('10.244.2.0/24'));

  // Someone rewrote the second route's MAC, and HNS reports the first with one field more.
  policies = [
    { Type: 'RemoteSubnetRoute', Settings: { ...policies[0]!.Settings, Extra: 1 } } as unknown as NetworkPolicy,
    remoteSubnetRoute('10.244.2.0/24', '192.168.1.12', '00-15-5D-00-00-99'),
  ];
  const changed = await kind.listActual(NEVER, same);
  t.not(changed.get('10.244.1.0/24'), same.get('10.244.1.0/24'), 'a field more is not the same policy: removal sends back what HNS reports');
  t.deepEqual(changed.get('10.244.1.0/24')?.settings, [policies[0]!.Settings as never]);
  t.not(changed.get('10.244.2.0/24'), same.get('10.244.2.0/24'));
  t.not(changed.get('10.244.2.0/24')?.spec?.drMac, same.get('10.244.2.0/24')?.spec?.drMac, 'the new MAC is read');
});

test('a duplicate of a known route is still listed as two policies (so the extra one is removed)', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  await host.hns.modifyNetwork(network.ID!, policyRequest('Add', [remoteSubnetRoute('10.244.1.0/24', '192.168.1.11', '00-15-5D-00-00-01')]));
  const kind = new RemoteSubnetRouteKind(host.hns, () => network.ID!);
  const first = await kind.listActual(NEVER);
  // HNS refuses a second route for the same prefix, so the duplicate comes from a stand-in answer.
  const doubled = (await host.hns.getNetwork(network.ID!)).Policies!.filter((p) => p.Type === 'RemoteSubnetRoute');
  const twice = new RemoteSubnetRouteKind(answering(() => [...doubled, remoteSubnetRoute('10.244.1.0/24', '192.168.1.13', '00-15-5D-00-00-03')]), () => 'net');
  const listed = await twice.listActual(NEVER, first);
  t.is(listed.get('10.244.1.0/24')?.settings.length, 2);
  t.false(kind.matches(first.get('10.244.1.0/24')!.spec!, listed.get('10.244.1.0/24')!), 'two policies for one prefix never match a desired route');
  await host.close();
});

test('a listing of exactly the known routes hands back the known map; any difference builds a new one', async (t) => {
  const a = remoteSubnetRoute('10.244.1.0/24', '192.168.1.11', '00-15-5D-00-00-01');
  const b = remoteSubnetRoute('10.244.2.0/24', '192.168.1.12', '00-15-5D-00-00-02');
  let policies = [a, b];
  const kind = new RemoteSubnetRouteKind(answering(() => policies), () => 'net');
  const first = await kind.listActual(NEVER);
  const again = await kind.listActual(NEVER, first);
  t.is(again, first, 'nothing changed: no new map of every route');
  t.is(await kind.listActual(NEVER, again), first, 'and again at the next resync');

  const cases: Array<[string, NetworkPolicy[], string[]]> = [
    ['a route gone', [a], ['10.244.1.0/24']],
    ['a route more', [a, b, remoteSubnetRoute('10.244.3.0/24', '192.168.1.13', '00-15-5D-00-00-03')], ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24']],
    ['a route changed', [a, remoteSubnetRoute('10.244.2.0/24', '192.168.1.12', '00-15-5D-00-00-99')], ['10.244.1.0/24', '10.244.2.0/24']],
    // The same number of policies as known routes, one prefix twice and one missing.
    ['one route twice, another gone', [a, a], ['10.244.1.0/24']],
  ];
  for (const [what, listed, keys] of cases) {
    policies = listed;
    const next = await kind.listActual(NEVER, first);
    t.not(next, first, what);
    t.deepEqual([...next.keys()].sort(), keys, what);
    if (what === 'one route twice, another gone') t.is(next.get('10.244.1.0/24')?.settings.length, 2, 'both policies kept, so the extra one is removed');
  }
  policies = [a, b];
  t.is(await kind.listActual(NEVER, first), first, 'back to what was known: the known map again');
});

test('an entry written by the daemon itself counts as known once HNS lists the same setting', async (t) => {
  const spec = { destinationPrefix: '10.244.1.0/24', isolationId: 4096, providerAddress: '192.168.1.11', drMac: '00:15:5d:00:00:01' };
  // HNS lists back what was written (here as a fresh parse of it), so the listing finds the entry written.
  const kind = new RemoteSubnetRouteKind(answering(() => [{ Type: 'RemoteSubnetRoute', Settings: toPolicySetting(spec) } as NetworkPolicy]), () => 'net');
  const written = new Map([['10.244.1.0/24', kind.toActual(spec)]]);
  t.is(await kind.listActual(NEVER, written), written);
});
