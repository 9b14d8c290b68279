import { setTimeout as delay } from 'node:timers/promises';
import { HCN_E, HnsError, type HnsClient } from '../hns/client.js';
import type { HostComputeEndpoint, HostComputeNetwork, ModifyEndpointSettingRequest, ModifyNetworkSettingRequest } from '../hns/types.js';
import { silentLogger, type Logger } from '../log.js';
import { RouteError, routeErrorCodeFor, type AddressFamily, type HostRoute, type NetInterface, type RouteTable } from '../routes/route-table.js';
import { FaultPlan, SIM_READ_OPERATIONS, SIM_WRITE_OPERATIONS, type SimFaults, type SimOperation } from './fault-plan.js';
import { HnsModel } from './hns-model.js';
import { HostNetModel } from './host-net-model.js';
import { cryptoIdSource, idSourceFrom } from './identity.js';
import { fileFingerprint, parseSimState, readSimStateVersion, SIM_STATE_VERSION, writeSimStateAtomically, type SimStateDocument } from './state-file.js';
import { StateFileSync } from './state-sync.js';

export const SIM_DEFAULTS = {
  publicIp: '192.168.1.10',
  interfaceName: 'Ethernet',
  /** Index of the physical uplink on a fresh host (Windows' first Ethernet is often 4-ish). */
  interfaceIndex: 4,
  mtu: 1500,
  flushDelayMs: 20,
} as const;

export interface SimHostOptions {
  /** The JSON state file (see state-file.ts); created when missing, loaded when present. */
  stateFile: string;
  /** The uplink's IPv4 address on a fresh host (ignored when the file exists). */
  publicIp?: string;
  /** The uplink's name on a fresh host, "Ethernet" by default. */
  interfaceName?: string;
  mtu?: number;
  /** Awaited before every call, as the floor of a real HNS call's latency. */
  latencyMs?: number;
  faults?: SimFaults;
  flushDelayMs?: number;
  log?: Logger;
  /**
   * Calls for which an adapter that was just swapped for (or back from) a vEthernet adapter
   * reports `up: false`, modelling the host's brief loss of connectivity. 0 (default): none.
   */
  switchCutoffCalls?: number;
  /** Seeded random source for fault percentages and generated ids; crypto-random ids otherwise. */
  random?: () => number;
}

export interface SimHost {
  hns: HnsClient;
  routes: RouteTable;
  /** Calls received per write operation, `writes` (their total), `reads` and `faults` (injected failures). */
  counters(): Record<string, number>;
  /** Replaces the injected faults; `{}` clears them. */
  injectFault(faults: SimFaults): void;
  setLatency(ms: number): void;
  /** Writes unsaved state to the file now. */
  flush(): Promise<void>;
  /** Flushes and stops; later calls fail with HCN_E_MANAGER_STOPPED. */
  close(): Promise<void>;
  /** File writes performed and foreign edits adopted (for tests and the cost benchmark). */
  fileStats(): { writes: number; reloads: number };
}

/** The name Windows APIs would report for each operation, for error messages. */
const CALL_NAMES: Record<SimOperation, string> = {
  createNetwork: 'HcnCreateNetwork', modifyNetwork: 'HcnModifyNetwork', deleteNetwork: 'HcnDeleteNetwork',
  createEndpoint: 'HcnCreateEndpoint', modifyEndpoint: 'HcnModifyEndpoint', deleteEndpoint: 'HcnDeleteEndpoint',
  attachEndpoint: 'HNSCall POST /endpoints/<id>/attach', listNetworks: 'HcnEnumerateNetworks', getNetwork: 'HcnQueryNetworkProperties',
  getNetworkByName: 'HcnEnumerateNetworks', listEndpoints: 'HcnEnumerateEndpoints', getEndpoint: 'HcnQueryEndpointProperties',
  addRoute: 'CreateIpForwardEntry2', deleteRoute: 'DeleteIpForwardEntry2', setForwarding: 'SetIpInterfaceEntry',
  listRoutes: 'GetIpForwardTable2', listInterfaces: 'GetAdaptersAddresses', getForwarding: 'GetIpInterfaceEntry',
};

