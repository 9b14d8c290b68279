import test from 'ava';
import type { AclPolicySetting } from '../../src/hns/types.js';
import { EndpointAclPlan } from '../../src/policy/endpoint-acl-plan.js';
import { cniEndpointDocument } from '../../src/sim/cni-endpoint.js';
import { openTestHost, overlayNetwork, remoteEndpoint } from '../sim/sim-fixture.js';

const CIDRS = { clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };
const BLOCK: AclPolicySetting = { Id: 'flannel-win:block:in', Action: 'Block', Direction: 'In', RuleType: 'Switch', Priority: 65000 };

test('the desired map joins compiled lists to matched endpoints; a pod whose endpoint goes away drops its entry', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  const web = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.5', ...CIDRS }));
  const db = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.6', ...CIDRS }));
  await host.hns.createEndpoint(network.ID!, remoteEndpoint(network.ID!, '10.244.2.5'));
  const webId = web.ID!.toLowerCase();
  const dbId = db.ID!.toLowerCase();

  const plan = new EndpointAclPlan({ networkId: () => network.ID! });
  t.true(plan.setPod('default/web', { key: 'default/web', ips: ['10.244.1.5'], hostNetwork: false }));
  t.false(plan.setPod('default/web', { key: 'default/web', ips: ['10.244.1.5'], hostNetwork: false }), 'the same pod again changes nothing');
  plan.setPod('default/db', { key: 'default/db', ips: ['10.244.1.6'], hostNetwork: false });
  plan.setPod('default/new', { key: 'default/new', ips: ['10.244.1.7'], hostNetwork: false });
  plan.setPod('default/liar', { key: 'default/liar', ips: ['10.244.2.5'], hostNetwork: false });
  // Compiled before any endpoint is known: nothing to hand over yet.
  t.is(plan.setCompiled('default/web', [BLOCK]), undefined);
  plan.setCompiled('default/db', []);
  plan.setEndpoints(await host.hns.listEndpoints());
  plan.rematch();

  t.deepEqual([...plan.managed()].sort(), [webId, dbId].sort(), 'the remote endpoint is never managed');
  t.deepEqual(plan.desired(), new Map([[webId, [BLOCK]], [dbId, []]]));
  t.deepEqual([...plan.waiting()].sort(), ['default/liar', 'default/new']);
  t.deepEqual(plan.setCompiled('default/web', []), { endpointId: webId, acls: [] });
  t.deepEqual(plan.setCompiled('default/web', undefined), { endpointId: webId, acls: undefined });

  // The CNI removes db's endpoint before the pod is deleted.
  await host.hns.deleteEndpoint(db.ID!);
  plan.setEndpoints(await host.hns.listEndpoints());
  plan.rematch();
  t.false(plan.desired().has(dbId));
  t.false(plan.managed().has(dbId));
  t.true(plan.waiting().includes('default/db'));
  // The pod leaves: no longer waited for.
  plan.setPod('default/db', undefined);
  plan.rematch();
  t.false(plan.waiting().includes('default/db'));
  t.is(plan.localPodCount, 3);
});
