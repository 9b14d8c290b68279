/**
 * The daemon in-process (real etcd, simulated host) with every HNS call timestamped, for the
 * latency and event-loop figures a child process cannot give.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Daemon } from '../../src/daemon/daemon.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import type { HnsClient } from '../../src/hns/client.js';
import type { ModifyNetworkSettingRequest, RemoteSubnetRoutePolicySetting } from '../../src/hns/types.js';
import { EtcdSubnetManager } from '../../src/lease/etcd/etcd-subnet-manager.js';
import type { LeaseWatchResult, SubnetManager } from '../../src/lease/types.js';
import { formatIp4Net } from '../../src/net/ip.js';
import { silentLogger } from '../../src/log.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { waitFor } from '../../test/support/wait.js';

export interface CallRecord {
  start: number;
  end: number;
  prefixes: string[];
}

/** Wraps an HnsClient so that every RemoteSubnetRoute Modify call is timestamped. */
function recording(hns: HnsClient, calls: CallRecord[], seen: Map<string, number>): HnsClient {
  return new Proxy(hns, {
    get(target, prop, receiver) {
      if (prop !== 'modifyNetwork') return Reflect.get(target, prop, receiver);
      return async (id: string, request: ModifyNetworkSettingRequest) => {
        const start = performance.now();
        const prefixes = ((request.Settings as { Policies?: { Type: string; Settings: unknown }[] }).Policies ?? [])
          .filter((p) => p.Type === 'RemoteSubnetRoute')
          .map((p) => (p.Settings as RemoteSubnetRoutePolicySetting).DestinationPrefix);
        if (request.RequestType === 'Add') for (const p of prefixes) if (!seen.has(p)) seen.set(p, start);
        try {
          await target.modifyNetwork(id, request);
        } finally {
          if (prefixes.length > 0) calls.push({ start, end: performance.now(), prefixes });
        }
      };
    },
  });
}

/**
 * Wraps a subnet manager so that the moment each added lease reaches the daemon (subnet → time)
 * is recorded: the daemon's own share of the write → HNS latency starts there.
 */
function timestamping(manager: SubnetManager, received: Map<string, number>): SubnetManager {
  async function* tap(results: AsyncIterable<LeaseWatchResult>): AsyncIterable<LeaseWatchResult> {
    for await (const result of results) {
      if (result.kind === 'events') {
        const at = performance.now();
        for (const e of result.events) if (e.type === 'added' && e.lease.subnet) received.set(formatIp4Net(e.lease.subnet), at);
      }
      yield result;
    }
  }
  return new Proxy(manager, {
    get(target, prop, receiver) {
      if (prop === 'watchLeases') return (signal: AbortSignal) => tap(target.watchLeases(signal));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface InProcessDaemonOptions {
  endpoint: string;
  prefix: string;
  dir: string;
  /** Injected per HNS call by the simulator. */
  latencyMs: number;
  /** Names the state files, so daemons of several sizes can share `dir`. */
  n: number;
  /** @default one hour (no resync while measuring) */
  resyncIntervalMs?: number;
}

/**
 * The daemon in this process against real etcd and an in-memory simulated host whose state
 * file is not rewritten while measuring, every RemoteSubnetRoute call timestamped (`seen`: first
 * Add of each prefix). Resolves once it is ready.
 */
export async function startInProcessDaemon(o: InProcessDaemonOptions) {
  const { endpoint, prefix, dir, latencyMs, n } = o;
  // The simulator's file persistence (a synchronous JSON.stringify of the whole host every few
  // hundred ms) is a test artifact, not daemon work: keep it out of the measured window.
  const host = await openSimHost({ stateFile: join(dir, `host-${n}-${latencyMs}.json`), latencyMs, publicIp: '192.168.1.10', flushDelayMs: 3_600_000 });
  const calls: CallRecord[] = [];
  const seen = new Map<string, number>();
  const received = new Map<string, number>();
  const log = silentLogger();
  const daemon = new Daemon({
    options: {
      subnetFile: join(dir, `subnet-${n}-${latencyMs}.env`),
      ipMasq: false,
      iface: [],
      ifaceRegex: [],
      publicIp: '192.168.1.10',
      resyncIntervalMs: o.resyncIntervalMs ?? 3_600_000,
      backendTimings: { pollMs: 5 },
    },
    log,
    hns: recording(host.hns, calls, seen),
    routes: host.routes,
    subnetManager: timestamping(new EtcdSubnetManager({ endpoints: [endpoint], prefix, log }), received),
    metrics: new DaemonMetrics({ processMetrics: false }),
  });
  const controller = new AbortController();
  const started = performance.now();
  const running = daemon.run(controller.signal);
  running.catch(() => undefined);
  await waitFor(() => daemon.ready(), { timeoutMs: 120_000, intervalMs: 5, what: 'daemon ready' });
  const readyAt = performance.now();
  return {
    calls,
    seen,
    received,
    daemon,
    startupMs: readyAt - started,
    stop: async () => {
      controller.abort();
      await running.catch(() => undefined);
      await host.close();
    },
  };
}

