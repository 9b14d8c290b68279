import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HostRoute } from '../../src/routes/route-table.js';
import type { ModifyNetworkSettingRequest, NetworkPolicy } from '../../src/hns/types.js';
import { openSimHost, type SimHost } from '../../src/sim/sim-host.js';
import { seededRandom } from '../../src/sim/seeded-random.js';

type Report = (name: string, value: number, unit: string, bound?: string) => void;

const SIZES = [50, 500, 5000] as const;
const ROUNDS = 9;
const PAIRS_PER_ROUND = 300;

function rsr(i: number): NetworkPolicy {
  return {
    Type: 'RemoteSubnetRoute',
    Settings: { DestinationPrefix: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, IsolationId: 4096, ProviderAddress: '192.168.1.12', DistributedRouterMacAddress: '00-15-5D-00-00-01' },
  };
}

function request(type: 'Add' | 'Remove', policies: NetworkPolicy[]): ModifyNetworkSettingRequest {
  return { ResourceType: 'Policy', RequestType: type, Settings: { Policies: policies } };
}

function route(i: number, interfaceIndex: number): HostRoute {
  return { destination: `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, nextHop: '192.168.1.12', interfaceIndex, metric: 0, protocol: 3 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** One host per size, pre-filled with `size` objects; `pair(i)` makes two calls that leave it as it was. */
interface Subject {
  size: number;
  host: SimHost;
  pair: (i: number) => Promise<void>;
  samples: number[];
}

async function modifySubject(dir: string, size: number): Promise<Subject> {
  const host = await openSimHost({ stateFile: join(dir, `modify-${size}.json`), random: seededRandom(size) });
  const net = await host.hns.createNetwork({
    Name: 'flannel.4096', Type: 'Overlay', SchemaVersion: { Major: 2, Minor: 0 },
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }], Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }] }] }],
  });
  const id = net.ID!;
  await host.hns.modifyNetwork(id, request('Add', Array.from({ length: size }, (_, i) => rsr(i))));
  return {
    size, host, samples: [],
    pair: async (i) => {
      await host.hns.modifyNetwork(id, request('Add', [rsr(i)]));
      await host.hns.modifyNetwork(id, request('Remove', [rsr(i)]));
    },
  };
}

async function routeSubject(dir: string, size: number): Promise<Subject> {
  const host = await openSimHost({ stateFile: join(dir, `routes-${size}.json`), random: seededRandom(size) });
  const index = (await host.routes.listInterfaces())[0]!.index;
  for (let i = 0; i < size; i++) await host.routes.addRoute(route(i, index));
  return {
    size, host, samples: [],
    pair: async (i) => {
      await host.routes.addRoute(route(i, index));
      await host.routes.deleteRoute(route(i, index));
    },
  };
}

/**
 * Rounds alternate between the sizes, so a noisy neighbour slows all sizes alike and the median
 * per size compares like with like. State-file rewrites (batched) are part of the cost.
 */
async function measure(subjects: Subject[]): Promise<void> {
  let next = 1_000_000;
  for (const s of subjects) for (let w = 0; w < 100; w++) await s.pair(next++);
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of subjects) {
      const started = performance.now();
      for (let k = 0; k < PAIRS_PER_ROUND; k++) await s.pair(next++);
      s.samples.push(((performance.now() - started) * 1000) / (PAIRS_PER_ROUND * 2));
    }
  }
}

/**
 * What one simulated HNS/route call costs as the host fills up. The figure that matters is the
 * shape: cost at 5000 existing objects over cost at 50 should be ~1 (flat), since a call is an
 * index lookup plus one stat of the state file, and rewrites of the file are batched.
 */
export default async function run(report: Report): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-sim-bench-'));
  const subjects: Subject[] = [];
  try {
    const kinds = [
      { name: 'sim.modifyNetwork.remoteSubnetRoute.addRemove', open: modifySubject },
      { name: 'sim.routes.addDelete', open: routeSubject },
    ];
    for (const kind of kinds) {
      const group: Subject[] = [];
      for (const size of SIZES) group.push(await kind.open(dir, size));
      subjects.push(...group);
      const before = group.map((s) => ({ files: s.host.fileStats().writes, calls: s.host.counters()['writes'] ?? 0 }));
      await measure(group);
      group.forEach((s, i) => {
        report(`${kind.name}.at${s.size}`, median(s.samples), 'µs/call');
        const files = s.host.fileStats().writes - before[i]!.files;
        const calls = (s.host.counters()['writes'] ?? 0) - before[i]!.calls;
        report(`${kind.name}.stateFileWritesPer1000Calls.at${s.size}`, (1000 * files) / calls, 'writes', '< 1000 (batched)');
      });
      const first = group[0]!;
      const last = group[group.length - 1]!;
      report(`${kind.name}.ratio${last.size}to${first.size}`, median(last.samples) / median(first.samples), 'ratio', '~1 (flat)');
    }
  } finally {
    for (const s of subjects) await s.host.close();
    await rm(dir, { recursive: true, force: true });
  }
}
