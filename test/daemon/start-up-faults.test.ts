import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, DaemonStartError } from '../../src/daemon/daemon.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { HCN_E } from '../../src/hns/client.js';
import { LocalSubnetManager } from '../../src/lease/local/local-subnet-manager.js';
import { createLogger } from '../../src/log.js';
import type { SimFaults } from '../../src/sim/fault-plan.js';
import { seededRandom } from '../../src/sim/seeded-random.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { waitFor } from '../support/wait.js';

interface Logged {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * The daemon on a simulated host whose first calls fail as injected, with the local lease file;
 * start-up must ride out the transient failures and become ready. Returns the daemon's log.
 */
async function startWithFaults(faults: SimFaults, extra: { iface?: string[] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-start-faults-'));
  const logs: Logged[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Logged) } });
  const host = await openSimHost({ stateFile: join(dir, 'host.json'), publicIp: '192.168.1.10', faults, random: seededRandom(7), log });
  const daemon = new Daemon({
    options: { subnetFile: join(dir, 'subnet.env'), ipMasq: false, iface: extra.iface ?? [], ifaceRegex: [], publicIp: '192.168.1.10', resyncIntervalMs: 3_600_000, backendTimings: { pollMs: 5 } },
    log,
    hns: host.hns,
    routes: host.routes,
    subnetManager: new LocalSubnetManager({ path: join(dir, 'leases.json'), log }),
    metrics: new DaemonMetrics({ processMetrics: false }),
  });
  const controller = new AbortController();
  const running = daemon.run(controller.signal);
  running.catch(() => undefined);
  const stop = async () => {
    controller.abort();
    await running.catch(() => undefined);
    await host.close();
  };
  return { daemon, running, host, logs, dir, stop };
}

/** Waits for readiness; a start-up that gives up instead fails the test at once with its error. */
function untilReady(run: Awaited<ReturnType<typeof startWithFaults>>, what: string): Promise<unknown> {
  return Promise.race([
    waitFor(() => run.daemon.ready(), { timeoutMs: 60_000, what }),
    run.running.then(() => Promise.reject(new Error(`the daemon stopped before ${what}`))),
  ]);
}

const retried = (logs: readonly Logged[]) => logs.filter((l) => l.msg === 'list the host interfaces and routes failed; retrying');

for (const operation of ['listInterfaces', 'listRoutes'] as const) {
  test(`a failed ${operation} at start-up is retried and the daemon becomes ready`, async (t) => {
    const run = await startWithFaults({ failNext: { count: 1, hresult: HCN_E.MANAGER_STOPPED, operations: [operation] } });
    t.teardown(run.stop);
    await untilReady(run, 'readiness after the failed listing');
    t.is(run.host.counters()['faults'], 1, 'the injected fault fired');
    t.is(retried(run.logs).length, 1, 'one retry, with a warning');
    t.regex(await readFile(join(run.dir, 'subnet.env'), 'utf8'), /FLANNEL_SUBNET=10\.244\.\d+\.1\/24/);
  });
}

test('several failed start-up reads in a row (interfaces, routes, HNS) are all ridden out', async (t) => {
  const run = await startWithFaults({ failNext: { count: 4, hresult: HCN_E.MANAGER_STOPPED, operations: ['listInterfaces', 'listRoutes', 'getNetworkByName'] } });
  t.teardown(run.stop);
  await untilReady(run, 'readiness after four failed reads');
  t.is(run.host.counters()['faults'], 4);
  t.true(retried(run.logs).length >= 1);
});

test('a 30 % fault rate on the start-up reads (interfaces, routes, the network by name) still ends ready', async (t) => {
  const run = await startWithFaults({ failPercent: { percent: 30, operations: ['listInterfaces', 'listRoutes', 'getNetworkByName'] } });
  t.teardown(run.stop);
  await untilReady(run, 'readiness at a 30 % read fault rate');
  t.true(run.host.counters()['faults']! >= 1, 'faults fired');
});

test('no matching interface once the host answered is permanent: start-up fails at once', async (t) => {
  const run = await startWithFaults({}, { iface: ['NoSuchAdapter'] });
  t.teardown(run.stop);
  const err = await t.throwsAsync(run.running, { instanceOf: DaemonStartError });
  t.regex(err?.message ?? '', /no interface is named "NoSuchAdapter"/);
  t.is(retried(run.logs).length, 0, 'not retried');
});
