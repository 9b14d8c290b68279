/**
 * etcd mode, the daemon in-process (vxlan, simulated host without its file persistence): the
 * longest event-loop stall while it resyncs every second, etcd write → HNS call p99 at 100 and
 * 1,000 changes/s with resyncs running (no injected HNS latency), and CPU per lease event from
 * 50 to 20,000 peers (ratio printed). The daemon runs in a child process with the DaemonSet's V8
 * options (one per size and part), since the longest pauses are garbage collections those
 * options size; it shares that process with the simulated host. The paced changes come from a
 * writer process of their own, as they would from other nodes: half add a peer, half remove one
 * added a second before, so the cluster stays at its size. etcd's own share is also measured with
 * no daemon running, the floor under "put issued → HNS call" on this machine.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcd } from '../../test/support/etcd-server.js';
import { waitFor } from '../../test/support/wait.js';
import type { Report } from '../run.js';
import { BenchCluster, benchPeer, type BenchPeer } from '../support/bench-cluster.js';
import { startInProcessDaemon } from '../support/in-process-daemon.js';
import { percentile } from '../support/proc-stats.js';
import { shippedNodeFlags } from '../support/shipped-node-flags.js';
import { measureStalls } from '../support/stall-probe.js';

const CPU_SIZES = [50, 5000, 20000];
const CPU_BURST = 500;
const RATES = [100, 1000];
/**
 * Each paced run lasts this long: at 1,000 changes/s, 5,000 added peers are timed (the other
 * half of the changes remove peers, so the cluster keeps its size), and the p99 is the
 * fiftieth-worst rather than whatever one pause of a 3-second window delayed.
 */
const RATE_SECONDS = 10;

/** Peers in etcd: first `n` from index 0; each later step uses indices from its own base. */
const peers = (from: number, count: number): BenchPeer[] => Array.from({ length: count }, (_, i) => benchPeer(from + i));

const PACED_WRITER = fileURLToPath(new URL('../support/paced-writer.js', import.meta.url));

/** How long the writer process gets to start and connect before its first put. */
const WRITER_START_MS = 2000;

/**
 * A writer process adding and removing peers at a steady rate (bench/support/paced-writer.ts) from
 * `WRITER_START_MS` on; resolves with its output once it is done, and `startsAt` (this process's
 * performance.now()) says when the first put goes out.
 */
function startPacedWriter(cluster: BenchCluster, from: number, perSecond: number, seconds: number): { output: Promise<{ stdout: string }>; startsAt: number } {
  const startsAt = performance.now() + WRITER_START_MS;
  const args = [PACED_WRITER, cluster.endpoint, cluster.prefix, String(from), String(perSecond), String(seconds), String(performance.timeOrigin + startsAt)];
  return { output: promisify(execFile)(process.execPath, args), startsAt };
}

/**
 * Waits for the writer's peers to reach HNS; each is timed to its first HNS Add from its put,
 * from etcd's acknowledgement of the put (the commit), and from the moment the daemon received
 * it.
 */
async function paced(
  writer: Promise<{ stdout: string }>,
  daemon: { seen: Map<string, number>; received: Map<string, number> },
): Promise<{ toHns: number[]; committedToHns: number[]; inDaemon: number[]; commit: number[] }> {
  const { written } = JSON.parse((await writer).stdout) as { written: Array<[string, number, number]> };
  const { seen, received } = daemon;
  await waitFor(() => written.every(([s]) => seen.has(s)), { timeoutMs: 60_000, intervalMs: 20, what: `${written.length} paced peers to reach HNS` });
  // The daemon's moments are this process's performance.now(); the writer's are wall-clock.
  const wall = (t: number): number => performance.timeOrigin + t;
  const sorted = (values: number[]) => values.sort((a, b) => a - b);
  return {
    toHns: sorted(written.map(([subnet, issuedAt]) => wall(seen.get(subnet)!) - issuedAt)),
    // Negative when the watch event beat the put's own answer back to the writer.
    committedToHns: sorted(written.map(([subnet, , acknowledgedAt]) => wall(seen.get(subnet)!) - acknowledgedAt)),
    inDaemon: sorted(written.map(([subnet]) => seen.get(subnet)! - (received.get(subnet) ?? Number.NaN))),
    commit: sorted(written.map(([, issuedAt, acknowledgedAt]) => acknowledgedAt - issuedAt)),
  };
}

