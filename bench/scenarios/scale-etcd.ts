/**
 * etcd mode at 5,000 and 20,000 peers (vxlan, simulated host):
 *
 * - the daemon as a child process with the V8 options the DaemonSet ships (read from the
 *   manifest): time to ready, peak RSS, idle CPU, and a forced relist (the watch cut off while
 *   etcd compacts past it) with its time and RSS growth; it must not crash;
 * - the simulator alone, with the same options and as many policies, so its share of the
 *   daemon's memory is known;
 * - the daemon in-process: the longest event-loop stall while it resyncs every second, etcd
 *   write → HNS call p99 at 100 and 1,000 changes/s (resyncs running meanwhile, no injected HNS
 *   latency), and CPU per lease event from 50 to 20,000 peers with the simulator's share apart.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { openSimHost } from '../../src/sim/sim-host.js';
import { readHostFile, remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { DaemonProcess } from '../../test/support/daemon-process.js';
import { startEtcd, startTcpProxy } from '../../test/support/etcd-server.js';
import { freePort } from '../../test/support/free-port.js';
import { waitFor } from '../../test/support/wait.js';
import type { Report } from '../run.js';
import { BenchCluster, benchPeer, type BenchPeer } from '../support/bench-cluster.js';
import { startInProcessDaemon } from '../support/in-process-daemon.js';
import { ChildProbe } from '../support/child-probe.js';
import { percentile, processPeakRssMiB } from '../support/proc-stats.js';
import { shippedNodeOptions } from '../support/shipped-node-options.js';

const CHILD_SIZES = [5000, 20000];
const CPU_SIZES = [50, 5000, 20000];
const CPU_BURST = 500;
const RATES = [100, 1000];
const RATE_SECONDS = 3;
const IDLE_SECONDS = 5;
const SIM_ALONE = fileURLToPath(new URL('../support/sim-host-alone.js', import.meta.url));

/** Peers in etcd: first `n` from index 0; each later step uses indices from its own base. */
const peers = (from: number, count: number): BenchPeer[] => Array.from({ length: count }, (_, i) => benchPeer(from + i));

async function programmed(file: string): Promise<Set<string>> {
  return new Set(remoteSubnetRoutes(await readHostFile(file), 'flannel.4096').map((r) => r.DestinationPrefix));
}

async function childRun(n: number, endpoint: string, dir: string, nodeOptions: string, report: Report): Promise<number> {
  const cluster = new BenchCluster(endpoint, `/scale-child-${n}-${Date.now()}/network`);
  const proxy = await startTcpProxy(endpoint);
  const hostFile = join(dir, `host-child-${n}.json`);
  const port = await freePort();
  let daemon: DaemonProcess | undefined;
  try {
    const host = await openSimHost({ stateFile: hostFile, publicIp: '192.168.1.10' });
    await host.close();
    await cluster.writeConfig();
    await cluster.putPeers(peers(0, n));
    const started = performance.now();
    daemon = DaemonProcess.start(
      [
        `--etcd-endpoints=${proxy.endpoint}`,
        `--etcd-prefix=${cluster.prefix}`,
        '--dataplane=sim',
        `--sim-state=${hostFile}`,
        `--subnet-file=${join(dir, `subnet-${n}.env`)}`,
        '--public-ip=192.168.1.10',
        '--healthz-ip=127.0.0.1',
        `--healthz-port=${port}`,
        '--resync-interval=3600',
        '--log-level=warn',
      ],
      { NODE_OPTIONS: nodeOptions },
    );
    const probe = new ChildProbe(daemon, `etcd, ${n} peers, ${nodeOptions}`);
    await probe.until('ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200);
    report(`child.time_to_ready.${n}`, performance.now() - started, 'ms');
    await probe.until('every peer programmed', async () => (await programmed(hostFile)).size >= n);
    await sleep(2000);
    report(`child.idle_cpu.${n}`, await probe.idleCpuMsPerSecond(IDLE_SECONDS), 'ms/s');

    // A forced relist: the watch is cut off, etcd compacts past it, then the daemon reconnects,
    // finds its revision gone and lists again. The peer written meanwhile proves it caught up.
    proxy.cut();
    const joiner = benchPeer(n + 10);
    await cluster.putPeers([joiner]);
    const etcd = new Etcd3({ hosts: endpoint });
    const revision = (await etcd.get('x').exec()).header.revision;
    await etcd.kv.compact({ revision, physical: true });
    etcd.close();
    const resumed = performance.now();
    const growth = await probe.rssGrowthDuring(async () => {
      proxy.resume();
      await probe.until('the peer written during the cut, after the relist', async () => (await programmed(hostFile)).has(joiner.subnet));
    });
    report(`child.relist_time.${n}`, performance.now() - resumed, 'ms', 'incl. reconnect back-off');
    report(`child.relist_rss_growth.${n}`, growth, 'MiB');
    const peak = await processPeakRssMiB(probe.pid);
    report(`child.peak_rss_shipped_options.${n}`, peak, 'MiB', n === 5000 ? `<= 100 (${nodeOptions})` : `no crash (${nodeOptions})`);
    report(`child.alive_after_relist.${n}`, probe.alive ? 1 : 0, 'bool', '1');
    return peak;
  } finally {
    await daemon?.stop();
    await proxy.close();
    cluster.close();
  }
}

async function simAlone(n: number, dir: string, nodeOptions: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [SIM_ALONE, join(dir, `sim-alone-${n}.json`), String(n)], {
    env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions },
  });
  return Number(stdout.trim());
}

