/**
 * Kube mode at 5,000 and 20,000 nodes whose objects are the size kubelet makes them, against
 * the test API server: the daemon as a child process with the V8 options the DaemonSet ships,
 * time to ready, peak RSS, idle CPU, and a relist forced by a 410 (watch dropped, resource
 * versions expired) with its time and RSS growth. A crash is reported as the figure, not hidden.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSimHost } from '../../src/sim/sim-host.js';
import { readHostFile, remoteSubnetRoutes } from '../../src/sim/state-view.js';
import { DaemonProcess } from '../../test/support/daemon-process.js';
import { freePort } from '../../test/support/free-port.js';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import type { Report } from '../run.js';
import { benchNetConf, benchPeer } from '../support/bench-cluster.js';
import { ChildProbe } from '../support/child-probe.js';
import { realisticLinuxNode, withStatus } from '../support/kube-node-generator.js';
import { processPeakRssMiB, processRssSplitMiB } from '../support/proc-stats.js';
import { shippedNodeFlags } from '../support/shipped-node-flags.js';

const SIZES = [5000, 20000];
const IDLE_SECONDS = 5;

async function programmed(file: string): Promise<Set<string>> {
  return new Set(remoteSubnetRoutes(await readHostFile(file), 'flannel.4096').map((r) => r.DestinationPrefix));
}

function addLinuxNode(server: KubeApiServer, i: number): void {
  const { status, ...input } = realisticLinuxNode(i);
  server.addNode(input);
  server.updateNode(input.name, (node) => withStatus(node, status));
}

async function runSize(n: number, dir: string, nodeFlags: string[], report: Report): Promise<void> {
  const nodeOptions = nodeFlags.join(' ');
  const server = await KubeApiServer.start();
  const hostFile = join(dir, `host-kube-${n}.json`);
  const netConf = join(dir, `net-conf-${n}.json`);
  const port = await freePort();
  let daemon: DaemonProcess | undefined;
  try {
    await writeFile(netConf, benchNetConf());
    await (await openSimHost({ stateFile: hostFile, publicIp: '192.168.1.10' })).close();
    server.addNode({ name: 'win-1', podCIDR: '10.0.1.0/24', labels: { 'kubernetes.io/os': 'windows' } });
    for (let i = 0; i < n; i++) addLinuxNode(server, i);
    report(`node_object_bytes.${n}`, Buffer.byteLength(JSON.stringify(server.node('linux-0'))), 'bytes', '~7,700 (kubelet-sized)');
    const started = performance.now();
    daemon = DaemonProcess.start(
      [
        '--kube-subnet-mgr',
        `--kubeconfig-file=${server.kubeconfigPath}`,
        `--net-config-path=${netConf}`,
        '--dataplane=sim',
        '--sim-with-real-store',
        `--sim-state=${hostFile}`,
        `--subnet-file=${join(dir, `subnet-kube-${n}.env`)}`,
        '--public-ip=192.168.1.10',
        '--healthz-ip=127.0.0.1',
        `--healthz-port=${port}`,
        '--resync-interval=3600',
        '--log-level=warn',
      ],
      { NODE_NAME: 'win-1' },
      nodeFlags,
    );
    const probe = new ChildProbe(daemon, `kube, ${n} nodes, ${nodeOptions}`);
    try {
      await probe.until('ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200);
      report(`child.time_to_ready.${n}`, performance.now() - started, 'ms');
      await probe.until('every peer programmed', async () => (await programmed(hostFile)).size >= n);
      await sleep(2000);
      report(`child.idle_cpu.${n}`, await probe.idleCpuMsPerSecond(IDLE_SECONDS), 'ms/s');

      // A relist forced by a 410: the watch is dropped and its resource version expired; the
      // node added meanwhile proves the daemon listed again and caught up.
      server.expireResourceVersions();
      addLinuxNode(server, n + 10);
      const joiner = benchPeer(n + 10).subnet;
      const resumed = performance.now();
      const growth = await probe.rssGrowthDuring(async () => {
        server.dropWatches();
        await probe.until('the node added before the 410, after the relist', async () => (await programmed(hostFile)).has(joiner));
      });
      report(`child.relist_time.${n}`, performance.now() - resumed, 'ms', 'incl. reconnect back-off');
      report(`child.relist_rss_growth.${n}`, growth, 'MiB');
      report(`child.peak_rss_shipped_options.${n}`, await processPeakRssMiB(probe.pid), 'MiB', n === 5000 ? `<= 100 (${nodeOptions})` : `no crash (${nodeOptions})`);
      const split = await processRssSplitMiB(probe.pid);
      report(`child.rss_file_backed_after_relist.${n}`, split.file, 'MiB', 'of the RSS then: pages mapped from the node executable and libraries (clean, shared)');
      report(`child.rss_anonymous_after_relist.${n}`, split.anon, 'MiB', 'of the RSS then: the process\'s own memory');
    } catch (err) {
      if (probe.alive) throw err;
      report(`child.crashed.${n}`, 1, 'bool', `0 (${nodeOptions}); ${String((err as Error).message).split('\n').find((l) => /heap|memory/i.test(l)) ?? 'see stderr'}`);
    }
  } finally {
    await daemon?.stop();
    await server.close();
  }
}

export default async function run(report: Report): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bench-scale-kube-'));
  const nodeFlags = await shippedNodeFlags();
  try {
    for (const n of SIZES) await runSize(n, dir, nodeFlags, report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
