import { performance } from 'node:perf_hooks';
import test from 'ava';
import { HCN_E, HnsError } from '../../src/hns/client.js';
import { RouteError, WIN32 } from '../../src/routes/route-table.js';
import { seededRandom } from '../../src/sim/seeded-random.js';
import { openTestHost, overlayNetwork, policyRequest, readState, rejectsWithHresult, remoteSubnetRoute } from './sim-fixture.js';

test('failNext fails exactly the next N calls with the given HRESULT, then calls go through', async (t) => {
  const host = await openTestHost(t, { faults: { failNext: { count: 2, hresult: HCN_E.MANAGER_STOPPED } } });
  const err = await rejectsWithHresult(t, host.hns.createNetwork(overlayNetwork()), HCN_E.MANAGER_STOPPED);
  t.is(err.kind, 'unavailable');
  t.is(err.call, 'HcnCreateNetwork');
  await rejectsWithHresult(t, host.hns.listNetworks(), HCN_E.MANAGER_STOPPED);
  await host.hns.createNetwork(overlayNetwork());
  t.is((await host.hns.listNetworks()).length, 1);
  t.is(host.counters()['faults'], 2);
  t.is(host.counters()['createNetwork'], 2);
});

test('injectFault can target operations and is cleared with {}', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  host.injectFault({ failNext: { count: 1, hresult: 0x80070490, operations: ['modifyNetwork'] } });
  t.is((await host.hns.listNetworks()).length, 1);
  const err = await rejectsWithHresult(t, host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')])), 0x80070490);
  t.is(err.context['injected'], true);
  host.injectFault({ failPercent: 100 });
  await t.throwsAsync(host.hns.listNetworks(), { instanceOf: HnsError });
  host.injectFault({});
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')]));
  t.is((await host.hns.getNetwork(id!)).Policies?.length, 4);
});

test('a failed route call is a RouteError with the Win32 code of a FACILITY_WIN32 HRESULT', async (t) => {
  const host = await openTestHost(t);
  const index = (await host.routes.listInterfaces())[0]!.index;
  host.injectFault({ failNext: { count: 1, hresult: 0x80070005 } });
  const err = await t.throwsAsync(host.routes.addRoute({ destination: '10.244.2.0/24', nextHop: '192.168.1.12', interfaceIndex: index, metric: 0, protocol: 3 }), { instanceOf: RouteError });
  t.is(err?.code, 'ROUTE_ACCESS_DENIED');
  t.is(err?.win32Code, WIN32.ERROR_ACCESS_DENIED);
  t.deepEqual((await host.routes.listRoutes('ipv4')).filter((r) => r.destination === '10.244.2.0/24'), []);
});

test('failPercent fails about that share of calls, the same ones for the same seed', async (t) => {
  const pattern = async (): Promise<boolean[]> => {
    const host = await openTestHost(t, { random: seededRandom(7), faults: { failPercent: 30 } });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 300; i++) outcomes.push(await host.hns.listNetworks().then(() => true, () => false));
    t.is(host.counters()['faults'], outcomes.filter((ok) => !ok).length);
    return outcomes;
  };
  const first = await pattern();
  const failures = first.filter((ok) => !ok).length;
  t.true(failures > 60 && failures < 120, `30% of 300 should fail, got ${failures}`);
  t.deepEqual(await pattern(), first);
});

test('injected latency delays every call by at least latencyMs', async (t) => {
  const host = await openTestHost(t, { latencyMs: 40 });
  const started = performance.now();
  await host.hns.listNetworks();
  t.true(performance.now() - started >= 39, 'the call waited for the latency');
  host.setLatency(0);
  await host.hns.listNetworks();
  t.is(host.counters()['reads'], 2);
});

test('counters count write calls per operation and in total, and reach the state file', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')]));
  await host.hns.modifyNetwork(id!, policyRequest('Remove', [remoteSubnetRoute('10.244.2.0/24')]));
  await host.hns.getNetwork(id!);
  await host.hns.deleteNetwork(id!);
  const counters = host.counters();
  t.like(counters, { createNetwork: 1, modifyNetwork: 2, deleteNetwork: 1, writes: 4, reads: 1, addRoute: 0, faults: 0 });
  await host.flush();
  t.like((await readState(host.stateFile)).counters, { createNetwork: 1, modifyNetwork: 2, deleteNetwork: 1, writes: 4 });
});

test('a closed host refuses calls with MANAGER_STOPPED', async (t) => {
  const host = await openTestHost(t);
  await host.close();
  await rejectsWithHresult(t, host.hns.listNetworks(), HCN_E.MANAGER_STOPPED);
  const err = await t.throwsAsync(host.routes.listInterfaces(), { instanceOf: RouteError });
  t.truthy(err);
});

test('concurrent calls under latency all land, each counted once', async (t) => {
  const host = await openTestHost(t, { latencyMs: 5 });
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  await Promise.all(Array.from({ length: 100 }, (_, i) => host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute(`10.245.${i}.0/24`)]))));
  t.is((await host.hns.getNetwork(id!)).Policies?.filter((p) => p.Type === 'RemoteSubnetRoute').length, 100);
  t.is(host.counters()['modifyNetwork'], 100);
  await host.close();
  t.is((await readState(host.stateFile)).networks[0]?.Policies?.length, 103);
});
