import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import test from 'ava';
import { FlannelWinError } from '../../src/errors.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { SIM_STATE_VERSION } from '../../src/sim/state-file.js';
import { waitFor } from '../support/wait.js';
import { openTestHost, overlayNetwork, policyRequest, readState, remoteEndpoint, remoteSubnetRoute, tempStateFile } from './sim-fixture.js';

test('a new host writes its file at once: version, the uplink interface, zero counters', async (t) => {
  const host = await openTestHost(t, { publicIp: '10.0.0.4' });
  const state = await readState(host.stateFile);
  t.is(state.version, SIM_STATE_VERSION);
  t.deepEqual(state.networks, []);
  t.deepEqual(state.interfaces.map((i) => [i.name, i.ipv4Addresses]), [['Ethernet', ['10.0.0.4']]]);
  t.is(state.counters['writes'], 0);
  t.true((await readFile(host.stateFile, 'utf8')).includes('\n  "networks"'), 'indented for operators');
});

test('a restarted simulator finds networks, endpoints, routes, interfaces and counters', async (t) => {
  const stateFile = await tempStateFile(t);
  const first = await openSimHost({ stateFile });
  const network = await first.hns.createNetwork(overlayNetwork());
  await first.hns.modifyNetwork(network.ID!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24')]));
  const endpoint = await first.hns.createEndpoint(network.ID!, remoteEndpoint(network.ID!, '10.244.2.5'));
  const index = (await first.routes.listInterfaces())[0]!.index;
  await first.routes.addRoute({ destination: '10.244.3.0/24', nextHop: '192.168.1.13', interfaceIndex: index, metric: 0, protocol: 3 });
  const countersBefore = first.counters();
  await first.close();

  const second = await openSimHost({ stateFile });
  t.teardown(() => second.close());
  t.deepEqual(await second.hns.getNetwork(network.ID!), { ...network, Policies: [...network.Policies!, remoteSubnetRoute('10.244.2.0/24')] });
  t.deepEqual(await second.hns.getEndpoint(endpoint.ID!), endpoint);
  t.is((await second.routes.listRoutes('ipv4')).find((r) => r.destination === '10.244.3.0/24')?.interfaceIndex, index);
  t.is((await second.routes.listInterfaces())[0]?.name, 'vEthernet (Ethernet)');
  t.is(second.counters()['writes'], countersBefore['writes']);
  t.is(second.counters()['createNetwork'], 1);
  // The restored indexes work: the same name and the same IP are still taken.
  await t.throwsAsync(second.hns.createNetwork(overlayNetwork()));
  await t.throwsAsync(second.hns.createEndpoint(network.ID!, remoteEndpoint(network.ID!, '10.244.2.5')));
});

test('close() writes pending changes even when the debounce delay is long', async (t) => {
  const stateFile = await tempStateFile(t);
  const host = await openSimHost({ stateFile, flushDelayMs: 60_000 });
  await host.hns.createNetwork(overlayNetwork());
  t.deepEqual((await readState(stateFile)).networks, []);
  await host.close();
  t.is((await readState(stateFile)).networks.length, 1);
});

test('a burst of calls costs a handful of file writes, written atomically', async (t) => {
  // The delay is long against 200 in-memory calls even on a loaded machine, so the count
  // measures the batching, not the machine's speed.
  const host = await openTestHost(t, { flushDelayMs: 2_000 });
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  for (let i = 0; i < 200; i++) await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute(`10.${100 + (i >> 8)}.${i & 255}.0/24`)]));
  await waitFor(async () => (await readState(host.stateFile)).networks[0]?.Policies?.length === 203, { what: 'debounced write', timeoutMs: 30_000 });
  t.true(host.fileStats().writes <= 10, `expected few writes, got ${host.fileStats().writes}`);
  t.is((await readState(host.stateFile)).counters['modifyNetwork'], 200);
  t.deepEqual((await readdir(dirname(host.stateFile))).filter((f) => f.endsWith('.tmp')), []);
});

