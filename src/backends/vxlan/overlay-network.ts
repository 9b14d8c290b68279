import type { HostComputeNetwork, NetworkPolicy } from '../../hns/types.js';
import { NetworkFlags, SCHEMA_V2 } from '../../hns/types.js';
import { formatIp4, formatIp4Net, maskIp4Net, tryParseIp4Net, type Ip4Net } from '../../net/ip.js';
import { normalizeMac } from '../../net/mac.js';
import { physicalAdapterName } from '../physical-adapter.js';

export interface OverlayNetworkParams {
  name: string;
  subnet: Ip4Net;
  vni: number;
  adapterName: string;
}

/** The Overlay network flannel creates on Windows (compat/flannel.md §6.3 step 4). */
export function buildOverlayNetwork(p: OverlayNetworkParams): HostComputeNetwork {
  const subnet = maskIp4Net(p.subnet);
  return {
    Name: p.name,
    Type: 'Overlay',
    Flags: NetworkFlags.EnableNonPersistent,
    SchemaVersion: SCHEMA_V2,
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: formatIp4Net(subnet),
            Routes: [{ NextHop: formatIp4(subnet.ip + 1), DestinationPrefix: '0.0.0.0/0' }],
            Policies: [{ Type: 'VSID', Settings: { IsolationId: p.vni } }],
          },
        ],
      },
    ],
    Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: p.adapterName } }],
  };
}

export interface AdoptionVerdict {
  adopt: boolean;
  /** Why it cannot be adopted, or what differs but is tolerated (VNI, adapter). */
  notes: string[];
}

/**
 * flannel's reuse rule: same name (the caller looked it up by name), Type Overlay and first
 * IPAM subnet equal to our subnet. A VNI that differs cannot be changed in place, so it is
 * reported rather than silently kept. Beyond flannel, a network that reports its adapter and
 * names another physical adapter than ours is not adopted: its traffic would leave through the
 * wrong NIC (a vSwitch's "vEthernet (X)" and X are the same adapter).
 */
export function judgeExistingOverlay(existing: HostComputeNetwork, wanted: OverlayNetworkParams): AdoptionVerdict {
  const notes: string[] = [];
  if ((existing.Type ?? 'NAT') !== 'Overlay') {
    return { adopt: false, notes: [`type is ${existing.Type ?? 'NAT'}, not Overlay`] };
  }
  const prefix = existing.Ipams?.[0]?.Subnets?.[0]?.IpAddressPrefix;
  const parsed = prefix ? tryParseIp4Net(prefix) : undefined;
  const want = formatIp4Net(maskIp4Net(wanted.subnet));
  if (!parsed || formatIp4Net(maskIp4Net(parsed)) !== want) {
    return { adopt: false, notes: [`subnet is ${prefix ?? 'missing'}, not ${want}`] };
  }
  const adapter = findPolicySettings(existing, 'NetAdapterName')?.['NetworkAdapterName'];
  if (typeof adapter === 'string' && adapter !== '' && physicalAdapterName(adapter) !== physicalAdapterName(wanted.adapterName)) {
    return { adopt: false, notes: [`adapter is "${adapter}", not "${physicalAdapterName(wanted.adapterName)}"`] };
  }
  const vsid = existing.Ipams?.[0]?.Subnets?.[0]?.Policies?.find((p) => p.Type === 'VSID')?.Settings.IsolationId;
  if (vsid !== undefined && vsid !== wanted.vni) notes.push(`VSID is ${vsid}, net-conf says VNI ${wanted.vni}`);
  return { adopt: true, notes };
}

function findPolicySettings(network: HostComputeNetwork, type: string): Record<string, unknown> | undefined {
  const policy: NetworkPolicy | undefined = network.Policies?.find((p) => p.Type === type);
  return policy ? (policy.Settings as Record<string, unknown>) : undefined;
}

/** The network's DR MAC in lowercase colon form (what we publish as VtepMAC). */
export function drMacOf(network: HostComputeNetwork): string | undefined {
  const address = findPolicySettings(network, 'DrMacAddress')?.['Address'];
  return typeof address === 'string' ? normalizeMac(address) : undefined;
}

/** The management IP HNS assigns to an Overlay network once its vSwitch is up. */
export function providerAddressOf(network: HostComputeNetwork): string | undefined {
  const address = findPolicySettings(network, 'ProviderAddress')?.['ProviderAddress'];
  return typeof address === 'string' && address !== '' ? address : undefined;
}

export function hasHostRoute(network: HostComputeNetwork): boolean {
  return findPolicySettings(network, 'HostRoute') !== undefined;
}
