import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { policyController } from '../../src/daemon/policy-controller.js';
import type { AclPolicySetting } from '../../src/hns/types.js';
import type { ClusterEvent } from '../../src/kube/cluster-watch.js';
import { readNetworkPolicy } from '../../src/kube/network-policy-view.js';
import { newViewPools, readPod } from '../../src/kube/pod-view.js';
import { LocalSubnetManager } from '../../src/lease/local/local-subnet-manager.js';
import { silentLogger } from '../../src/log.js';
import type { NamespaceView, PodView, PolicyView } from '../../src/policy/model.js';
import { cniEndpointDocument } from '../../src/sim/cni-endpoint.js';
import { openSimHost } from '../../src/sim/sim-host.js';
import { waitFor } from '../support/wait.js';

const CIDRS = { clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };
const pools = newViewPools();

function pod(name: string, ip: string): PodView {
  return readPod({ metadata: { name, namespace: 'default', labels: { app: name } }, spec: { nodeName: 'win-1' }, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } }, pools)!;
}

const DENY: PolicyView = readNetworkPolicy({ metadata: { name: 'deny', namespace: 'default' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } })!;

test('in the daemon: the CNI config task runs only after the first policy apply; a pod that moves to a new endpoint takes its ACLs along', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'policy-controller-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = silentLogger();
  const host = await openSimHost({ stateFile: join(dir, 'host.json'), publicIp: '192.168.1.10' });
  t.teardown(() => host.close());
  let emit: ((event: ClusterEvent) => void) | undefined;
  const aclsAt = async (ip: string): Promise<AclPolicySetting[]> => {
    const endpoint = (await host.hns.listEndpoints()).find((e) => e.IpConfigurations?.some((c) => c.IpAddress === ip));
    return (endpoint?.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => p.Settings as AclPolicySetting);
  };
  const seenByTask: number[] = [];
  let podIp = '';
  const daemon = new Daemon({
    options: { subnetFile: join(dir, 'subnet.env'), ipMasq: false, iface: [], ifaceRegex: [], publicIp: '192.168.1.10', resyncIntervalMs: 3_600_000, backendTimings: { pollMs: 5 } },
    log,
    hns: host.hns,
    routes: host.routes,
    subnetManager: new LocalSubnetManager({ path: join(dir, 'leases.json'), log, pollMs: 20 }),
    metrics: new DaemonMetrics({ processMetrics: false }),
    controllers: [
      policyController({
        nodeName: async () => 'win-1',
        watch: (onEvent, signal) => {
          emit = onEvent;
          return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        },
        endpointWait: { baseMs: 5, maxMs: 20 },
      }),
    ],
    convergedTasks: [{ name: 'write the CNI config', run: async () => void seenByTask.push((await aclsAt(podIp)).length) }],
  });
  const stop = new AbortController();
  const running = daemon.run(stop.signal);
  t.teardown(async () => {
    stop.abort();
    await running.catch(() => undefined);
  });

  const status = () => daemon.status() as { controllers: Record<string, Record<string, unknown>> };
  await waitFor(() => status().controllers['peers']?.['converged'] && emit, { what: 'the network and the policy watch' });
  const network = (await host.hns.listNetworks())[0]!;
  const subnet = (network.Ipams?.[0]?.Subnets[0]?.IpAddressPrefix ?? '').split('/')[0]!.split('.');
  const ipOf = (n: number) => [...subnet.slice(0, 3), String(n)].join('.');
  podIp = ipOf(10);
  await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: podIp, ...CIDRS }));
  t.false(daemon.ready(), 'no policy snapshot yet: not ready');
  t.deepEqual(seenByTask, [], 'the CNI config waits for the policy controller');

  const web = pod('web', podIp);
  emit!({ type: 'snapshot', views: { pods: new Map([['default/web', web]]), namespaces: new Map<string, NamespaceView>(), policies: new Map([['default/deny', DENY]]) } });
  await waitFor(() => daemon.ready(), { what: 'ready after the first policy apply' });
  t.is(seenByTask.length, 1);
  t.true(seenByTask[0]! > 0, 'the endpoint held its ACLs when the CNI config task ran');

  // The pod gets a new address and the CNI a new endpoint: the ACLs follow the pod; the old
  // endpoint, now nobody's, is not touched again.
  const oldAcls = await aclsAt(podIp);
  const newIp = ipOf(11);
  emit!({ type: 'upsert', kind: 'Pod', key: 'default/web', object: pod('web', newIp), previous: web });
  await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: newIp, ...CIDRS }));
  await waitFor(async () => (await aclsAt(newIp)).length > 0, { what: 'the new endpoint to get the ACLs' });
  const moved = await aclsAt(newIp);
  t.deepEqual(moved.map((a) => a.Id), oldAcls.map((a) => a.Id), 'the same rules');
  t.true(moved.find((a) => a.Id === 'flannel-win:node:in')!.RemoteAddresses!.includes(`${newIp}/32`), 'compiled for the new address');
  t.is(status().controllers['policy']!['localEndpoints'], 1);

  // The policy goes away: the pod's ACLs are removed with one write.
  emit!({ type: 'delete', kind: 'NetworkPolicy', key: 'default/deny', previous: DENY });
  await waitFor(async () => (await aclsAt(newIp)).length === 0, { what: 'the ACLs to be removed' });
  t.deepEqual(await aclsAt(podIp), oldAcls, 'the endpoint without a pod keeps what it had');
});
