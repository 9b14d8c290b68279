import { FlannelWinError } from '../errors.js';
import type { HnsClient } from '../hns/client.js';
import type { Logger } from '../log.js';
import type { RouteTable } from '../routes/route-table.js';
import { openDataplane, resolveDataplane, type DataplaneChoice } from './dataplane.js';

/** A tool that promised to be read-only tried to write to the host. */
export class ReadOnlyViolation extends FlannelWinError {}

const HNS_READS = ['listNetworks', 'getNetwork', 'getNetworkByName', 'listEndpoints', 'getEndpoint'] as const;
const ROUTE_READS = ['listRoutes', 'listInterfaces'] as const;

function refuse(call: string): never {
  throw new ReadOnlyViolation('READ_ONLY', `${call} refused: this command only reads the host`, { call });
}

/**
 * The reading half of the host's APIs. Every write throws ReadOnlyViolation before it reaches
 * the driver, so `plan` and `support-bundle` cannot change HNS or the route table whatever code
 * path they take.
 */
export function readOnlyHost(hns: HnsClient, routes: RouteTable): { hns: HnsClient; routes: RouteTable } {
  const roHns: Record<string, unknown> = {};
  for (const name of HNS_READS) roHns[name] = (...args: unknown[]) => (hns[name] as (...a: unknown[]) => unknown).apply(hns, args);
  for (const name of ['createNetwork', 'modifyNetwork', 'deleteNetwork', 'createEndpoint', 'modifyEndpoint', 'deleteEndpoint', 'attachEndpointToHost']) {
    roHns[name] = async () => refuse(name);
  }
  const roRoutes: Record<string, unknown> = {};
  for (const name of ROUTE_READS) roRoutes[name] = (...args: unknown[]) => (routes[name] as (...a: unknown[]) => unknown).apply(routes, args);
  for (const name of ['addRoute', 'deleteRoute', 'setForwarding']) roRoutes[name] = async () => refuse(name);
  return { hns: roHns as unknown as HnsClient, routes: roRoutes as unknown as RouteTable };
}

/**
 * The host chosen by --dataplane, for reading only: the simulator from one read of its file
 * (left byte for byte as it is), the real HNS and route table behind `readOnlyHost`.
 */
export async function openReadOnlyHost(options: { dataplane: DataplaneChoice; simState: string; platform: NodeJS.Platform; log: Logger }): Promise<{ hns: HnsClient; routes: RouteTable; close(): Promise<void> }> {
  if (resolveDataplane(options.dataplane, options.platform) === 'sim') {
    const { readSimHostSnapshot } = await import('../sim/sim-host-snapshot.js');
    return { ...(await readSimHostSnapshot(options.simState)), close: async () => undefined };
  }
  const dataplane = await openDataplane({ choice: options.dataplane, platform: options.platform, simState: options.simState, simHnsLatencyMs: 0, log: options.log });
  return { ...readOnlyHost(dataplane.hns, dataplane.routes), close: () => dataplane.close() };
}
