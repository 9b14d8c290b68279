/**
 * `npm run demo`: a Windows node running flannel-win joins a cluster of (simulated) Linux
 * flannel nodes. No etcd, no cluster, no Windows: the daemon runs as a child process exactly as
 * an operator runs it, on the local lease file and the simulated HNS host, and the demo plays
 * the Linux nodes by writing their leases into the lease file. It prints what was programmed
 * and how long it took; the state files stay in .sim/demo for the curious.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaseValue, subnetKey, updateLeaseFile } from '../src/lease/local/lease-file.js';
import { parseIp4Net } from '../src/net/ip.js';
import { formatSimState } from '../src/sim/state-file.js';
import { readSimState, remoteSubnetRoutes, writeCount } from '../src/sim/state-view.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const DIR = resolve('.sim/demo');
const FILES = {
  leases: `${DIR}/leases.json`,
  host: `${DIR}/host.json`,
  subnetEnv: `${DIR}/subnet.env`,
  log: `${DIR}/flannel-win.log`,
};
const PORT = 10256 + Math.floor(Math.random() * 1000);
const NETWORK = 'flannel.4096';
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

interface Peer {
  name: string;
  subnet: string;
  publicIp: string;
  vtepMac: string;
  vni?: number;
}

function linuxPeer(i: number): Peer {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    name: `linux-${i}`,
    subnet: `10.244.${i + 10}.0/24`,
    publicIp: `192.168.${1 + Math.floor(i / 250)}.${(i % 250) + 2}`,
    vtepMac: `52:a1:00:00:${hex(i >> 8)}:${hex(i & 255)}`,
  };
}

async function putPeers(peers: readonly Peer[]): Promise<void> {
  await updateLeaseFile(FILES.leases, (doc) => {
    for (const p of peers) {
      doc.subnets[subnetKey(parseIp4Net(p.subnet))] = leaseValue({
        publicIp: p.publicIp,
        publicIpv6: null,
        backendType: 'vxlan',
        backendData: JSON.stringify({ VNI: p.vni ?? 4096, VtepMAC: p.vtepMac }),
        backendV6Data: undefined,
      });
    }
  });
}

async function removePeer(peer: Peer): Promise<void> {
  await updateLeaseFile(FILES.leases, (doc) => {
    delete doc.subnets[subnetKey(parseIp4Net(peer.subnet))];
  });
}

async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what} (see ${FILES.log})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const host = () => readSimState(FILES.host);
const routes = async () => remoteSubnetRoutes(await host(), NETWORK);
const writes = async () => writeCount(await host());
const mac = (m: string) => m.toLowerCase().replaceAll('-', ':');

let daemon: ChildProcess | undefined;

async function startDaemon(): Promise<number> {
  const started = Date.now();
  daemon = spawn(
    process.execPath,
    [
      MAIN,
      '--local-subnet-mgr',
      `--local-lease-file=${FILES.leases}`,
      '--dataplane=sim',
      `--sim-state=${FILES.host}`,
      '--sim-hns-latency-ms=2',
      `--subnet-file=${FILES.subnetEnv}`,
      '--public-ip=192.168.1.10',
      '--resync-interval=2',
      '--healthz-ip=127.0.0.1',
      `--healthz-port=${PORT}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  daemon.stderr!.pipe(createWriteStream(FILES.log, { flags: 'a' }));
  const exited = new Promise<never>((_, reject) => daemon!.once('exit', (code) => reject(new Error(`flannel-win exited with code ${code}; see ${FILES.log}`))));
  exited.catch(() => undefined);
  await Promise.race([until(async () => (await fetch(`http://127.0.0.1:${PORT}/readyz`)).status === 200, 'readiness'), exited]);
  return Date.now() - started;
}

async function stopDaemon(): Promise<void> {
  if (!daemon || daemon.exitCode !== null) return;
  const done = new Promise((r) => daemon!.once('exit', r));
  daemon.kill('SIGTERM');
  await done;
}

async function status(): Promise<{ unusablePeers: { lease: string; reason: string }[] }> {
  return (await (await fetch(`http://127.0.0.1:${PORT}/status`)).json()) as { unusablePeers: { lease: string; reason: string }[] };
}

function step(n: number, text: string): void {
  console.log(`\n${bold(`[${n}]`)} ${text}`);
}

async function main(): Promise<void> {
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  console.log(bold('flannel-win demo: a Windows node joins a cluster of Linux flannel nodes'));
  console.log(dim(`simulated HNS host (2 ms per HNS call) and a local lease file; files in ${DIR}`));
  const summary: [string, string][] = [];

  step(1, 'start flannel-win (embedded default: vxlan, VNI 4096, port 4789, Network 10.244.0.0/16)');
  const startMs = await startDaemon();
  const env = await readFile(FILES.subnetEnv, 'utf8');
  const state = await host();
  const network = state.networks.find((n) => n.Name === NETWORK)!;
  const drMac = (network.Policies ?? []).find((p) => p.Type === 'DrMacAddress')?.Settings as { Address: string } | undefined;
  console.log(`    ready in ${startMs} ms; HNS network ${NETWORK} (Overlay, VSID 4096) with DR MAC ${drMac?.Address}`);
  console.log(`    subnet.env: ${env.trim().split('\n').join('  ')}`);
  summary.push(['start (lease, HNS network, subnet.env)', `${startMs} ms, ${await writes()} HNS writes`]);

  step(2, 'three Linux nodes join');
  const three = [0, 1, 2].map(linuxPeer);
  let before = await writes();
  let t0 = Date.now();
  await putPeers(three);
  await until(async () => (await routes()).length === 3, 'three routes');
  let ms = Date.now() - t0;
  for (const r of await routes()) console.log(`    RemoteSubnetRoute ${r.DestinationPrefix.padEnd(15)} via ${r.ProviderAddress.padEnd(13)} VNI ${r.IsolationId}  MAC ${mac(r.DistributedRouterMacAddress)}`);
  console.log(`    programmed in ${ms} ms with ${(await writes()) - before} HNS write(s)`);
  summary.push(['3 peers join', `${ms} ms, ${(await writes()) - before} HNS writes`]);

  step(3, `${three[1]!.name} re-creates its vxlan device (new VtepMAC)`);
  before = await writes();
  t0 = Date.now();
  const moved = { ...three[1]!, vtepMac: '52:a1:ff:ff:00:01' };
  await putPeers([moved]);
  await until(async () => (await routes()).some((r) => mac(r.DistributedRouterMacAddress) === moved.vtepMac), 'the new MAC');
  ms = Date.now() - t0;
  console.log(`    updated in ${ms} ms with ${(await writes()) - before} HNS writes (HNS has no in-place update: remove + add)`);
  summary.push(['1 peer changes its MAC', `${ms} ms, ${(await writes()) - before} HNS writes`]);

  step(4, 'a Linux node still on flannel\'s Linux defaults (VNI 1) joins');
  await putPeers([{ ...linuxPeer(3), name: 'linux-misconfigured', vni: 1 }]);
  const skipped = await until(async () => (await status()).unusablePeers[0], 'the skipped peer');
  console.log(`    skipped, with one warning: ${skipped.reason}`);
  summary.push(['misconfigured peer', 'skipped with one warning, others unaffected']);

  step(5, '200 more Linux nodes join at once');
  const many = Array.from({ length: 200 }, (_, i) => linuxPeer(i + 10));
  before = await writes();
  t0 = Date.now();
  await putPeers(many);
  await until(async () => (await routes()).length === 203, '203 routes');
  ms = Date.now() - t0;
  const burst = (await writes()) - before;
  console.log(`    203 routes programmed; 200 new in ${ms} ms with ${burst} HNS writes (flannel: 400, one remove and one add per peer)`);
  summary.push(['200 peers join at once', `${ms} ms, ${burst} HNS writes`]);

  step(6, `${three[2]!.name} leaves the cluster`);
  before = await writes();
  t0 = Date.now();
  await removePeer(three[2]!);
  await until(async () => !(await routes()).some((r) => r.DestinationPrefix === three[2]!.subnet), 'removal');
  ms = Date.now() - t0;
  console.log(`    its route is gone after ${ms} ms, ${(await writes()) - before} HNS write`);
  summary.push(['1 peer leaves', `${ms} ms, ${(await writes()) - before} HNS writes`]);

  step(7, `drift: someone deletes ${three[0]!.name}'s route from HNS behind flannel-win's back`);
  const drifted = await host();
  const net = drifted.networks.find((n) => n.Name === NETWORK)!;
  net.Policies = (net.Policies ?? []).filter((p) => !(p.Type === 'RemoteSubnetRoute' && (p.Settings as { DestinationPrefix: string }).DestinationPrefix === three[0]!.subnet));
  await writeFile(FILES.host, formatSimState(drifted));
  t0 = Date.now();
  await until(async () => (await routes()).some((r) => r.DestinationPrefix === three[0]!.subnet), 'the repair');
  ms = Date.now() - t0;
  console.log(`    repaired by the periodic resync (--resync-interval 2) after ${ms} ms`);
  summary.push(['drift repaired', `${ms} ms (resync every 2 s)`]);

  step(8, 'restart flannel-win (as a DaemonSet rollout would)');
  await stopDaemon();
  before = await writes();
  const restartMs = await startDaemon();
  await stopDaemon();
  const restartWrites = (await writes()) - before;
  console.log(`    ready again in ${restartMs} ms with ${restartWrites} HNS writes: it adopted what was programmed (flannel: remove + add for every peer)`);
  summary.push(['restart, nothing changed', `${restartMs} ms, ${restartWrites} HNS writes`]);

  console.log(`\n${bold('summary')}`);
  for (const [what, result] of summary) console.log(`  ${what.padEnd(40)} ${result}`);
  console.log(dim(`\nread ${FILES.host} (the simulated host), ${FILES.leases} (the leases) and ${FILES.log} (the daemon's log)`));
}

main().then(
  () => undefined,
  async (err: unknown) => {
    console.error(`demo failed: ${(err as Error).message}`);
    await stopDaemon();
    process.exitCode = 1;
  },
);
