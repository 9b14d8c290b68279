import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Controller, ControllerContext } from '../../src/daemon/controller.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { LocalSubnetManager } from '../../src/lease/local/local-subnet-manager.js';
import { silentLogger } from '../../src/log.js';
import { TokenBucket } from '../../src/reconcile/token-bucket.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { waitFor } from '../support/wait.js';

/** A controller whose convergence the test decides. */
function gatedController(seen: { ctx?: ControllerContext }) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let converged = false;
  const factory = (ctx: ControllerContext): Controller => {
    seen.ctx = ctx;
    return {
      name: 'gated',
      async run(signal) {
        await Promise.race([gate, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
        if (signal.aborted) return;
        converged = true;
        ctx.metrics.controllerConverged.set({ controller: 'gated' }, 1);
        ctx.onConverged();
      },
      convergedOnce: () => converged,
      resync: async () => undefined,
      settled: async () => undefined,
      status: () => ({ converged }),
      drain: async () => undefined,
    };
  };
  return { factory, open: () => open() };
}

test('readiness waits for every controller and then for the converged tasks; /status and metrics list each controller', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daemon-controllers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = silentLogger();
  const host = await openSimHost({ stateFile: join(dir, 'host.json'), publicIp: '192.168.1.10' });
  t.teardown(() => host.close());
  const seen: { ctx?: ControllerContext } = {};
  const gated = gatedController(seen);
  const taskRuns: boolean[] = [];
  const metrics = new DaemonMetrics({ processMetrics: false });
  const daemon = new Daemon({
    options: { subnetFile: join(dir, 'subnet.env'), ipMasq: false, iface: [], ifaceRegex: [], publicIp: '192.168.1.10', resyncIntervalMs: 3_600_000, backendTimings: { pollMs: 5 } },
    log,
    hns: host.hns,
    routes: host.routes,
    subnetManager: new LocalSubnetManager({ path: join(dir, 'leases.json'), log, pollMs: 20 }),
    metrics,
    controllers: [gated.factory],
    convergedTasks: [{ name: 'write the CNI config', run: async () => void taskRuns.push(daemon.ready()) }],
  });
  const stop = new AbortController();
  const running = daemon.run(stop.signal);
  t.teardown(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });

  const status = () => daemon.status() as { controllers: Record<string, { converged: boolean }> };
  await waitFor(() => status().controllers['peers']?.converged, { what: 'the peer controller to converge' });
  t.false(daemon.ready(), 'one controller still converging keeps the node unready');
  t.deepEqual(taskRuns, [], 'the converged tasks wait for every controller');
  t.true(seen.ctx?.hnsWriteLimit instanceof TokenBucket, 'controllers get the shared HNS write limit');

  gated.open();
  await waitFor(() => daemon.ready(), { what: 'ready once every controller converged and the tasks ran' });
  t.deepEqual(taskRuns, [false], 'the task ran once, before readiness was reported');
  t.deepEqual(Object.keys(status().controllers), ['peers', 'gated']);
  const text = await metrics.registry.metrics();
  t.regex(text, /^flannel_win_controller_converged\{controller="peers"\} 1$/m);
  t.regex(text, /^flannel_win_controller_converged\{controller="gated"\} 1$/m);
  t.regex(text, /^flannel_win_ready 1$/m);
});
