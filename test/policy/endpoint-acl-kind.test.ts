import test, { type ExecutionContext } from 'ava';
import type { AclPolicySetting, EndpointPolicy, HostComputeEndpoint, HostComputeNetwork } from '../../src/hns/types.js';
import { silentLogger } from '../../src/log.js';
import { OUR_ACL_ID_PREFIX } from '../../src/policy/acl-id.js';
import { canonicalAcl, EndpointAclKind, sameAclSet } from '../../src/policy/endpoint-acl-kind.js';
import { evaluateAcls } from '../../src/policy/hns-acl-evaluator.js';
import { matchLocalEndpoints } from '../../src/policy/local-endpoints.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { flowMatrix } from '../../src/sim/flow-matrix.js';
import { readHostFile } from '../../src/sim/state-view.js';
import { cniEndpointDocument } from '../../src/sim/cni-endpoint.js';
import type { SimHost } from '../../src/sim/sim-host.js';
import { openTestHost, overlayNetwork, readState, remoteEndpoint } from '../sim/sim-fixture.js';
import { netpol, pod, stateOf } from './policy-fixtures.js';

const PREFIX = OUR_ACL_ID_PREFIX;
const CIDRS = { clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };

/** A default-deny-ingress set with one allow: what the compiler produces for one isolated pod. */
function isolate(allowFrom: string, port = '80'): AclPolicySetting[] {
  return [
    { Id: `${PREFIX}node:in`, Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 900, RemoteAddresses: '192.168.1.10/32' },
    { Id: `${PREFIX}in:default/web:0:0`, Action: 'Allow', Direction: 'In', RuleType: 'Switch', Priority: 1000, Protocols: '6', RemoteAddresses: allowFrom, LocalPorts: port },
    { Id: `${PREFIX}block:in`, Action: 'Block', Direction: 'In', RuleType: 'Switch', Priority: 1001 },
    { Id: `${PREFIX}open:out`, Action: 'Allow', Direction: 'Out', RuleType: 'Switch', Priority: 1002 },
  ];
}

interface Bed {
  host: SimHost & { stateFile: string };
  network: HostComputeNetwork;
  web: HostComputeEndpoint;
  db: HostComputeEndpoint;
  managed: Set<string>;
  foreign: Map<string, readonly AclPolicySetting[]>;
  skipped: string[];
}

async function bed(t: ExecutionContext): Promise<Bed> {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  const web = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.5', ...CIDRS }));
  const db = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.6', ...CIDRS }));
  return { host, network, web, db, managed: new Set([web.ID!, db.ID!]), foreign: new Map(), skipped: [] };
}

function kindFor(b: Bed): EndpointAclKind {
  return new EndpointAclKind({
    hns: b.host.hns,
    networkId: () => b.network.ID!,
    managedEndpoints: () => b.managed,
    onForeignAcls: (id, acls) => b.foreign.set(id, acls),
    onSkipped: (id, reason) => b.skipped.push(`${reason} ${id}`),
  });
}

/** A reconciler run to idle with `desired`, as the policy controller drives it; returns the endpoint writes it made. */
async function converge(t: ExecutionContext, b: Bed, desired: Map<string, AclPolicySetting[]>): Promise<number> {
  const before = b.host.counters()['modifyEndpoint'] ?? 0;
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const reconciler = new Reconciler(kindFor(b), { log: silentLogger(), backoff: { baseMs: 1, maxMs: 5 } });
  reconciler.replaceAllDesired(desired);
  reconciler.markDesiredSynced();
  reconciler.start(controller.signal);
  await reconciler.resync();
  await reconciler.whenIdle();
  controller.abort();
  await reconciler.drain();
  return (b.host.counters()['modifyEndpoint'] ?? 0) - before;
}

async function policiesOf(b: Bed, id: string) {
  return (await b.host.hns.getEndpoint(id)).Policies ?? [];
}

