/**
 * The simulator on its own, as a child process: a host holding the Overlay network and `n`
 * RemoteSubnetRoute policies, written to its state file, then its peak RSS on stdout (MiB).
 * Run with the daemon's V8 options, it tells how much of the daemon's peak is the simulator's.
 * Usage: node sim-host-alone.js <state-file> <n>
 */
import { openSimHost } from '../../src/sim/sim-host.js';
import type { ModifyNetworkSettingRequest, NetworkPolicy } from '../../src/hns/types.js';
import { benchPeer } from './bench-cluster.js';

const [stateFile, count] = process.argv.slice(2);
const n = Number(count);
const host = await openSimHost({ stateFile: stateFile!, publicIp: '192.168.1.10' });
const net = await host.hns.createNetwork({
  Name: 'flannel.4096',
  Type: 'Overlay',
  SchemaVersion: { Major: 2, Minor: 0 },
  Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.0.1.0/24', Routes: [{ NextHop: '10.0.1.1', DestinationPrefix: '0.0.0.0/0' }], Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }] }] }],
});
const policy = (i: number): NetworkPolicy => {
  const peer = benchPeer(i);
  return { Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: peer.subnet, IsolationId: 4096, ProviderAddress: peer.publicIp, DistributedRouterMacAddress: peer.vtepMac.replaceAll(':', '-') } };
};
for (let i = 0; i < n; i += 100) {
  const request: ModifyNetworkSettingRequest = { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: Array.from({ length: Math.min(100, n - i) }, (_, k) => policy(i + k)) } };
  await host.hns.modifyNetwork(net.ID!, request);
}
await host.close();
process.stdout.write(`${process.resourceUsage().maxRSS / 1024}\n`);
