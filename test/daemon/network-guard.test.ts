import test from 'ava';
import type { NetworkInspection, NetworkRepair } from '../../src/backends/backend.js';
import { NetworkGuard } from '../../src/daemon/network-guard.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { HCN_E, HnsError } from '../../src/hns/client.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../support/wait.js';

const OK: NetworkInspection = { networkLost: false, problems: [] };
const LOST: NetworkInspection = { networkLost: true, problems: ['HNS network flannel.4096 is gone'] };
const RECREATED: NetworkRepair = { recreated: true, peersChanged: false, repaired: ['network recreated'] };

function guardWith(script: { inspections: NetworkInspection[]; repairs: Array<NetworkRepair | Error> }) {
  const events: string[] = [];
  const metrics = new DaemonMetrics({ processMetrics: false });
  let guard!: NetworkGuard;
  guard = new NetworkGuard({
    network: {
      inspect: async () => script.inspections.shift() ?? OK,
      repair: async () => {
        events.push(`repair (present=${guard.present()})`);
        const next = script.repairs.shift() ?? new Error('no more repairs scripted');
        if (next instanceof Error) throw next;
        return next;
      },
    },
    log: silentLogger(),
    metrics,
    afterRepair: async (repair) => {
      events.push(`afterRepair ${repair.recreated ? 'recreated' : 'objects'} (present=${guard.present()})`);
    },
    onPresenceChanged: () => events.push(`present=${guard.present()}`),
    retry: { initialDelayMs: 1, maxDelayMs: 2 },
  });
  return { guard, events, metrics };
}

test('a lost network is absent until repaired: repair is retried until it succeeds, then the controllers re-apply, then it is present', async (t) => {
  const { guard, events, metrics } = guardWith({ inspections: [LOST], repairs: [new Error('no such network adapter'), new Error('still none'), RECREATED] });
  await guard.check(new AbortController().signal);
  t.deepEqual(events, [
    'present=false',
    'repair (present=false)',
    'repair (present=false)',
    'repair (present=false)',
    'afterRepair recreated (present=false)',
    'present=true',
  ]);
  t.true(guard.present());
  t.like(guard.status(), { present: true, recreations: 1, repairs: 0 });
  t.regex(await metrics.registry.metrics(), /flannel_win_network_repairs_total\{action="recreated"\} 1/);
});

test('a missing part is repaired once per check without touching presence; a failure waits for the next check', async (t) => {
  const missing: NetworkInspection = { networkLost: false, problems: ['no HostRoute policy'] };
  const { guard, events } = guardWith({ inspections: [missing, missing], repairs: [new Error('HNS said no'), { recreated: false, peersChanged: false, repaired: ['HostRoute policy'] }] });
  const signal = new AbortController().signal;
  await guard.check(signal);
  t.deepEqual(events, ['repair (present=true)']);
  t.like(guard.status(), { repairs: 0, lastError: 'HNS said no' });
  await guard.check(signal);
  t.deepEqual(events, ['repair (present=true)', 'repair (present=true)', 'afterRepair objects (present=true)']);
  t.like(guard.status(), { repairs: 1, present: true });
});

test('only an HNS error saying the network or an endpoint is gone triggers a check', async (t) => {
  const { guard, events } = guardWith({ inspections: [LOST], repairs: [RECREATED] });
  const signal = new AbortController().signal;
  guard.report(new HnsError('HcnModifyNetwork', HCN_E.MANAGER_STOPPED, 'stopped'), signal);
  guard.report(new Error('etcd is down'), signal);
  t.deepEqual(events, []);
  guard.report(new HnsError('HcnModifyNetwork', HCN_E.NETWORK_NOT_FOUND, 'not found'), signal);
  await waitFor(() => events.includes('present=true'), { what: 'the check started by the report' });
  t.is(events[0], 'present=false');
});
