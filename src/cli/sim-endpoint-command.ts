/**
 * `flannel-win sim endpoint add|remove`: plays the Windows CNI on a simulated host, adding or
 * removing a local pod endpoint on the daemon's network, as the tests, the demo and anyone
 * trying policies by hand need. Safe while a daemon runs on the same file: the simulator merges
 * the two processes' changes under the state file's lock.
 * @module
 */
import { FlannelWinError } from '../errors.js';
import type { HnsClient } from '../hns/client.js';
import type { RouteTable } from '../routes/route-table.js';
import { cniEndpointDocument } from '../sim/cni-endpoint.js';
import { openSimHost } from '../sim/sim-host.js';
import { readSimState } from '../sim/state-file.js';
import { formatIp4, tryParseIp4 } from '../net/ip.js';
import { chooseDaemonNetwork } from './sim-host-network.js';

export interface SimEndpointAddOptions {
  stateFile: string;
  ip: string;
  name?: string | undefined;
  network?: string | undefined;
  clusterCidr: string;
  serviceCidr: string;
}

export interface SimEndpointRemoveOptions {
  stateFile: string;
  ip: string;
  name?: string | undefined;
  network?: string | undefined;
}

async function withHost<T>(stateFile: string, run: (hns: HnsClient, routes: RouteTable) => Promise<T>): Promise<T> {
  // An endpoint on a host that does not exist is a typo in the path: never create a fresh host.
  if ((await readSimState(stateFile)) === undefined) {
    throw new FlannelWinError('SIM_STATE_MISSING', 'no simulated host in this file (start the daemon with --dataplane sim first)', { file: stateFile });
  }
  const host = await openSimHost({ stateFile });
  try {
    return await run(host.hns, host.routes);
  } finally {
    await host.close();
  }
}

/** The node's address as the CNI set-up script finds it: the IPv4 of the default route's interface. */
async function nodeIp(routes: RouteTable): Promise<string | undefined> {
  const defaultRoute = (await routes.listRoutes('ipv4')).find((r) => r.destination === '0.0.0.0/0');
  if (!defaultRoute) return undefined;
  return (await routes.listInterfaces()).find((i) => i.index === defaultRoute.interfaceIndex)?.ipv4Addresses[0];
}

/** Creates the endpoint and returns its id. */
export function addSimEndpoint(options: SimEndpointAddOptions): Promise<string> {
  return withHost(options.stateFile, async (hns, routes) => {
    const network = chooseDaemonNetwork(await hns.listNetworks(), options.network, options.stateFile);
    const document = cniEndpointDocument(network, { ip: options.ip, name: options.name, clusterCidr: options.clusterCidr, serviceCidr: options.serviceCidr, nodeIp: await nodeIp(routes) });
    const created = await hns.createEndpoint(network.ID!, document);
    return created.ID!;
  });
}

/** Deletes the local endpoint holding `ip` (and named `name`, when given); returns its id. */
export function removeSimEndpoint(options: SimEndpointRemoveOptions): Promise<string> {
  return withHost(options.stateFile, async (hns) => {
    const network = chooseDaemonNetwork(await hns.listNetworks(), options.network, options.stateFile);
    const ip = tryParseIp4(options.ip);
    if (ip === undefined) throw new FlannelWinError('SIM_ENDPOINT_INVALID', `--ip ${JSON.stringify(options.ip.slice(0, 64))} is not an IPv4 address`, { ip: options.ip.slice(0, 64) });
    const wanted = formatIp4(ip);
    const endpoints = (await hns.listEndpoints({ networkId: network.ID! })).filter((e) =>
      ((e.Flags ?? 0) & 1) === 0 && (e.IpConfigurations ?? []).some((c) => tryParseIp4(c.IpAddress) === ip) && (options.name === undefined || e.Name === options.name));
    const context = { file: options.stateFile, network: network.Name, ip: wanted, ...(options.name !== undefined ? { name: options.name } : {}) };
    if (endpoints.length === 0) throw new FlannelWinError('SIM_ENDPOINT_NOT_FOUND', `no local endpoint with IP ${wanted}${options.name !== undefined ? ` named "${options.name}"` : ''} on network "${network.Name}"`, context);
    if (endpoints.length > 1) throw new FlannelWinError('SIM_ENDPOINT_AMBIGUOUS', `several local endpoints hold ${wanted}; name one with --name`, { ...context, endpoints: endpoints.map((e) => e.Name ?? e.ID) });
    const endpoint = endpoints[0]!;
    if (endpoint.Name === `${network.Name}_ep`) {
      throw new FlannelWinError('SIM_ENDPOINT_NOT_A_POD', `"${endpoint.Name}" is the daemon's host endpoint, not a pod's`, context);
    }
    await hns.deleteEndpoint(endpoint.ID!);
    return endpoint.ID!;
  });
}