test('an external edit of the file is seen at the next call', async (t) => {
  const host = await openTestHost(t);
  const { ID: id } = await host.hns.createNetwork(overlayNetwork());
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.2.0/24'), remoteSubnetRoute('10.244.3.0/24', '192.168.1.13')]));
  await host.flush();
  // Someone deletes a route policy behind the simulator's back (drift).
  const state = await readState(host.stateFile);
  state.networks[0]!.Policies = state.networks[0]!.Policies!.filter((p) => (p.Settings as { DestinationPrefix?: string }).DestinationPrefix !== '10.244.3.0/24');
  state.networks[0]!.Name = 'renamed';
  await writeFile(host.stateFile, JSON.stringify(state, null, 2));
  const seen = await host.hns.getNetwork(id!);
  t.is(seen.Name, 'renamed');
  t.deepEqual(seen.Policies?.filter((p) => p.Type === 'RemoteSubnetRoute'), [remoteSubnetRoute('10.244.2.0/24')]);
  t.is(host.fileStats().reloads, 1);
  // The name index follows the edit.
  t.is(await host.hns.getNetworkByName('flannel.4096'), undefined);
  // And the simulator keeps working on the edited state, persisting its next change over it.
  await host.hns.modifyNetwork(id!, policyRequest('Add', [remoteSubnetRoute('10.244.3.0/24', '192.168.1.13')]));
  await host.flush();
  const after = await readState(host.stateFile);
  t.is(after.networks[0]?.Name, 'renamed');
  t.is(after.networks[0]?.Policies?.filter((p) => p.Type === 'RemoteSubnetRoute').length, 2);
});

test('an in-place edit of the same size is still noticed', async (t) => {
  const host = await openTestHost(t);
  const index = (await host.routes.listInterfaces())[0]!.index;
  await host.routes.addRoute({ destination: '10.244.2.0/24', nextHop: '192.168.1.12', interfaceIndex: index, metric: 0, protocol: 3 });
  await host.flush();
  const text = await readFile(host.stateFile, 'utf8');
  await writeFile(host.stateFile, text.replace('10.244.2.0/24', '10.244.7.0/24'));
  t.deepEqual((await host.routes.listRoutes('ipv4')).map((r) => r.destination).filter((d) => d.startsWith('10.244.')), ['10.244.7.0/24']);
});

test('an unreadable edit is ignored and the last good state keeps being served', async (t) => {
  const host = await openTestHost(t);
  await host.hns.createNetwork(overlayNetwork());
  await host.flush();
  await writeFile(host.stateFile, '{ "version": 1, "networks": [');
  t.is((await host.hns.listNetworks()).length, 1);
  t.is(host.fileStats().reloads, 0);
});

test('a file of another version is refused on open', async (t) => {
  const stateFile = await tempStateFile(t);
  await writeFile(stateFile, JSON.stringify({ version: 99 }));
  const err = await t.throwsAsync(openSimHost({ stateFile }), { instanceOf: FlannelWinError });
  t.is(err?.code, 'SIM_STATE_INVALID');
});

test('a file whose metadata changed but whose content is our own last write is not mistaken for an edit', async (t) => {
  const host = await openTestHost(t, { flushDelayMs: 60_000 });
  const index = (await host.routes.listInterfaces())[0]!.index;
  await host.routes.addRoute({ destination: '10.244.2.0/24', nextHop: '192.168.1.12', interfaceIndex: index, metric: 0, protocol: 3 });
  await host.flush();
  // An unsaved change, then the file's metadata changes while its bytes stay our last write.
  await host.routes.addRoute({ destination: '10.244.3.0/24', nextHop: '192.168.1.13', interfaceIndex: index, metric: 0, protocol: 3 });
  await writeFile(host.stateFile, await readFile(host.stateFile, 'utf8'));
  // The next call sees a new fingerprint; the content is ours, so the unsaved route survives.
  const destinations = (await host.routes.listRoutes('ipv4')).map((r) => r.destination);
  t.true(destinations.includes('10.244.3.0/24'));
  await host.flush();
  t.true((await readState(host.stateFile)).routes.some((r) => r.destination === '10.244.3.0/24'), 'and it reaches the file');
});
