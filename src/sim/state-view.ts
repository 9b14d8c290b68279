import type { RemoteSubnetRoutePolicySetting } from '../hns/types.js';
import { readSimState, SimStateError, type SimStateDocument } from './state-file.js';

/**
 * Read-only views of a simulated host's state file, for the demo and the end-to-end tests:
 * they look at the host the way an operator would, through the file, never through the
 * daemon.
 */
export async function readHostFile(file: string): Promise<SimStateDocument> {
  const state = await readSimState(file);
  // A viewer asks about a host that must exist; the simulator itself treats absence as "fresh".
  if (!state) throw new SimStateError('the simulated host file does not exist (yet)', { file });
  return state;
}

export function networkNamed(state: SimStateDocument, name: string) {
  return state.networks.find((n) => n.Name === name);
}

export function remoteSubnetRoutes(state: SimStateDocument, networkName: string): RemoteSubnetRoutePolicySetting[] {
  const network = networkNamed(state, networkName);
  return (network?.Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute').map((p) => p.Settings as RemoteSubnetRoutePolicySetting);
}

export function writeCount(state: SimStateDocument): number {
  return state.counters['writes'] ?? 0;
}