test('one Update per endpoint: the CNI\'s policies first and unchanged, then the ACLs; the flows follow the rules', async (t) => {
  const b = await bed(t);
  const cniPolicies = b.web.Policies;
  t.is(await converge(t, b, new Map([[b.web.ID!, isolate('10.244.1.6/32')], [b.db.ID!, []]])), 1, 'db has no isolating policy and no ACL: no write');
  const web = await policiesOf(b, b.web.ID!);
  t.deepEqual(web.slice(0, 3), cniPolicies, 'OutBoundNAT, SDNRoute and ProviderAddress survive, first and unchanged');
  t.deepEqual(web.slice(3).map((p) => (p.Settings as AclPolicySetting).Id), isolate('').map((a) => a.Id));
  const acls = web.filter((p) => p.Type === 'ACL').map((p) => p.Settings as AclPolicySetting);
  t.like(evaluateAcls(acls, { direction: 'In', remoteIp: '10.244.1.6', localPort: 80, protocol: 6 }), { allowed: true, rule: { Id: `${PREFIX}in:default/web:0:0` } });
  t.like(evaluateAcls(acls, { direction: 'In', remoteIp: '10.244.2.9', localPort: 80, protocol: 6 }), { allowed: false, rule: { Id: `${PREFIX}block:in` } });
  await b.host.flush();
  t.is((await readState(b.host.stateFile)).counters['modifyEndpoint'], 1, 'the state file counts the endpoint write');
});

test('a restart with nothing changed, and a second resync, write nothing; one changed pod costs one write', async (t) => {
  const b = await bed(t);
  const desired = new Map([[b.web.ID!, isolate('10.244.1.6/32')], [b.db.ID!, isolate('10.244.1.5/32', '5432')]]);
  t.is(await converge(t, b, desired), 2);
  t.is(await converge(t, b, desired), 0, 'restart: every endpoint already holds its set');
  // HNS orders by Priority, not by position, and lists may come back in another order or spacing.
  const shuffled = new Map([[b.web.ID!, [...isolate('10.244.1.6/32')].reverse()], [b.db.ID!, isolate(' 10.244.1.5/32', '5432')]]);
  t.is(await converge(t, b, shuffled), 0);
  t.is(await converge(t, b, new Map([[b.web.ID!, isolate('10.244.1.6/32,10.244.1.7/32')], [b.db.ID!, desired.get(b.db.ID!)!]])), 1, 'only the changed endpoint');
});

test('an empty desired list removes our ACLs and keeps the CNI\'s policies and foreign ACLs, which are reported', async (t) => {
  const b = await bed(t);
  const calico: AclPolicySetting = { Id: 'calico-portmap', Action: 'Allow', Direction: 'In', RuleType: 'Host', Priority: 0 };
  const noId: AclPolicySetting = { Action: 'Allow', Direction: 'Out', Priority: 100 };
  const cni = await policiesOf(b, b.web.ID!);
  await b.host.hns.modifyEndpoint(b.web.ID!, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: [...cni, { Type: 'ACL', Settings: calico }, { Type: 'ACL', Settings: noId }] } });
  t.is(await converge(t, b, new Map([[b.web.ID!, isolate('10.244.1.6/32')]])), 1);
  t.deepEqual(b.foreign.get(b.web.ID!), [calico, noId]);
  const programmed = await policiesOf(b, b.web.ID!);
  t.deepEqual(programmed.slice(0, 5), [...cni, { Type: 'ACL', Settings: calico }, { Type: 'ACL', Settings: noId }]);
  t.is(programmed.length, 5 + 4);
  t.is(await converge(t, b, new Map([[b.web.ID!, []]])), 1);
  t.deepEqual(await policiesOf(b, b.web.ID!), [...cni, { Type: 'ACL', Settings: calico }, { Type: 'ACL', Settings: noId }]);
  // A pod that leaves the desired map (no policy controller entry) is cleaned the same way.
  t.is(await converge(t, b, new Map([[b.web.ID!, isolate('10.244.1.6/32')]])), 1);
  t.is(await converge(t, b, new Map()), 1);
  t.is((await policiesOf(b, b.web.ID!)).filter((p) => ((p.Settings as AclPolicySetting).Id ?? '').startsWith(PREFIX)).length, 0);
});

