import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RemoteSubnetRoutePolicySetting } from '../../src/hns/types.js';
import type { HostRoute } from '../../src/routes/route-table.js';
import { editSimStateFile } from '../../src/sim/state-edit.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';
import { readHostFile, remoteSubnetRoutes, writeCount } from '../../src/sim/state-view.js';
import { DaemonProcess } from './daemon-process.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait.js';

/** The simulated host's file, read as an operator would; every read waits out the sim's debounce. */
export class SimHostFile {
  constructor(readonly path: string) {}

  state(): Promise<SimStateDocument> {
    return readHostFile(this.path);
  }

  async remoteRoutes(network: string): Promise<RemoteSubnetRoutePolicySetting[]> {
    return remoteSubnetRoutes(await this.state(), network).sort((a, b) => a.DestinationPrefix.localeCompare(b.DestinationPrefix));
  }

  /** Host routes into the cluster network (what host-gw programs), sorted by destination. */
  async clusterRoutes(prefix = '10.244.'): Promise<HostRoute[]> {
    return (await this.state()).routes.filter((r) => r.destination.startsWith(prefix)).sort((a, b) => a.destination.localeCompare(b.destination));
  }

  async writes(): Promise<number> {
    return writeCount(await this.state());
  }

  /** Waits until `check` holds for the file's state and returns that state. */
  until(check: (state: SimStateDocument) => boolean, what: string, timeoutMs = 15_000): Promise<SimStateDocument> {
    return waitFor(
      async () => {
        const s = await this.state();
        return check(s) ? s : undefined;
      },
      { timeoutMs, what },
    );
  }

  /** Drift: someone edits the host behind the daemon's back (under the file's lock, as a tool should). */
  async edit(mutate: (state: SimStateDocument) => void): Promise<void> {
    await editSimStateFile(this.path, mutate);
  }
}

/**
 * The flags every end-to-end run shares: the simulated host in `dir` (acknowledged as talking to
 * a test store), subnet.env next to it,
 * the node address, and health on loopback `port` (readiness is what the tests wait for).
 */
export function simDaemonArgs(host: SimHostFile, dir: string, port: number): string[] {
  return [
    '--dataplane=sim',
    // The tests' etcd and API server are throw-away: publishing a simulated VtepMAC there is the point.
    '--sim-with-real-store',
    `--sim-state=${host.path}`,
    `--subnet-file=${dir}/subnet.env`,
    '--public-ip=192.168.1.10',
    '--healthz-ip=127.0.0.1',
    `--healthz-port=${port}`,
  ];
}

/** The Network every end-to-end cluster uses, vxlan with the VNI and port Windows needs. */
export const VXLAN_NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}';

/**
 * A Windows node in kube mode on a simulated host: a fresh directory (named after `label`)
 * holding net-conf.json (`netConf`) and the host file, a free health port, and the daemon's
 * arguments against the API server whose kubeconfig is `kubeconfigPath`.
 */
export async function kubeSimNode(kubeconfigPath: string, label: string, netConf = VXLAN_NET_CONF) {
  const dir = await mkdtemp(join(tmpdir(), `flannel-win-${label}-`));
  const netConfPath = join(dir, 'net-conf.json');
  await writeFile(netConfPath, netConf);
  const port = await freePort();
  const host = new SimHostFile(join(dir, 'host.json'));
  const args = ['--kube-subnet-mgr', `--kubeconfig-file=${kubeconfigPath}`, `--net-config-path=${netConfPath}`, ...simDaemonArgs(host, dir, port)];
  return { dir, port, host, args };
}

export async function isReady(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
  return res?.status === 200;
}

/** Starts the daemon and waits for /readyz (first complete apply and subnet.env written). */
export async function startReady(args: readonly string[], port: number, env: Record<string, string | undefined> = {}): Promise<DaemonProcess> {
  const daemon = DaemonProcess.start(args, env);
  try {
    await Promise.race([
      waitFor(() => isReady(port), { timeoutMs: 30_000, what: 'the daemon to report ready' }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; daemon stderr so far:\n${daemon.rawStderr.slice(-30).join('\n')}`);
      }),
      daemon.exited.then(({ code }) => {
        throw new Error(`flannel-win exited with ${code} before it was ready:\n${daemon.rawStderr.slice(-30).join('\n')}`);
      }),
    ]);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}

/** Restarts with nothing changed and returns the HNS/route writes the restart made. */
export async function restartWrites(daemon: DaemonProcess, args: readonly string[], port: number, host: SimHostFile, env: Record<string, string | undefined> = {}): Promise<number> {
  const stopped = await daemon.stop();
  if (stopped.code !== 0) throw new Error(`SIGTERM should exit 0, got ${stopped.code}`);
  const before = await host.writes();
  const again = await startReady(args, port, env);
  // Stopping flushes the simulator's file, so every write of the restart is counted.
  await again.stop();
  return (await host.writes()) - before;
}