const ROUTE_OPERATIONS = new Set<SimOperation>(['addRoute', 'deleteRoute', 'setForwarding', 'getForwarding', 'listRoutes', 'listInterfaces']);

/** Opens (or creates) a simulated Windows host backed by `options.stateFile`. */
export async function openSimHost(options: SimHostOptions): Promise<SimHost> {
  const log = (options.log ?? silentLogger()).child({ component: 'sim-host', stateFile: options.stateFile });
  const ids = options.random ? idSourceFrom(options.random) : cryptoIdSource();
  const random = options.random ?? Math.random;
  // The text and its fingerprint as one version: another process (the daemon, `flannel-win sim`)
  // may replace the file while we open it.
  const loaded = await readSimStateVersion(options.stateFile);
  const existing = loaded && parseSimState(loaded.text, options.stateFile);
  const initial: SimStateDocument = existing ?? freshState(options);

  let net!: HostNetModel;
  let hnsModel!: HnsModel;
  const counters = zeroCounters();
  const load = (doc: SimStateDocument): void => {
    net = new HostNetModel({ interfaces: doc.interfaces, routes: doc.routes, nextInterfaceIndex: 0 });
    net.setSwitchCutoff(options.switchCutoffCalls ?? 0);
    hnsModel = new HnsModel({ net, ids }, { networks: doc.networks, endpoints: doc.endpoints });
  };
  load(initial);
  Object.assign(counters, initial.counters);
  const snapshot = (): SimStateDocument => {
    const hostNet = net.snapshot();
    return { version: SIM_STATE_VERSION, ...hnsModel.snapshot(), interfaces: hostNet.interfaces, routes: hostNet.routes, counters: { ...counters } };
  };
  const baseText = loaded ? loaded.text : await writeSimStateAtomically(options.stateFile, initial);
  const sync = new StateFileSync({
    file: options.stateFile,
    flushDelayMs: options.flushDelayMs ?? SIM_DEFAULTS.flushDelayMs,
    log,
    snapshot,
    // The merged document carries our counts plus what other processes added since.
    adopt: (doc) => {
      load(doc);
      Object.assign(counters, doc.counters);
    },
    fingerprint: loaded ? loaded.fingerprint : await fileFingerprint(options.stateFile),
    baseText,
  });
  log.debug({ created: !existing }, 'simulated host opened');

  const faults = new FaultPlan(random, options.faults);
  let latencyMs = options.latencyMs ?? 0;
  let closed = false;

  async function call<T>(operation: SimOperation, run: () => T, target?: string): Promise<T> {
    const write = (SIM_WRITE_OPERATIONS as readonly string[]).includes(operation);
    if (closed) throw failure(operation, HCN_E.MANAGER_STOPPED, 'the simulated host is closed', { closed: true });
    if (latencyMs > 0) await delay(latencyMs);
    await sync.refresh();
    net.tick();
    if (write) {
      counters[operation] = (counters[operation] ?? 0) + 1;
      counters['writes'] = (counters['writes'] ?? 0) + 1;
    } else {
      counters['reads'] = (counters['reads'] ?? 0) + 1;
    }
    const hresult = faults.draw(operation);
    if (hresult !== undefined) {
      counters['faults'] = (counters['faults'] ?? 0) + 1;
      sync.touched();
      throw failure(operation, hresult, 'injected fault', { injected: true });
    }
    try {
      return run();
    } finally {
      // A refused write changes nothing but its counter; the next write carries it.
      if (write) {
        sync.changed();
        // One debug line per write, as the HCN driver logs each call: its timestamp is the
        // moment the simulated host received the call (what the policy benchmark times).
        log.debug({ call: CALL_NAMES[operation], ...(target !== undefined ? { id: target } : {}) }, 'simulated HNS write');
      } else {
        sync.touched();
      }
    }
  }

  const hns: HnsClient = {
    listNetworks: (filter) => call('listNetworks', () => hnsModel.listNetworks(filter)),
    getNetwork: (id) => call('getNetwork', () => hnsModel.getNetwork(id)),
    getNetworkByName: (name) => call('getNetworkByName', () => hnsModel.listNetworks({ name })[0]),
    createNetwork: (network: HostComputeNetwork) => call('createNetwork', () => hnsModel.createNetwork(network)),
    modifyNetwork: (id: string, request: ModifyNetworkSettingRequest) => call('modifyNetwork', () => hnsModel.modifyNetwork(id, request), id),
    deleteNetwork: (id) => call('deleteNetwork', () => hnsModel.deleteNetwork(id)),
    listEndpoints: (filter) => call('listEndpoints', () => hnsModel.listEndpoints(filter)),
    getEndpoint: (id) => call('getEndpoint', () => hnsModel.getEndpoint(id)),
    createEndpoint: (networkId: string, endpoint: HostComputeEndpoint) => call('createEndpoint', () => hnsModel.createEndpoint(networkId, endpoint)),
    modifyEndpoint: (id: string, request: ModifyEndpointSettingRequest) => call('modifyEndpoint', () => hnsModel.modifyEndpoint(id, request), id),
    deleteEndpoint: (id) => call('deleteEndpoint', () => hnsModel.deleteEndpoint(id), id),
    attachEndpointToHost: (id) => call('attachEndpoint', () => hnsModel.attachEndpointToHost(id)),
  };

  const routes: RouteTable = {
    listRoutes: (family: AddressFamily) => call('listRoutes', () => net.listRoutes(family)),
    addRoute: (route: HostRoute) => call('addRoute', () => net.addRoute(route)),
    deleteRoute: (route: HostRoute) => call('deleteRoute', () => net.deleteRoute(route)),
    listInterfaces: (): Promise<NetInterface[]> => call('listInterfaces', () => net.listInterfaces()),
    // The real driver reads the interface row first and writes only when the flag differs
    // (GetIpInterfaceEntry, then SetIpInterfaceEntry): a no-op is a read here too.
    setForwarding: (index: number, family: AddressFamily, enabled: boolean) =>
      net.forwarding(index, family) === enabled
        ? call('getForwarding', () => undefined)
        : call('setForwarding', () => net.setForwarding(index, family, enabled)),
  };

  return {
    hns,
    routes,
    counters: () => ({ ...counters }),
    injectFault: (f) => faults.set(f),
    setLatency: (ms) => {
      latencyMs = ms;
    },
    flush: () => sync.flush(),
    close: async () => {
      if (closed) return;
      closed = true;
      await sync.close();
      log.debug({ counters }, 'simulated host closed');
    },
    fileStats: () => ({ writes: sync.fileWrites, reloads: sync.reloads }),
  };
}

