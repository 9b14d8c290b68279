/**
 * etcd mode at 5,000 and 20,000 peers (vxlan, simulated host), the daemon as a child process
 * with the V8 options the DaemonSet ships (read from the manifest): time to ready, peak RSS,
 * idle CPU, and a forced relist (the watch cut off while etcd compacts past it) with its time
 * and RSS growth. A crash ("heap out of memory") is reported as a figure. The simulator runs
 * inside the daemon's process, so it is also measured alone with the same options.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { openSimHost } from '../../src/sim/sim-host.js';
import { readHostFile, remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { DaemonProcess } from '../../test/support/daemon-process.js';
import { startEtcd, startTcpProxy, type TcpProxy } from '../../test/support/etcd-server.js';
import { freePort } from '../../test/support/free-port.js';
import type { Report } from '../run.js';
import { BenchCluster, benchPeer, type BenchPeer } from '../support/bench-cluster.js';
import { ChildProbe } from '../support/child-probe.js';
import { processPeakRssMiB, processRssSplitMiB } from '../support/proc-stats.js';
import { shippedNodeFlags } from '../support/shipped-node-flags.js';

const SIZES = [5000, 20000];
const IDLE_SECONDS = 5;
const SIM_ALONE = fileURLToPath(new URL('../support/sim-host-alone.js', import.meta.url));

/** Peers in etcd: first `n` from index 0; each later step uses indices from its own base. */
const peers = (from: number, count: number): BenchPeer[] => Array.from({ length: count }, (_, i) => benchPeer(from + i));

async function programmed(file: string): Promise<Set<string>> {
  return new Set(remoteSubnetRoutes(await readHostFile(file), 'flannel.4096').map((r) => r.DestinationPrefix));
}

async function childRun(n: number, endpoint: string, dir: string, nodeFlags: string[], report: Report): Promise<number> {
  const nodeOptions = nodeFlags.join(' ');
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
        '--sim-with-real-store',
        `--sim-state=${hostFile}`,
        `--subnet-file=${join(dir, `subnet-${n}.env`)}`,
        '--public-ip=192.168.1.10',
        '--healthz-ip=127.0.0.1',
        `--healthz-port=${port}`,
        '--resync-interval=3600',
        '--log-level=warn',
      ],
      {},
      nodeFlags,
    );
    const probe = new ChildProbe(daemon, `etcd, ${n} peers, ${nodeOptions}`);
    try {
      return await measureChild(n, probe, { started, port, hostFile, proxy, cluster, endpoint, nodeOptions }, report);
    } catch (err) {
      if (probe.alive) throw err;
      report(`child.crashed.${n}`, 1, 'bool', `0 (${nodeOptions}): ${(err as Error).message.split(': ').at(-1)}`);
      return Number.NaN;
    }
  } finally {
    await daemon?.stop();
    await proxy.close();
    cluster.close();
  }
}

interface ChildContext {
  started: number;
  port: number;
  hostFile: string;
  proxy: TcpProxy;
  cluster: BenchCluster;
  endpoint: string;
  nodeOptions: string;
}

async function measureChild(n: number, probe: ChildProbe, c: ChildContext, report: Report): Promise<number> {
  const { started, port, hostFile, proxy, cluster, endpoint, nodeOptions } = c;
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
  const split = await processRssSplitMiB(probe.pid);
  report(`child.rss_file_backed_after_relist.${n}`, split.file, 'MiB', 'of the RSS then: pages mapped from the node executable and libraries (clean, shared)');
  report(`child.rss_anonymous_after_relist.${n}`, split.anon, 'MiB', 'of the RSS then: the process\'s own memory');
  report(`child.alive_after_relist.${n}`, probe.alive ? 1 : 0, 'bool', '1');
  return peak;
}


async function simAlone(n: number, dir: string, nodeFlags: string[]): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, SIM_ALONE, join(dir, `sim-alone-${n}.json`), String(n)], {
    env: { PATH: process.env.PATH },
  });
  return Number(stdout.trim());
}

export default async function run(report: Report): Promise<void> {
  const etcd = await startEtcd();
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bench-scale-'));
  const nodeFlags = await shippedNodeFlags();
  try {
    // The simulator runs inside the daemon's process: measured alone with the same options, an
    // empty host gives Node's own floor and a full one the simulator's share of the peak.
    const simFloor = await simAlone(0, dir, nodeFlags);
    report('sim_alone.peak_rss.0', simFloor, 'MiB', 'Node + simulator, empty host');
    for (const n of SIZES) {
      const peak = await childRun(n, etcd.endpoint, dir, nodeFlags, report);
      const sim = await simAlone(n, dir, nodeFlags);
      report(`sim_alone.peak_rss.${n}`, sim, 'MiB', 'the simulator alone with as many policies');
      report(`child.peak_rss_without_simulator.${n}`, peak - (sim - simFloor), 'MiB', n === 5000 ? '<= 100' : undefined);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await etcd.stop();
  }
}
