import test from 'ava';
import { RemoteSubnetRouteKind } from '../../../src/backends/vxlan/remote-subnet-route-kind.js';
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
