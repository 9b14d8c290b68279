/**
 * The daemon in-process (real etcd, simulated host), with every HNS call timestamped: how long
 * from an etcd write to the HNS call that programs it (p50/p99, no injected latency), and how
 * close a cold start gets to the floor that a 2 ms HNS latency implies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEtcd } from '../../test/support/etcd-server.js';
import { waitFor } from '../../test/support/wait.js';
import type { Report } from '../run.js';
import { BenchCluster, benchPeer } from '../support/bench-cluster.js';
import { startInProcessDaemon } from '../support/in-process-daemon.js';
import { percentile } from '../support/proc-stats.js';

const SIZES = [50, 500, 5000];
const LATENCY_SAMPLES = 200;
const INJECTED_MS = 2;
const CPU_BURST = 500;

export default async function run(report: Report): Promise<void> {
  const etcd = await startEtcd();
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-bench-latency-'));
  const cpuPerEvent = new Map<number, number>();
  try {
    for (const n of SIZES) {
      const cluster = new BenchCluster(etcd.endpoint, `/latency-${n}-${Date.now()}/network`);
      try {
        await cluster.writeConfig();
        await cluster.putPeers(Array.from({ length: n }, (_, i) => benchPeer(i)));

        // etcd write → HNS call, one peer at a time, no injected latency.
        const fast = await startInProcessDaemon({ endpoint: etcd.endpoint, prefix: cluster.prefix, dir, latencyMs: 0, n });
        const samples: number[] = [];
        for (let i = 0; i < LATENCY_SAMPLES; i++) {
          const peer = benchPeer(n + 100 + i);
          const t0 = performance.now();
          await cluster.putPeers([peer]);
          await waitFor(() => fast.seen.has(peer.subnet), { timeoutMs: 10_000, intervalMs: 0, what: 'the HNS call for a new peer' });
          samples.push(fast.seen.get(peer.subnet)! - t0);
        }
        // Daemon CPU per lease event without the simulator's file persistence (which serialises
        // the whole host and so grows with it): a burst of new peers, measured in this process.
        // The bench's own etcd writes are in it too, at a constant cost per event.
        // A first, unmeasured burst lets V8 compile the hot paths, so the smallest size is not
        // charged for the JIT warm-up.
        const warmup = Array.from({ length: CPU_BURST }, (_, i) => benchPeer(n + 2000 + i));
        await cluster.putPeers(warmup);
        await waitFor(() => warmup.every((p) => fast.seen.has(p.subnet)), { timeoutMs: 60_000, intervalMs: 5, what: 'the warm-up burst to reach HNS' });
        const burst = Array.from({ length: CPU_BURST }, (_, i) => benchPeer(n + 1000 + i));
        const cpu0 = process.cpuUsage();
        await cluster.putPeers(burst);
        await waitFor(() => burst.every((p) => fast.seen.has(p.subnet)), { timeoutMs: 60_000, intervalMs: 5, what: 'the burst to reach HNS' });
        const cpu = process.cpuUsage(cpu0);
        cpuPerEvent.set(n, (cpu.user + cpu.system) / CPU_BURST);
        report(`cpu_per_lease_event_no_sim_persistence.${n}`, cpuPerEvent.get(n)!, 'µs/event', 'flat from 50 to 5000');
        await fast.stop();
        samples.sort((a, b) => a - b);
        report(`etcd_write_to_hns_call_p50.${n}`, percentile(samples, 50), 'ms', '< 5 (p99)');
        report(`etcd_write_to_hns_call_p99.${n}`, percentile(samples, 99), 'ms', '< 5');

        // Cold start with 2 ms per HNS call: the apply phase against the floor its calls imply.
        const slow = await startInProcessDaemon({ endpoint: etcd.endpoint, prefix: cluster.prefix, dir, latencyMs: INJECTED_MS, n });
        const routeCalls = slow.calls;
        const applyMs = Math.max(...routeCalls.map((c) => c.end)) - Math.min(...routeCalls.map((c) => c.start));
        const floorMs = routeCalls.length * INJECTED_MS;
        await slow.stop();
        report(`cold_start_to_ready_2ms.${n}`, slow.startupMs, 'ms');
        report(`cold_apply_phase_2ms.${n}`, applyMs, 'ms', `floor ${floorMs} ms = ${routeCalls.length} calls x ${INJECTED_MS} ms`);
        report(`cold_apply_vs_floor.${n}`, applyMs / floorMs, 'x', '1 = at the floor');
      } finally {
        cluster.close();
      }
    }
    report('cpu_per_lease_event_no_sim_persistence.ratio_5000_vs_50', cpuPerEvent.get(5000)! / cpuPerEvent.get(50)!, 'x', '~1 (flat)');
  } finally {
    await rm(dir, { recursive: true, force: true });
    await etcd.stop();
  }
}