/** What one child measures: CPU per event (no resync), or stalls and latency (resync every second). */
type Part = 'cpu' | 'latency';

/** CPU per lease event, no resync: a warm-up burst, then a measured one. */
async function cpuPerEvent(report: Report, cluster: BenchCluster, endpoint: string, dir: string, n: number): Promise<void> {
  // The simulator's per-call cost is the sim-cost scenario's figure (flat); its file
  // persistence is off here.
  const d = await startInProcessDaemon({ endpoint, prefix: cluster.prefix, dir, latencyMs: 0, n });
  try {
    const warm = peers(30_000, CPU_BURST);
    await cluster.putPeers(warm);
    await waitFor(() => warm.every((p) => d.seen.has(p.subnet)), { timeoutMs: 60_000, intervalMs: 5, what: 'warm-up burst' });
    const burst = peers(31_000, CPU_BURST);
    const cpu0 = process.cpuUsage();
    await cluster.putPeers(burst);
    await waitFor(() => burst.every((p) => d.seen.has(p.subnet)), { timeoutMs: 60_000, intervalMs: 5, what: 'burst' });
    const cpu = process.cpuUsage(cpu0);
    report(`inproc.cpu_per_lease_event.${n}`, (cpu.user + cpu.system) / CPU_BURST, 'µs/event', 'flat from 50 to 20000 (daemon + in-memory simulator)');
  } finally {
    await d.stop();
  }
}

/** Resync every second while idle and while changes stream in. */
async function stallsAndLatency(report: Report, cluster: BenchCluster, endpoint: string, dir: string, n: number): Promise<void> {
  const r = await startInProcessDaemon({ endpoint, prefix: cluster.prefix, dir, latencyMs: 0, n, resyncIntervalMs: 1000 });
  try {
    report(`inproc.time_to_ready.${n}`, r.startupMs, 'ms');
    const stalls = await measureStalls(() => sleep(3500));
    report(`inproc.resync_longest_stall_cpu.${n}`, stalls.cpuMs, 'ms', '< 10 (main-thread CPU between two loop turns, 3 resyncs incl. the listing)');
    report(`inproc.resync_longest_stall_wall.${n}`, stalls.wallMs, 'ms', 'incl. time the OS gave the CPU to other processes');
    // /status lists up to 2,000 peers, sorted: it is built on request, and blocks while built.
    const statusStart = performance.now();
    r.daemon.status();
    report(`inproc.status_build.${n}`, performance.now() - statusStart, 'ms', 'one /status document, built on the event loop');
    let from = 40_000;
    for (const rate of RATES) {
      // Spawning the writer blocks this process for a moment, and the writer's own start-up
      // takes a core for a while: both happen before the measured window.
      const writer = startPacedWriter(cluster, from, rate, RATE_SECONDS);
      await sleep(Math.max(0, writer.startsAt - performance.now()));
      let result: Awaited<ReturnType<typeof paced>> | undefined;
      const during = await measureStalls(async () => void (result = await paced(writer.output, r)));
      const { toHns, committedToHns, inDaemon, commit } = result!;
      from += rate * RATE_SECONDS;
      report(`inproc.longest_stall_while_paced_wall.${rate}_per_s.${n}`, during.wallMs, 'ms', 'the process\'s event loop while writing, watching and applying');
      report(`inproc.etcd_write_to_hns_call_p99.${rate}_per_s.${n}`, percentile(toHns, 99), 'ms', 'put issued → HNS call, incl. etcd\'s commit');
      report(`inproc.etcd_commit_to_hns_call_p99.${rate}_per_s.${n}`, percentile(committedToHns, 99), 'ms', rate === 1000 ? '< 20 (etcd acknowledged the write → HNS call)' : undefined);
      report(`inproc.event_received_to_hns_call_p50.${rate}_per_s.${n}`, percentile(inDaemon, 50), 'ms');
      report(`inproc.event_received_to_hns_call_p99.${rate}_per_s.${n}`, percentile(inDaemon, 99), 'ms', rate === 1000 ? '< 20 (the daemon\'s share)' : undefined);
      report(`inproc.etcd_put_acknowledged_p99.${rate}_per_s.${n}`, percentile(commit, 99), 'ms', 'the store\'s share: put → etcd\'s acknowledgement');
    }
  } finally {
    await r.stop();
  }
}