test('ACLs deleted behind the daemon\'s back are restored at the next resync', async (t) => {
  const b = await bed(t);
  const desired = new Map([[b.web.ID!, isolate('10.244.1.6/32')]]);
  t.is(await converge(t, b, desired), 1);
  const cni = (await policiesOf(b, b.web.ID!)).filter((p) => p.Type !== 'ACL');
  await b.host.hns.modifyEndpoint(b.web.ID!, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: cni } });
  t.is(await converge(t, b, desired), 1);
  t.true(sameAclSet((await policiesOf(b, b.web.ID!)).filter((p) => p.Type === 'ACL').map((p) => p.Settings as AclPolicySetting), isolate('10.244.1.6/32')));
});

test('an endpoint without a pod, a remote endpoint and another network\'s endpoint are never written', async (t) => {
  const b = await bed(t);
  const stray = await b.host.hns.createEndpoint(b.network.ID!, cniEndpointDocument(b.network, { ip: '10.244.1.9', ...CIDRS }));
  const remote = await b.host.hns.createEndpoint(b.network.ID!, remoteEndpoint(b.network.ID!, '10.244.2.5'));
  const ours = isolate('10.244.1.6/32').map((s) => ({ Type: 'ACL', Settings: s }) as EndpointPolicy);
  // Even holding ACLs with our prefix (a pod deleted while its endpoint lingers), they stay as they are.
  await b.host.hns.modifyEndpoint(stray.ID!, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: [...stray.Policies!, ...ours] } });
  const before = { stray: await policiesOf(b, stray.ID!), remote: await policiesOf(b, remote.ID!) };
  // The controller's desired map may even name them by mistake: not managed, not written.
  t.is(await converge(t, b, new Map([[b.web.ID!, isolate('10.244.1.6/32')], [stray.ID!, isolate('10.0.0.1/32')], [remote.ID!, isolate('10.0.0.1/32')]])), 1);
  t.deepEqual(b.skipped.sort(), [`not-managed ${remote.ID!}`, `not-managed ${stray.ID!}`].sort());
  t.deepEqual(await policiesOf(b, stray.ID!), before.stray);
  t.deepEqual(await policiesOf(b, remote.ID!), before.remote);
});

test('an endpoint the CNI deleted meanwhile is reported gone, not retried forever', async (t) => {
  const b = await bed(t);
  await b.host.hns.deleteEndpoint(b.db.ID!);
  t.is(await converge(t, b, new Map([[b.db.ID!, isolate('10.244.1.5/32')]])), 0);
  t.deepEqual(b.skipped, [`gone ${b.db.ID!}`]);
});

test('normalisation equates only what HNS reads the same', (t) => {
  const base: AclPolicySetting = { Id: `${PREFIX}x`, Action: 'Allow', Direction: 'In', Priority: 1000, RemoteAddresses: '10.0.0.1,10.0.0.2', LocalPorts: '80,443' };
  t.is(canonicalAcl(base), canonicalAcl({ ...base, RemoteAddresses: '10.0.0.2, 10.0.0.1', LocalPorts: '443,80' }));
  t.is(canonicalAcl({ ...base, Protocols: '256' }), canonicalAcl(base));
  t.is(canonicalAcl({ ...base, LocalAddresses: '' }), canonicalAcl(base));
  t.not(canonicalAcl({ ...base, RemoteAddresses: '10.0.0.1' }), canonicalAcl(base));
  t.not(canonicalAcl({ ...base, Priority: 1001 }), canonicalAcl(base));
  t.not(canonicalAcl({ ...base, RuleType: 'Switch' }), canonicalAcl(base), 'an omitted RuleType is not assumed to be Switch');
  t.not(canonicalAcl({ ...base, Protocols: '6' }), canonicalAcl(base));
  t.false(sameAclSet([base, base], [base]));
});

