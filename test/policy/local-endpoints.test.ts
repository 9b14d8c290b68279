import test from 'ava';
import type { HostComputeEndpoint } from '../../src/hns/types.js';
import { matchLocalEndpoints, type LocalPod } from '../../src/policy/local-endpoints.js';
import { cniEndpointDocument } from '../../src/sim/cni-endpoint.js';
import { l2BridgeNetwork, openTestHost, overlayNetwork, remoteEndpoint } from '../sim/sim-fixture.js';

const CIDRS = { clusterCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' };

function pod(key: string, ips: string[], hostNetwork = false): LocalPod {
  return { key, ips, hostNetwork };
}

/** A vxlan host with two pod endpoints, a remote endpoint and an endpoint of another network, as HNS lists them. */
async function overlayHost(t: Parameters<typeof openTestHost>[0]) {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(overlayNetwork());
  const other = await host.hns.createNetwork({ Name: 'nat', SchemaVersion: { Major: 2, Minor: 0 }, Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '172.20.0.0/24' }] }] });
  const a = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.5', ...CIDRS }));
  const b = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.6', ...CIDRS }));
  const remote = await host.hns.createEndpoint(network.ID!, remoteEndpoint(network.ID!, '10.244.2.5'));
  const foreign = await host.hns.createEndpoint(other.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: '172.20.0.7' }] });
  return { host, network, a, b, remote, foreign, endpoints: await host.hns.listEndpoints() };
}

test('local pods are matched to their endpoints by IP; hostNetwork pods, remote endpoints and other networks are left out', async (t) => {
  const { network, a, b, endpoints } = await overlayHost(t);
  t.is(endpoints.length, 4);
  const result = matchLocalEndpoints({
    endpoints,
    networkId: network.ID!.toUpperCase(),
    pods: [
      pod('default/web', ['10.244.1.5']),
      pod('default/db', ['10.244.1.6', 'fd00::6']),
      pod('kube-system/proxy', ['192.168.1.10'], true),
      // The remote endpoint's IP and the other network's IP are never ours, whoever claims them.
      pod('default/liar', ['10.244.2.5']),
      pod('default/nat', ['172.20.0.7']),
      pod('default/pending', []),
    ],
  });
  t.deepEqual([...result.byPod].sort(), [['default/db', b.ID!], ['default/web', a.ID!]]);
  t.deepEqual(result.waiting.sort(), ['default/liar', 'default/nat']);
  t.deepEqual(result.ambiguous, []);
});

test('an endpoint without a pod is in no result; a pod whose endpoint is not created yet is waiting', async (t) => {
  const { network, endpoints } = await overlayHost(t);
  const result = matchLocalEndpoints({ endpoints, networkId: network.ID!, pods: [pod('default/new', ['10.244.1.9'])] });
  t.deepEqual([...result.byPod], []);
  t.deepEqual(result.waiting, ['default/new']);
});

test('host-gw: the daemon\'s own <net>_ep is never a pod endpoint, even when a pod claims its address', async (t) => {
  const host = await openTestHost(t);
  const network = await host.hns.createNetwork(l2BridgeNetwork());
  const hostEp = await host.hns.createEndpoint(network.ID!, { Name: 'cbr0_ep', SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: '10.244.1.2' }] });
  const podEp = await host.hns.createEndpoint(network.ID!, cniEndpointDocument(network, { ip: '10.244.1.3', nodeIp: '192.168.1.10', ...CIDRS }));
  const endpoints = await host.hns.listEndpoints({ networkId: network.ID! });
  const result = matchLocalEndpoints({ endpoints, networkId: network.ID!, hostEndpointName: 'cbr0_ep', pods: [pod('a/x', ['10.244.1.2']), pod('a/y', ['10.244.1.3'])] });
  t.deepEqual([...result.byPod], [['a/y', podEp.ID!]]);
  t.deepEqual(result.waiting, ['a/x']);
  t.not(hostEp.ID, podEp.ID);
});

test('matching is never guessed: a shared IP or a shared endpoint is reported, not matched', (t) => {
  const net = '0b5f2c1e-3a4d-4c4e-9f00-000000000001';
  const ep = (id: string, ip: string): HostComputeEndpoint => ({ ID: id, HostComputeNetwork: net, SchemaVersion: { Major: 2, Minor: 0 }, IpConfigurations: [{ IpAddress: ip }] });
  const e1 = '0b5f2c1e-3a4d-4c4e-9f00-0000000000e1';
  const e2 = '0b5f2c1e-3a4d-4c4e-9f00-0000000000e2';
  const e3 = '0b5f2c1e-3a4d-4c4e-9f00-0000000000e3';
  const result = matchLocalEndpoints({
    endpoints: [ep(e1, '10.244.1.5'), ep(e2, '10.244.1.5'), ep(e3, '10.244.1.7')],
    networkId: net,
    pods: [pod('a/stale-twin', ['10.244.1.5']), pod('a/old', ['10.244.1.7']), pod('a/new', ['10.244.1.7'])],
  });
  t.deepEqual([...result.byPod], []);
  t.deepEqual(result.ambiguous, [
    { pod: 'a/stale-twin', endpointIds: [e1, e2], reason: 'shared-ip' },
    { pod: 'a/old', endpointIds: [e3], reason: 'shared-endpoint' },
    { pod: 'a/new', endpointIds: [e3], reason: 'shared-endpoint' },
  ]);
});
