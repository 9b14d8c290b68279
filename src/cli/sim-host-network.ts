import { FlannelWinError } from '../errors.js';
import type { HostComputeNetwork } from '../hns/types.js';

/** Network types the daemon creates: vxlan's Overlay and host-gw's L2Bridge. */
const DAEMON_NETWORK_TYPES = new Set(['Overlay', 'L2Bridge']);

/**
 * The daemon's network on a simulated host: the one named by `--network`, else the only Overlay
 * or L2Bridge network there is. The state file does not record which network a daemon owns, so
 * with several candidates the operator must say.
 */
export function chooseDaemonNetwork(networks: readonly HostComputeNetwork[], name: string | undefined, file: string): HostComputeNetwork {
  if (name !== undefined) {
    const named = networks.find((n) => n.Name === name);
    if (!named) throw new FlannelWinError('SIM_NETWORK_NOT_FOUND', `no network named "${name.slice(0, 64)}" on the simulated host`, { file, network: name.slice(0, 64), networks: networks.map((n) => n.Name) });
    return named;
  }
  const candidates = networks.filter((n) => DAEMON_NETWORK_TYPES.has(n.Type ?? 'NAT'));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    throw new FlannelWinError('SIM_NETWORK_NOT_FOUND', 'the simulated host has no Overlay or L2Bridge network yet (start the daemon on it first)', { file });
  }
  throw new FlannelWinError('SIM_NETWORK_AMBIGUOUS', `the simulated host has several networks; name one with --network (${candidates.map((n) => n.Name).join(', ')})`, { file, networks: candidates.map((n) => n.Name) });
}
