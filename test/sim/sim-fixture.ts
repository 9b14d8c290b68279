import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { HnsError } from '../../src/hns/client.js';
import type { HostComputeEndpoint, HostComputeNetwork, ModifyNetworkSettingRequest, NetworkPolicy } from '../../src/hns/types.js';
import { openSimHost, type SimHost, type SimHostOptions } from '../../src/sim/sim-host.js';
import { seededRandom } from '../../src/sim/seeded-random.js';
import type { SimStateDocument } from '../../src/sim/state-file.js';

/** A fresh state file in its own temp dir, removed after the test. */
export async function tempStateFile(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-sim-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'host.json');
}

export async function openTestHost(t: ExecutionContext, options: Partial<SimHostOptions> = {}): Promise<SimHost & { stateFile: string }> {
  const stateFile = options.stateFile ?? (await tempStateFile(t));
  const host = await openSimHost({ random: seededRandom(42), ...options, stateFile });
  t.teardown(() => host.close());
  return Object.assign(host, { stateFile });
}

export async function readState(file: string): Promise<SimStateDocument> {
  return JSON.parse(await readFile(file, 'utf8')) as SimStateDocument;
}

export function overlayNetwork(overrides: Partial<HostComputeNetwork> = {}): HostComputeNetwork {
  return {
    Name: 'flannel.4096',
    Type: 'Overlay',
    Flags: 8,
    SchemaVersion: { Major: 2, Minor: 0 },
    Ipams: [{
      Type: 'Static',
      Subnets: [{
        IpAddressPrefix: '10.244.1.0/24',
        Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }],
        Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }],
      }],
    }],
    Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
    ...overrides,
  };
}

export function l2BridgeNetwork(name = 'cbr0'): HostComputeNetwork {
  return {
    Name: name,
    Type: 'L2Bridge',
    SchemaVersion: { Major: 2, Minor: 0 },
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
  };
}

export function remoteSubnetRoute(prefix: string, providerAddress = '192.168.1.12', mac = '00-15-5D-AA-BB-CC'): NetworkPolicy {
  return { Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: prefix, IsolationId: 4096, ProviderAddress: providerAddress, DistributedRouterMacAddress: mac } };
}

export function policyRequest(requestType: 'Add' | 'Remove' | 'Update', policies: NetworkPolicy[]): ModifyNetworkSettingRequest {
  return { ResourceType: 'Policy', RequestType: requestType, Settings: { Policies: policies } };
}

export function remoteEndpoint(networkId: string, ip: string, pa = '192.168.1.12'): HostComputeEndpoint {
  return {
    HostComputeNetwork: networkId,
    IpConfigurations: [{ IpAddress: ip }],
    MacAddress: '02-11-0a-f4-02-05',
    Flags: 1,
    SchemaVersion: { Major: 2, Minor: 0 },
    Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: pa } }],
  };
}

/** Asserts that `promise` rejects with an HnsError carrying `hresult`; returns the error. */
export async function rejectsWithHresult(t: ExecutionContext, promise: Promise<unknown>, hresult: number): Promise<HnsError> {
  const err = await t.throwsAsync(promise, { instanceOf: HnsError });
  t.is(err?.hresult, hresult >>> 0, `expected 0x${hresult.toString(16)}, got ${err?.message}`);
  return err as HnsError;
}