function freshState(options: SimHostOptions): SimStateDocument {
  const hostNet = HostNetModel.fresh({
    name: options.interfaceName ?? SIM_DEFAULTS.interfaceName,
    index: SIM_DEFAULTS.interfaceIndex,
    ipv4: options.publicIp ?? SIM_DEFAULTS.publicIp,
    mtu: options.mtu ?? SIM_DEFAULTS.mtu,
  }).snapshot();
  return { version: SIM_STATE_VERSION, networks: [], endpoints: [], interfaces: hostNet.interfaces, routes: hostNet.routes, counters: zeroCounters() };
}

function zeroCounters(): Record<string, number> {
  return Object.fromEntries([...SIM_WRITE_OPERATIONS, 'writes', 'reads', 'faults'].map((k) => [k, 0]));
}

/**
 * An injected or shutdown failure in the error type the real driver would throw: HnsError for
 * HNS calls, RouteError (with the Win32 code a FACILITY_WIN32 HRESULT reduces to) for routes.
 */
function failure(operation: SimOperation, hresult: number, message: string, context: Record<string, unknown>): Error {
  const call = CALL_NAMES[operation];
  if (!ROUTE_OPERATIONS.has(operation)) return new HnsError(call, hresult, message, { operation, ...context });
  const win32 = ((hresult >>> 0) & 0x1fff0000) === 0x00070000 ? hresult & 0xffff : hresult >>> 0;
  return new RouteError(routeErrorCodeFor(win32), call, win32, message, { operation, ...context });
}

export { SIM_READ_OPERATIONS, SIM_WRITE_OPERATIONS };