test('the compiler\'s lists on CNI endpoints: the flows match the policies, a label change rewrites only the endpoints it affects, a restart nothing', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  const pods = [pod('shop', 'web', '10.244.1.5', { app: 'web' }), pod('shop', 'db', '10.244.1.6', { app: 'db' }), pod('shop', 'batch', '10.244.1.7', { app: 'batch' })];
  for (const p of pods) await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: p.ips[0]!, name: p.name, ...CIDRS }));
  // From the Kubernetes documentation: deny all ingress in the namespace, then allow web -> db on 80.
  const state = stateOf({
    nodeIps: ['192.168.1.10'],
    pods,
    policies: [
      netpol('shop', 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
      netpol('shop', 'db-from-web', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 80 }] }] }),
    ],
  });
  const b: Bed = { host, network, web: {} as HostComputeEndpoint, db: {} as HostComputeEndpoint, managed: new Set(), foreign: new Map(), skipped: [] };
  const desiredNow = (): Map<string, AclPolicySetting[]> => {
    const local = matchLocalEndpoints({ endpoints: endpointsNow, networkId: network.ID!, pods: [...state.localPods()].map((key) => ({ key, ips: pods.find((p) => `${p.namespace}/${p.name}` === key)!.ips, hostNetwork: false })) });
    b.managed = new Set(local.byPod.values());
    return new Map([...local.byPod].map(([key, id]) => [id, [...state.compile(key)!.acls]]));
  };
  let endpointsNow = await host.hns.listEndpoints();
  const cold = desiredNow();
  t.is(cold.size, 3);
  t.is(await converge(t, b, cold), 3, 'one write per isolated pod');
  const flows = async (): Promise<Record<string, boolean>> => {
    await host.flush();
    const m = flowMatrix(await readHostFile(host.stateFile), network, 6, 80);
    const ip = (id: string): string => (id === 'node' ? 'node' : m.endpoints.find((e) => e.id === id)!.ip);
    return Object.fromEntries(m.flows.map((f) => [`${ip(f.from)}>${ip(f.to)}`, f.allowed]));
  };
  t.deepEqual(await flows(), {
    'node>10.244.1.5': true, '10.244.1.6>10.244.1.5': false, '10.244.1.7>10.244.1.5': false,
    'node>10.244.1.6': true, '10.244.1.5>10.244.1.6': true, '10.244.1.7>10.244.1.6': false,
    'node>10.244.1.7': true, '10.244.1.5>10.244.1.7': false, '10.244.1.6>10.244.1.7': false,
  });
  t.true((await host.hns.listEndpoints()).every((e) => e.Policies?.[0]?.Type === 'OutBoundNAT'), 'the CNI\'s OutBoundNAT survives');
  // batch becomes a web pod: only the endpoints whose compiled list changes are written, each once.
  const changed = state.applyPod({ type: 'upsert', view: { ...pods[2]!, labels: { app: 'web' } } });
  endpointsNow = await host.hns.listEndpoints();
  const after = desiredNow();
  const differing = [...after].filter(([id, acls]) => !sameAclSet(acls, cold.get(id)!)).length;
  t.true(changed.size >= 1);
  t.is(differing, 1, 'db now also allows batch; web and batch themselves compile the same');
  t.is(await converge(t, b, after), differing);
  t.true((await flows())['10.244.1.7>10.244.1.6']);
  t.is(await converge(t, b, after), 0, 'a restart with nothing changed writes nothing');
});

test('matches compares rules, whatever was compared before with the same objects', async (t) => {
  const b = await bed(t);
  const kind = kindFor(b);
  const base: AclPolicySetting = { Id: `${PREFIX}x`, Action: 'Allow', Direction: 'In', Priority: 1000, RemoteAddresses: '10.0.0.1,10.0.0.2', LocalPorts: '80,443' };
  const desired = [base];
  const same = { ours: [{ ...base, RemoteAddresses: '10.0.0.2,10.0.0.1' }], foreign: [] };
  const other = { ours: [{ ...base, RemoteAddresses: '10.0.0.1' }], foreign: [] };
  for (let round = 0; round < 2; round++) {
    t.true(kind.matches(desired, same), `round ${round}`);
    t.false(kind.matches(desired, other), `round ${round}`);
    t.false(kind.matches(desired, { ours: [...same.ours, ...other.ours], foreign: [] }), `round ${round}: one rule more`);
  }
  // A list read anew from HNS holds new objects: they are compared by content, not by identity.
  t.true(kind.matches([{ ...base }], { ours: [{ ...base, LocalPorts: '443,80' }], foreign: [] }));
});
