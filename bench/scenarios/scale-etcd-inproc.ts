/**
 * etcd mode, the daemon in-process (vxlan, simulated host without its file persistence): the
 * longest event-loop stall while it resyncs every second, etcd write → HNS call p99 at 100 and
 * 1,000 changes/s with resyncs running (no injected HNS latency), and CPU per lease event from
 * 50 to 20,000 peers (ratio printed). All of it runs in a child process with the DaemonSet's V8
 * options (one child per size), since the longest pauses are garbage collections those options
 * size; the child also holds the etcd client that writes the leases and the simulated host, so
 * the figures are pessimistic for the daemon alone.
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
import { shippedNodeOptions } from '../support/shipped-node-options.js';
import { measureStalls } from '../support/stall-probe.js';

const CPU_SIZES = [50, 5000, 20000];
const CPU_BURST = 500;
const RATES = [100, 1000];
const RATE_SECONDS = 3;

/** Peers in etcd: first `n` from index 0; each later step uses indices from its own base. */
const peers = (from: number, count: number): BenchPeer[] => Array.from({ length: count }, (_, i) => benchPeer(from + i));

/**
 * Puts `count` new peers at `perSecond` (each 10 ms tick's peers in one etcd transaction, so
 * etcd syncs its disk 100 times a second whatever the rate), each timed from its put to its
 * first HNS Add, and from the moment the daemon received it to that call.
 */
async function paced(
  cluster: BenchCluster,
  daemon: { seen: Map<string, number>; received: Map<string, number> },
  from: number,
  perSecond: number,
  seconds: number,
): Promise<{ toHns: number[]; inDaemon: number[]; commit: number[] }> {
  const total = perSecond * seconds;
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
  const issued = new Map<string, number>();
  const writes: Promise<void>[] = [];
  const commit: number[] = [];
  const start = performance.now();
  for (let k = 0; k < total; k += perTick) {
    const due = start + (k / perSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const batch = peers(from + k, Math.min(perTick, total - k));
    const at = performance.now();
    for (const peer of batch) issued.set(peer.subnet, at);
    // The store's own share: from the put to etcd's acknowledgement of the transaction.
    writes.push(cluster.putPeers(batch).then(() => void commit.push(performance.now() - at)));
  }
  await Promise.all(writes);
  const { seen, received } = daemon;
  await waitFor(() => [...issued.keys()].every((s) => seen.has(s)), { timeoutMs: 60_000, intervalMs: 20, what: `${total} paced peers to reach HNS` });
  const sorted = (values: number[]) => values.sort((a, b) => a - b);
  return {
    toHns: sorted([...issued].map(([subnet, at]) => seen.get(subnet)! - at)),
    inDaemon: sorted([...issued.keys()].map((subnet) => seen.get(subnet)! - (received.get(subnet) ?? Number.NaN))),
    commit: sorted(commit),
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
    let from = 40_000;
    for (const rate of RATES) {
      let result: Awaited<ReturnType<typeof paced>> | undefined;
      const during = await measureStalls(async () => void (result = await paced(cluster, r, from, rate, RATE_SECONDS)));
      const { toHns, inDaemon, commit } = result!;
      from += rate * RATE_SECONDS;
      report(`inproc.longest_stall_while_paced_wall.${rate}_per_s.${n}`, during.wallMs, 'ms', 'the process\'s event loop while writing, watching and applying');
      report(`inproc.etcd_write_to_hns_call_p99.${rate}_per_s.${n}`, percentile(toHns, 99), 'ms', rate === 1000 ? '< 20 (incl. etcd\'s commit)' : undefined);
      report(`inproc.event_received_to_hns_call_p99.${rate}_per_s.${n}`, percentile(inDaemon, 99), 'ms', rate === 1000 ? '< 20 (the daemon\'s share)' : undefined);
      report(`inproc.etcd_put_acknowledged_p99.${rate}_per_s.${n}`, percentile(commit, 99), 'ms', 'the store\'s share: put → etcd\'s acknowledgement');
    }
  } finally {
    await r.stop();
  }
}

async function inProcess(report: Report, endpoint: string, dir: string, n: number, part: Part): Promise<void> {
  const cluster = new BenchCluster(endpoint, `/scale-inproc-${n}-${Date.now()}/network`);
  try {
    await cluster.writeConfig();
    await cluster.putPeers(peers(0, n));
    if (part === 'cpu') await cpuPerEvent(report, cluster, endpoint, dir, n);
    else await stallsAndLatency(report, cluster, endpoint, dir, n);
  } finally {
    cluster.close();
  }
}

/** Set in the child process, which measures and prints one JSON line per figure. */
const CHILD_ENV = 'FLANNEL_WIN_BENCH_INPROC_CHILD';

export default async function run(report: Report): Promise<void> {
  const nodeOptions = await shippedNodeOptions();
  const cpuPerEvent = new Map<number, number>();
  // One child per size and part: a fresh heap each, as one daemon of that size would have.
  for (const n of CPU_SIZES) {
    for (const part of n < 5000 ? (['cpu'] as const) : (['cpu', 'latency'] as const)) {
      const { stdout } = await promisify(execFile)(process.execPath, [...nodeOptions.split(' '), fileURLToPath(import.meta.url)], {
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