/** Puts `count` new peers at `perSecond`, each timed from its put to its first HNS Add. */
async function paced(cluster: BenchCluster, seen: Map<string, number>, from: number, perSecond: number, seconds: number): Promise<number[]> {
  const total = perSecond * seconds;
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
  const issued = new Map<string, number>();
  const writes: Promise<void>[] = [];
  const start = performance.now();
  for (let k = 0; k < total; k += perTick) {
    const due = start + (k / perSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    for (const peer of peers(from + k, Math.min(perTick, total - k))) {
      issued.set(peer.subnet, performance.now());
      writes.push(cluster.putPeers([peer]));
    }
  }
  await Promise.all(writes);
  await waitFor(() => [...issued.keys()].every((s) => seen.has(s)), { timeoutMs: 60_000, intervalMs: 20, what: `${total} paced peers to reach HNS` });
  return [...issued].map(([subnet, at]) => seen.get(subnet)! - at).sort((a, b) => a - b);
}

async function inProcess(report: Report, endpoint: string, dir: string): Promise<void> {
  const cpuPerEvent = new Map<number, number>();
  for (const n of CPU_SIZES) {
    const cluster = new BenchCluster(endpoint, `/scale-inproc-${n}-${Date.now()}/network`);
    try {
      await cluster.writeConfig();
      await cluster.putPeers(peers(0, n));
      // CPU per lease event, no resync: a warm-up burst, then a measured one. Time spent inside
      // the simulated HNS calls is the simulator's, reported apart.
      const d = await startInProcessDaemon({ endpoint, prefix: cluster.prefix, dir, latencyMs: 0, n });
      try {
        const warm = peers(30_000, CPU_BURST);
        await cluster.putPeers(warm);
        await waitFor(() => warm.every((p) => d.seen.has(p.subnet)), { timeoutMs: 60_000, intervalMs: 5, what: 'warm-up burst' });
        const burst = peers(31_000, CPU_BURST);
        const callsBefore = d.calls.length;
        const cpu0 = process.cpuUsage();
        await cluster.putPeers(burst);
        await waitFor(() => burst.every((p) => d.seen.has(p.subnet)), { timeoutMs: 60_000, intervalMs: 5, what: 'burst' });
        const cpu = process.cpuUsage(cpu0);
        const simUs = d.calls.slice(callsBefore).reduce((sum, c) => sum + (c.end - c.start) * 1000, 0);
        const total = (cpu.user + cpu.system) / CPU_BURST;
        cpuPerEvent.set(n, total - simUs / CPU_BURST);
        report(`inproc.cpu_per_lease_event.${n}`, cpuPerEvent.get(n)!, 'µs/event', 'flat from 50 to 20000 (simulator excluded)');
        report(`inproc.sim_time_per_lease_event.${n}`, simUs / CPU_BURST, 'µs/event');
      } finally {
        await d.stop();
      }
      if (n < 5000) continue;

      // Resync every second while idle and while changes stream in.
      const r = await startInProcessDaemon({ endpoint, prefix: cluster.prefix, dir, latencyMs: 0, n: n + 1, resyncIntervalMs: 1000 });
      try {
        report(`inproc.time_to_ready.${n}`, r.startupMs, 'ms');
        const histogram = monitorEventLoopDelay({ resolution: 1 });
        histogram.enable();
        await sleep(3500);
        histogram.disable();
        report(`inproc.resync_longest_stall.${n}`, histogram.max / 1e6, 'ms', '< 10 (3 resyncs, incl. the simulator\'s listing)');
        let from = 40_000;
        for (const rate of RATES) {
          const latencies = await paced(cluster, r.seen, from, rate, RATE_SECONDS);
          from += rate * RATE_SECONDS;
          report(`inproc.etcd_write_to_hns_call_p99.${rate}_per_s.${n}`, percentile(latencies, 99), 'ms', rate === 1000 ? '< 20' : undefined);
        }
      } finally {
        await r.stop();
      }
    } finally {
      cluster.close();
    }
  }
  report('inproc.cpu_per_lease_event.ratio_20000_vs_50', cpuPerEvent.get(20000)! / cpuPerEvent.get(50)!, 'x', '~1 (flat)');
}

export default async function run(report: Report): Promise<void> {
  const etcd = await startEtcd();
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bench-scale-'));
  const nodeOptions = await shippedNodeOptions();
  try {
    await writeFile(join(dir, '.keep'), '');
    // The simulator runs inside the daemon's process: measured alone with the same options, an
    // empty host gives Node's own floor and a full one the simulator's share of the peak.
    const simFloor = await simAlone(0, dir, nodeOptions);
    report('sim_alone.peak_rss.0', simFloor, 'MiB', 'Node + simulator, empty host');
    for (const n of CHILD_SIZES) {
      const peak = await childRun(n, etcd.endpoint, dir, nodeOptions, report);
      const sim = await simAlone(n, dir, nodeOptions);
      report(`sim_alone.peak_rss.${n}`, sim, 'MiB', 'the simulator alone with as many policies');
      report(`child.peak_rss_without_simulator.${n}`, peak - (sim - simFloor), 'MiB', n === 5000 ? '<= 100' : undefined);
    }
    await inProcess(report, etcd.endpoint, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await etcd.stop();
  }
}
