import type { HnsClient } from '../hns/client.js';
import { FlannelWinError } from '../errors.js';
import type { RouteTable } from '../routes/route-table.js';
import { HnsModel } from './hns-model.js';
import { HostNetModel } from './host-net-model.js';
import { cryptoIdSource } from './identity.js';
import { readSimState } from './state-file.js';

/**
 * The simulated host as one read of its state file, for tools that must not change it (`plan`,
 * `support-bundle`): answers the read calls from memory and never touches the file again (no
 * call counters, no flush), so the file stays byte for byte what the daemon wrote. Writes throw.
 */
export async function readSimHostSnapshot(stateFile: string): Promise<{ hns: HnsClient; routes: RouteTable }> {
  const doc = await readSimState(stateFile);
  if (doc === undefined) throw new FlannelWinError('SIM_STATE_MISSING', `no simulated host at ${stateFile} (--sim-state): the daemon creates it on its first start`, { simState: stateFile });
  const net = new HostNetModel({ interfaces: doc.interfaces, routes: doc.routes, nextInterfaceIndex: 0 });
  const model = new HnsModel({ net, ids: cryptoIdSource() }, { networks: doc.networks, endpoints: doc.endpoints });
  const refuse = (call: string) => async (): Promise<never> => {
    throw new FlannelWinError('READ_ONLY', `${call} refused: a snapshot of the simulated host is read-only`, { call });
  };
  const hns: HnsClient = {
    listNetworks: async (filter) => model.listNetworks(filter),
    getNetwork: async (id) => model.getNetwork(id),
    getNetworkByName: async (name) => model.listNetworks({ name })[0],
    listEndpoints: async (filter) => model.listEndpoints(filter),
    getEndpoint: async (id) => model.getEndpoint(id),
    createNetwork: refuse('createNetwork'),
    modifyNetwork: refuse('modifyNetwork'),
    deleteNetwork: refuse('deleteNetwork'),
    createEndpoint: refuse('createEndpoint'),
    modifyEndpoint: refuse('modifyEndpoint'),
    deleteEndpoint: refuse('deleteEndpoint'),
    attachEndpointToHost: refuse('attachEndpointToHost'),
  };
  const routes: RouteTable = {
    listRoutes: async (family) => net.listRoutes(family),
    listInterfaces: async () => net.listInterfaces(),
    addRoute: refuse('addRoute'),
    deleteRoute: refuse('deleteRoute'),
    setForwarding: refuse('setForwarding'),
  };
  return { hns, routes };
}
