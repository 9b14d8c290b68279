/**
 * The daemon as operators run it (a child process on the simulated host, real etcd), at 50,
 * 500 and 5,000 Linux peers: dataplane writes for a cold start, a restart, one peer joining,
 * changing and leaving, a full round of lease renewals; daemon CPU per lease event; peak RSS.
 * Shared by the vxlan and host-gw scenarios; only what "programmed" means differs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSimHost } from '../../src/sim/sim-host.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { readHostFile, remoteSubnetRoutes, writeCount } from '../../src/sim/state-view.js';
import { formatSimState } from '../../src/sim/state-file.js';
import { writeFile } from 'node:fs/promises';
import { DaemonProcess } from '../../test/support/daemon-process.js';
import { startEtcd } from '../../test/support/etcd-server.js';
import { freePort } from '../../test/support/free-port.js';
import { waitFor } from '../../test/support/wait.js';
import type { Report } from '../run.js';
import { BenchCluster, benchPeer, type BenchBackend, type BenchPeer } from './bench-cluster.js';
import { processCpuMs, processPeakRssMiB } from './proc-stats.js';
import { shippedNodeFlags } from './shipped-node-flags.js';

const SIZES = [50, 500, 5000];
const CPU_EVENTS = 500;

/** What the host holds for each peer: destination → the detail a change alters. */
function programmed(backend: BenchBackend, state: SimStateDocument): Map<string, string> {
  if (backend === 'vxlan') {
    return new Map(remoteSubnetRoutes(state, 'flannel.4096').map((r) => [r.DestinationPrefix, r.DistributedRouterMacAddress.toLowerCase().replaceAll('-', ':')]));
  }
  return new Map(state.routes.filter((r) => r.destination.startsWith('10.')).map((r) => [r.destination, r.nextHop]));
}

/** The change a peer makes: vxlan re-creates its device (new MAC), host-gw moves to another IP. */
function changed(backend: BenchBackend, peer: BenchPeer): { peer: BenchPeer; detail: string } {
  if (backend === 'vxlan') return { peer: { ...peer, vtepMac: '52:ff:00:00:00:01' }, detail: '52:ff:00:00:00:01' };
  return { peer: { ...peer, publicIp: '192.168.250.250' }, detail: '192.168.250.250' };
}

/** host-gw peers must be on our L2 segment: give the simulated uplink a /16 before the daemon starts. */
async function prepareHost(backend: BenchBackend, file: string): Promise<void> {
  const host = await openSimHost({ stateFile: file, publicIp: '192.168.1.10' });
  await host.close();
  if (backend !== 'host-gw') return;
  const state = await readHostFile(file);
  for (const route of state.routes) if (route.destination === '192.168.1.0/24') route.destination = '192.168.0.0/16';
  await writeFile(file, formatSimState(state));
}

export interface DaemonScenarioOptions {
  backend: BenchBackend;
  coldBound: (n: number) => string;
  changeBound: string;
}

export async function runDaemonScenario(report: Report, options: DaemonScenarioOptions): Promise<void> {
  const etcd = await startEtcd();
  const cpuPerEvent = new Map<number, number>();
  try {
    for (const n of SIZES) cpuPerEvent.set(n, await runSize(n, etcd.endpoint, report, options));
    report('cpu_per_event.ratio_5000_vs_50', cpuPerEvent.get(5000)! / cpuPerEvent.get(50)!, 'x', '~1 (flat)');
  } finally {
    await etcd.stop();
  }
}

