import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { updateLeaseFile } from '../../src/lease/local/lease-file.js';
import { LocalSubnetManager } from '../../src/lease/local/local-subnet-manager.js';
import { createLogger } from '../../src/log.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { editSimStateFile } from '../../src/sim/state-edit.js';
import { readHostFile, remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { waitFor } from '../support/wait.js';

interface Logged {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const NODE_IP = '192.168.1.10';
const peer = (n: number) => ({ PublicIP: `192.168.1.${20 + n}`, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 4096, VtepMAC: `52:a1:00:00:00:0${n}` } });

// A peer whose route failed while HNS had lost the network waits out its back-off (up to a
// minute on a real node). Once the network is recreated that cause is gone: the peer is retried
// at once and readiness returns only after that attempt, not without the peer.
test('after the network is recreated, a peer that failed while it was gone is retried at once, before readiness returns', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-repair-retry-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const leaseFile = join(dir, 'leases.json');
  await writeFile(leaseFile, JSON.stringify({
    config: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } },
    subnets: { '10.244.1.0-24': peer(1), '10.244.2.0-24': peer(2) },
  }));
  const logs: Logged[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Logged) } });
  const stateFile = join(dir, 'host.json');
  const host = await openSimHost({ stateFile, publicIp: NODE_IP, log });
  const daemon = new Daemon({
    options: {
      subnetFile: join(dir, 'subnet.env'), ipMasq: false, iface: [], ifaceRegex: [], publicIp: NODE_IP, resyncIntervalMs: 3_600_000, backendTimings: { pollMs: 5 },
      // A failed peer waits a minute: only an explicit retry brings it back within the test.
      reconcile: { backoff: { baseMs: 60_000, maxMs: 60_000, jitter: 0 } },
      networkRetry: { initialDelayMs: 20, maxDelayMs: 200 },
    },
    log,
    hns: host.hns,
    routes: host.routes,
    subnetManager: new LocalSubnetManager({ path: leaseFile, log, pollMs: 20 }),
    metrics: new DaemonMetrics({ processMetrics: false }),
  });
  const stop = new AbortController();
  const running = daemon.run(stop.signal);
  t.teardown(async () => {
    stop.abort();
    await running.catch(() => undefined);
    await host.close();
  });
  const routes = async () => {
    await host.flush();
    return remoteSubnetRoutes(await readHostFile(stateFile), 'flannel.4096').map((r) => r.DestinationPrefix).sort();
  };
  await waitFor(() => daemon.ready(), { timeoutMs: 30_000, what: 'readiness at start' });
  t.deepEqual(await routes(), ['10.244.1.0/24', '10.244.2.0/24']);

  // HNS restarts (no network, the vSwitch's adapter back as the NIC), then a new peer arrives:
  // its route is the first call to meet the missing network.
  await editSimStateFile(stateFile, (s) => {
    s.networks = [];
    s.endpoints = [];
    s.interfaces = s.interfaces.map((i) => {
      if (!i.ipv4Addresses.includes(NODE_IP)) return i;
      const { vSwitchFor, ...rest } = i;
      return { ...rest, name: vSwitchFor ?? i.name };
    });
  });
  await updateLeaseFile(leaseFile, (doc) => {
    doc.subnets['10.244.9.0-24'] = peer(9);
  });

  const back = await waitFor(() => logs.find((l) => l.msg === 'HNS network is back and every controller re-applied'), { timeoutMs: 30_000, what: 'the network recreated' });
  t.true(daemon.ready(), 'ready again');
  t.deepEqual(await routes(), ['10.244.1.0/24', '10.244.2.0/24', '10.244.9.0/24'], 'the new peer was programmed before readiness returned');
  const failed = logs.findIndex((l) => l.msg === 'apply failed; retrying after back-off' && l['key'] === '10.244.9.0/24');
  t.true(failed >= 0, 'the new peer failed on the missing network and backed off');
  t.is(logs[failed]!['retryInMs'], 60_000);
  t.true(logs.some((l, i) => i > failed && i < logs.indexOf(back) && l.msg === 'retrying keys now instead of after their back-off'), 'its back-off was cut short by the repair');
});