/**
 * etcd's own share with no daemon running: the same writer at 1,000 changes/s, under a prefix of
 * its own, into the same etcd already holding the `n` peers.
 */
async function etcdAlone(report: Report, endpoint: string, prefix: string, n: number): Promise<void> {
  const alone = new BenchCluster(endpoint, `${prefix}-alone`);
  try {
    const writer = startPacedWriter(alone, 0, 1000, RATE_SECONDS);
    const { written } = JSON.parse((await writer.output).stdout) as { written: Array<[string, number, number]> };
    const acknowledged = written.map(([, issuedAt, acknowledgedAt]) => acknowledgedAt - issuedAt).sort((a, b) => a - b);
    report(`inproc.etcd_put_acknowledged_p99_no_daemon.1000_per_s.${n}`, percentile(acknowledged, 99), 'ms', 'etcd and the writer alone on this machine: the floor under "put issued → HNS call"');
  } finally {
    alone.close();
  }
}

async function inProcess(report: Report, endpoint: string, dir: string, n: number, part: Part): Promise<void> {
  const cluster = new BenchCluster(endpoint, `/scale-inproc-${n}-${Date.now()}/network`);
  try {
    await cluster.writeConfig();
    await cluster.putPeers(peers(0, n));
    if (part === 'cpu') await cpuPerEvent(report, cluster, endpoint, dir, n);
    else {
      await etcdAlone(report, endpoint, cluster.prefix, n);
      await stallsAndLatency(report, cluster, endpoint, dir, n);
    }
  } finally {
    cluster.close();
  }
}

/** Set in the child process, which measures and prints one JSON line per figure. */
const CHILD_ENV = 'FLANNEL_WIN_BENCH_INPROC_CHILD';

export default async function run(report: Report): Promise<void> {
  const nodeFlags = await shippedNodeFlags();
  const nodeOptions = nodeFlags.join(' ');
  const cpuPerEvent = new Map<number, number>();
  // One child per size and part: a fresh heap each, as one daemon of that size would have.
  for (const n of CPU_SIZES) {
    for (const part of n < 5000 ? (['cpu'] as const) : (['cpu', 'latency'] as const)) {
      const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url)], {
        env: { ...process.env, [CHILD_ENV]: `${n}:${part}` },
        maxBuffer: 16 * 1024 * 1024,
      });
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const f = JSON.parse(line) as { name: string; value: number; unit: string; bound?: string };
        report(f.name, f.value, f.unit, f.bound ? `${f.bound}; ${nodeOptions}` : undefined);
        if (f.name === `inproc.cpu_per_lease_event.${n}`) cpuPerEvent.set(n, f.value);
      }
    }
  }
  report('inproc.cpu_per_lease_event.ratio_20000_vs_50', cpuPerEvent.get(20000)! / cpuPerEvent.get(50)!, 'x', '~1 (flat)');
}

async function measure(report: Report, n: number, part: Part): Promise<void> {
  const etcd = await startEtcd();
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bench-scale-inproc-'));
  try {
    await inProcess(report, etcd.endpoint, dir, n, part);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await etcd.stop();
  }
}

const child = process.env[CHILD_ENV];
if (child !== undefined) {
  const [size, part] = child.split(':');
  await measure((name, value, unit, bound) => process.stdout.write(`${JSON.stringify({ name, value, unit, bound })}\n`), Number(size), part === 'latency' ? 'latency' : 'cpu');
}
