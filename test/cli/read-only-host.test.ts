import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOnlyHost } from '../../src/cli/read-only-dataplane.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { readSimHostSnapshot } from '../../src/sim/sim-host-snapshot.js';

test('the read-only views answer reads and refuse every write before it reaches the host', async (t) => {
  const file = join(await mkdtemp(join(tmpdir(), 'flannel-win-ro-')), 'host.json');
  const sim = await openSimHost({ stateFile: file });
  const guarded = readOnlyHost(sim.hns, sim.routes);
  t.deepEqual(await guarded.hns.listNetworks(), []);
  t.true((await guarded.routes.listInterfaces()).length > 0);
  await t.throwsAsync(() => guarded.hns.createNetwork({ Name: 'x', Type: 'Overlay' } as never), { message: /createNetwork refused/ });
  await t.throwsAsync(() => guarded.routes.addRoute({ destination: '10.0.0.0/8', nextHop: '1.2.3.4', interfaceIndex: 1 } as never), { message: /addRoute refused/ });
  await sim.close();
  t.is(sim.counters()['writes'] ?? 0, 0, 'nothing reached the simulator');

  const text = await readFile(file, 'utf8');
  const snapshot = await readSimHostSnapshot(file);
  t.true((await snapshot.routes.listRoutes('ipv4')).length > 0);
  await t.throwsAsync(() => snapshot.hns.modifyNetwork('id', {} as never), { message: /modifyNetwork refused/ });
  t.is(await readFile(file, 'utf8'), text, 'the snapshot leaves the file as it was');
});
