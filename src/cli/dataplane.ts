import { FlannelWinError } from '../errors.js';
import type { HnsClient } from '../hns/client.js';
import { instrumentHnsClient, type HnsCallMetrics } from '../hns/instrumented-hns-client.js';
import type { Logger } from '../log.js';
import type { RouteTable } from '../routes/route-table.js';
import type { SimFaultSettings } from '../sim/fault-flags.js';

export type DataplaneChoice = 'auto' | 'hcn' | 'sim';

export interface Dataplane {
  /** "hcn" (computenetwork.dll + iphlpapi.dll) or "sim" (the simulated host in a file). */
  readonly kind: 'hcn' | 'sim';
  readonly hns: HnsClient;
  readonly routes: RouteTable;
  /** Flushes what the driver buffers (the simulator's state file). */
  close(): Promise<void>;
}

export interface DataplaneOptions {
  choice: DataplaneChoice;
  platform: NodeJS.Platform;
  simState: string;
  simHnsLatencyMs: number;
  /** Injected faults and the random seed of the simulated host (--sim-fault-*, --sim-seed). */
  sim?: SimFaultSettings;
  publicIp?: string | undefined;
  log: Logger;
  /** When given, every HNS call is counted and timed (flannel_win_hns_*). */
  metrics?: HnsCallMetrics | undefined;
}

/** `--dataplane auto` is hcn on Windows and the simulator everywhere else. */
export function resolveDataplane(choice: DataplaneChoice, platform: NodeJS.Platform): 'hcn' | 'sim' {
  return choice === 'auto' ? (platform === 'win32' ? 'hcn' : 'sim') : choice;
}

/**
 * The one place that knows which driver the daemon talks to (conventions: platform checks live
 * only where a driver is chosen). Drivers are imported lazily so that loading the simulator on
 * Linux never touches koffi's Windows bindings and vice versa.
 */
export async function openDataplane(options: DataplaneOptions): Promise<Dataplane> {
  const dataplane = await openDriver(options);
  return options.metrics ? { ...dataplane, hns: instrumentHnsClient(dataplane.hns, options.metrics) } : dataplane;
}

async function openDriver(options: DataplaneOptions): Promise<Dataplane> {
  const kind = resolveDataplane(options.choice, options.platform);
  if (kind === 'hcn') {
    if (options.platform !== 'win32') {
      throw new FlannelWinError('DATAPLANE_UNAVAILABLE', '--dataplane hcn needs Windows (computenetwork.dll); use --dataplane sim elsewhere', {
        platform: options.platform,
      });
    }
    const { loadHcnClient } = await import('../hns/hcn/hcn-client.js');
    const { loadIphlpapiRouteTable } = await import('../routes/iphlpapi/iphlpapi-route-table.js');
    const hns = loadHcnClient({ log: options.log });
    const routes = loadIphlpapiRouteTable({ log: options.log });
    options.log.info('dataplane: Windows HNS (computenetwork.dll) and IP helper (iphlpapi.dll)');
    return { kind, hns, routes, close: async () => undefined };
  }
  const { openSimHost } = await import('../sim/sim-host.js');
  const { seededRandom } = await import('../sim/seeded-random.js');
  const host = await openSimHost({
    stateFile: options.simState,
    latencyMs: options.simHnsLatencyMs,
    ...(options.sim ? { faults: options.sim.faults } : {}),
    ...(options.sim?.seed !== undefined ? { random: seededRandom(options.sim.seed) } : {}),
    ...(options.publicIp ? { publicIp: options.publicIp } : {}),
    log: options.log,
  });
  options.log.info({ simState: options.simState, latencyMs: options.simHnsLatencyMs, faults: options.sim?.faults, seed: options.sim?.seed }, 'dataplane: simulated Windows host (no real HNS)');
  return { kind: 'sim', hns: host.hns, routes: host.routes, close: () => host.close() };
}