async function runSize(n: number, endpoint: string, report: Report, options: DaemonScenarioOptions): Promise<number> {
  const { backend } = options;
  const dir = await mkdtemp(join(tmpdir(), `flannel-win-bench-${backend}-${n}-`));
  const cluster = new BenchCluster(endpoint, `/bench-${backend}-${n}-${Date.now()}/network`, backend);
  const hostFile = join(dir, 'host.json');
  const port = await freePort();
  const args = [
    `--etcd-endpoints=${endpoint}`,
    `--etcd-prefix=${cluster.prefix}`,
    '--dataplane=sim',
    '--sim-with-real-store',
    `--sim-state=${hostFile}`,
    `--subnet-file=${join(dir, 'subnet.env')}`,
    '--public-ip=192.168.1.10',
    '--healthz-ip=127.0.0.1',
    `--healthz-port=${port}`,
    '--resync-interval=3600',
    '--log-level=warn',
  ];
  const peer = (i: number) => benchPeer(i, 0, backend);
  const writes = async () => writeCount(await readHostFile(hostFile));
  const onHost = async () => programmed(backend, await readHostFile(hostFile));
  const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
  const until = (what: string, check: () => Promise<boolean>) => waitFor(check, { timeoutMs: 180_000, intervalMs: 25, what: `${backend} ${n}: ${what}` });
  let daemon: DaemonProcess | undefined;
  try {
    await prepareHost(backend, hostFile);
    await cluster.writeConfig();
    const peers = Array.from({ length: n }, (_, i) => peer(i));
    await cluster.putPeers(peers);

    const base = await writes();
    daemon = DaemonProcess.start(args);
    await until('cold start', ready);
    await until('every peer programmed', async () => (await onHost()).size === n);
    report(`cold_start_writes.${n}`, (await writes()) - base, 'writes', options.coldBound(n));

    const joiner = peer(n + 10);
    let before = await writes();
    await cluster.putPeers([joiner]);
    await until('join', async () => (await onHost()).has(joiner.subnet));
    report(`peer_join_writes.${n}`, (await writes()) - before, 'writes', '1');

    before = await writes();
    const change = changed(backend, joiner);
    await cluster.putPeers([change.peer]);
    await until('change', async () => (await onHost()).get(joiner.subnet) === change.detail);
    report(`peer_change_writes.${n}`, (await writes()) - before, 'writes', options.changeBound);

    before = await writes();
    await cluster.deletePeer(joiner);
    await until('leave', async () => !(await onHost()).has(joiner.subnet));
    report(`peer_leave_writes.${n}`, (await writes()) - before, 'writes', '1');

    // A full renewal round: every peer re-puts the same value under a new etcd lease. A
    // sentinel peer written afterwards proves the daemon has processed the whole round.
    before = await writes();
    await cluster.putPeers(peers, { newLease: true });
    const sentinel = peer(n + 20);
    await cluster.putPeers([sentinel]);
    await until('sentinel after renewals', async () => (await onHost()).has(sentinel.subnet));
    report(`renewal_round_writes.${n}`, (await writes()) - before - 1, 'writes', '0 (flannel: a remove and an add per renewal)');

    // CPU per lease event: a burst of new peers, measured in the daemon process only.
    const burst = Array.from({ length: CPU_EVENTS }, (_, i) => peer(n + 100 + i));
    const cpuBefore = await processCpuMs(daemon.child.pid!);
    await cluster.putPeers(burst);
    await until('burst applied', async () => (await onHost()).size === n + 1 + CPU_EVENTS);
    const perEvent = (((await processCpuMs(daemon.child.pid!)) - cpuBefore) * 1000) / CPU_EVENTS;
    report(`cpu_per_lease_event.${n}`, perEvent, 'µs/event', 'flat from 50 to 5000');
    report(`peak_rss.${n}`, await processPeakRssMiB(daemon.child.pid!), 'MiB', n === 5000 ? '< 100' : undefined);

    await daemon.stop();
    before = await writes();
    daemon = DaemonProcess.start(args);
    await until('restart ready', ready);
    // Stopping flushes the simulator's state file, so every write of the restart is counted.
    await daemon.stop();
    daemon = undefined;
    report(`restart_writes.${n}`, (await writes()) - before, 'writes', '0 (flannel: every peer again)');

    if (n === SIZES.at(-1)) {
      // The same cold start with the V8 options the DaemonSet passes to node.exe: most of the
      // default peak is garbage V8 has not collected yet, not live state.
      const shipped = await shippedNodeFlags();
      const tight = join(dir, 'host-tight.json');
      await prepareHost(backend, tight);
      const tightArgs = args.map((a) => (a.startsWith('--sim-state=') ? `--sim-state=${tight}` : a));
      daemon = DaemonProcess.start(tightArgs, {}, shipped);
      await until('tight-heap cold start', ready);
      await until('tight-heap: every peer programmed', async () => programmed(backend, await readHostFile(tight)).size >= n);
      report(`peak_rss_tight_heap.${n}`, await processPeakRssMiB(daemon.child.pid!), 'MiB', `< 100 (node ${shipped.join(' ')})`);
      await daemon.stop();
      daemon = undefined;
    }
    return perEvent;
  } finally {
    await daemon?.stop();
    cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}
