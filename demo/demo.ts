/**
 * `npm run demo`: a Windows node running flannel-win joins a cluster of (simulated) Linux
 * flannel nodes. No etcd, no cluster, no Windows: the daemon runs as a child process exactly as
 * an operator runs it, on the local lease file and the simulated HNS host, and the demo plays
 * the Linux nodes by writing their leases into the lease file. It prints what was programmed
 * and how long it took; the state files stay in .sim/demo for the curious. Then the policy act
 * (policy-act.ts) puts NetworkPolicy on the node's pod endpoints, in kube mode.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { subnetKey, updateLeaseFile } from '../src/lease/local/lease-file.js';
import { parseIp4Net } from '../src/net/ip.js';
import { editSimStateFile } from '../src/sim/state-edit.js';
import { readHostFile, writeCount } from '../src/sim/state-view.js';
import { HOST_GW_DEMO, VXLAN_DEMO, type DemoPeer } from './demo-backend.js';
import { bold, dim, step, until as untilOr } from './demo-steps.js';
import { policyAct } from './policy-act.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const DIR = resolve('.sim/demo');
const FILES = {
  leases: `${DIR}/leases.json`,
  host: `${DIR}/host.json`,
  subnetEnv: `${DIR}/subnet.env`,
  log: `${DIR}/flannel-win.log`,
};
const PORT = 10256 + Math.floor(Math.random() * 1000);
const BACKEND = process.argv[2] === 'host-gw' ? HOST_GW_DEMO : VXLAN_DEMO;

type Peer = DemoPeer;

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
    doc.config ??= BACKEND.netConf;
    for (const p of peers) doc.subnets[subnetKey(parseIp4Net(p.subnet))] = BACKEND.leaseOf(p);
  });
}

async function removePeer(peer: Peer): Promise<void> {
  await updateLeaseFile(FILES.leases, (doc) => {
    delete doc.subnets[subnetKey(parseIp4Net(peer.subnet))];
  });
}

function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  return untilOr(check, what, FILES.log, timeoutMs);
}

const host = () => readHostFile(FILES.host);
const programmed = async () => BACKEND.programmed(await host());
const writes = async () => writeCount(await host());

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

function plural(ms: number, writes: number): string {
  return `${ms} ms, ${writes} write${writes === 1 ? '' : 's'}`;
}

/** The peers act: Linux nodes join, change, misconfigure, leave; drift; a restart. */
async function peersAct(): Promise<void> {
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  // The local subnet manager writes the embedded (vxlan) default only when no config is there.
  await updateLeaseFile(FILES.leases, (doc) => {
    doc.config = BACKEND.netConf;
  });
  console.log(bold(`flannel-win demo (${BACKEND.name}): a Windows node joins a cluster of Linux flannel nodes`));
  console.log(dim(`simulated HNS host (2 ms per HNS call) and a local lease file; files in ${DIR}`));
  const summary: [string, string][] = [];
  const cost = async (before: number, t0: number) => plural(Date.now() - t0, (await writes()) - before);

  step(1, `start flannel-win (${BACKEND.title})`);
  const startMs = await startDaemon();
  const env = await readFile(FILES.subnetEnv, 'utf8');
  console.log(`    ready in ${startMs} ms; ${BACKEND.networkLine(await host())}`);
  console.log(`    subnet.env: ${env.trim().split('\n').join('  ')}`);
  summary.push(['start (lease, HNS network, subnet.env)', `${startMs} ms, ${await writes()} writes`]);

  step(2, 'three Linux nodes join');
  const three = [0, 1, 2].map(linuxPeer);
  let before = await writes();
  let t0 = Date.now();
  await putPeers(three);
  await until(async () => (await programmed()).size === 3, 'three peers programmed');
  let took = await cost(before, t0);
  for (const line of BACKEND.describe(await host())) console.log(`    ${line}`);
  console.log(`    programmed in ${took}`);
  summary.push(['3 peers join', took]);

  step(3, `${three[1]!.name} ${BACKEND.change.what}`);
  before = await writes();
  t0 = Date.now();
  const change = BACKEND.change.apply(three[1]!);
  await putPeers([change.peer]);
  await until(async () => (await programmed()).get(three[1]!.subnet) === change.detail, 'the change');
  took = await cost(before, t0);
  console.log(`    updated in ${took} (${BACKEND.change.note})`);
  summary.push(['1 peer changes', took]);

  step(4, `a Linux node ${BACKEND.misconfigured.what} joins`);
  await putPeers([BACKEND.misconfigured.peer(linuxPeer(3))]);
  const skipped = await until(async () => (await status()).unusablePeers[0], 'the skipped peer');
  console.log(`    skipped, with one warning: ${skipped.reason}`);
  summary.push(['misconfigured peer', 'skipped with one warning, others unaffected']);

  step(5, '200 more Linux nodes join at once');
  const many = Array.from({ length: 200 }, (_, i) => linuxPeer(i + 10));
  before = await writes();
  t0 = Date.now();
  await putPeers(many);
  await until(async () => (await programmed()).size === 203, '203 peers programmed');
  took = await cost(before, t0);
  console.log(`    203 peers programmed; the 200 new ones in ${took} (${BACKEND.burstNote(200)})`);
  summary.push(['200 peers join at once', took]);

  step(6, `${three[2]!.name} leaves the cluster`);
  before = await writes();
  t0 = Date.now();
  await removePeer(three[2]!);
  await until(async () => !(await programmed()).has(three[2]!.subnet), 'removal');
  took = await cost(before, t0);
  console.log(`    removed from the host after ${took}`);
  summary.push(['1 peer leaves', took]);

  step(7, `drift: someone deletes ${three[0]!.name}'s entry from the host behind flannel-win's back`);
  await editSimStateFile(FILES.host, (drifted) => BACKEND.drift(drifted, three[0]!.subnet));
  t0 = Date.now();
  await until(async () => (await programmed()).has(three[0]!.subnet), 'the repair');
  const repairMs = Date.now() - t0;
  console.log(`    repaired by the periodic resync (--resync-interval 2) after ${repairMs} ms`);
  summary.push(['drift repaired', `${repairMs} ms (resync every 2 s)`]);

  step(8, 'restart flannel-win (as a DaemonSet rollout would)');
  await stopDaemon();
  before = await writes();
  const restartMs = await startDaemon();
  await stopDaemon();
  const restartWrites = (await writes()) - before;
  console.log(`    ready again in ${restartMs} ms with ${restartWrites} writes: it adopted what was programmed (flannel re-adds every peer)`);
  summary.push(['restart, nothing changed', `${restartMs} ms, ${restartWrites} writes`]);

  console.log(`\n${bold('summary')} ${dim('(writes = HNS and route-table write calls on the simulated host)')}`);
  for (const [what, result] of summary) console.log(`  ${what.padEnd(40)} ${result}`);
  console.log(dim(`\nread ${FILES.host} (the simulated host), ${FILES.leases} (the leases) and ${FILES.log} (the daemon's log)`));
  console.log(dim(BACKEND.name === 'vxlan' ? 'the host-gw variant: npm run demo -- host-gw' : 'the vxlan variant: npm run demo'));
}

/** `npm run demo`: the peers act, then the policy act; `-- host-gw` the peers act on host-gw; `-- policy` the policy act. */
async function main(): Promise<void> {
  const act = process.argv[2];
  if (act !== 'policy') await peersAct();
  if (act === 'host-gw') return;
  const summary = await policyAct(act === 'policy' ? 1 : 9);
  console.log(`\n${bold('summary')} ${dim('(endpoint writes = HcnModifyEndpoint calls on the simulated host)')}`);
  for (const [what, result] of summary) console.log(`  ${what.padEnd(40)} ${result}`);
  console.log(dim('\nthe policy act alone: npm run demo -- policy'));
}

main().then(
  () => undefined,
  async (err: unknown) => {
    console.error(`demo failed: ${(err as Error).message}`);
    await stopDaemon();
    process.exitCode = 1;
  },
);
