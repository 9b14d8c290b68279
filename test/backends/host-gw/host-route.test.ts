import test from 'ava';
import fc from 'fast-check';
import { decidePeerRoute, segmentsOf, type HostRouteContext } from '../../../src/backends/host-gw/host-route.js';
import type { Lease } from '../../../src/lease/types.js';
import { formatIp4, formatIp4Net, parseIp4Net } from '../../../src/net/ip.js';
import { netInterface, route } from './fake-route-table.js';

function lease(cidr: string | undefined, publicIp: string, backendType = 'host-gw', nodeName?: string): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: cidr ? parseIp4Net(cidr) : undefined,
    ipv6Subnet: undefined,
    attrs: { publicIp, publicIpv6: null, backendType, backendData: undefined, backendV6Data: undefined },
    expiration: undefined,
    nodeName,
  };
}

const ctx: HostRouteContext = { interfaceIndex: 7, segments: [parseIp4Net('10.0.0.0/24')] };

test('a host-gw peer on our segment gets a route to its subnet via its PublicIP on our interface', (t) => {
  t.deepEqual(decidePeerRoute(lease('10.244.2.0/24', '10.0.0.12'), ctx), {
    kind: 'route',
    key: '10.244.2.0/24',
    spec: { destination: '10.244.2.0/24', nextHop: '10.0.0.12', interfaceIndex: 7 },
  });
});

test('the backend type compares case-insensitively, as flannel on Windows does', (t) => {
  for (const type of ['host-gw', 'Host-GW', 'HOST-GW']) {
    t.is(decidePeerRoute(lease('10.244.2.0/24', '10.0.0.12', type), ctx).kind, 'route', type);
  }
});

test('peers of another backend, or without an IPv4 subnet, are ignored', (t) => {
  const vxlan = decidePeerRoute(lease('10.244.2.0/24', '10.0.0.12', 'vxlan'), ctx);
  t.is(vxlan.kind, 'ignore');
  t.is(vxlan.key, '10.244.2.0/24');
  t.regex(vxlan.kind === 'ignore' ? vxlan.reason : '', /"vxlan", not host-gw/);
  t.is(decidePeerRoute(lease(undefined, '10.0.0.12'), ctx).kind, 'ignore');
});

test('a peer without a usable PublicIP is unusable', (t) => {
  for (const ip of ['', '0.0.0.0', 'not-an-ip']) {
    const d = decidePeerRoute(lease('10.244.2.0/24', ip), ctx);
    t.is(d.kind === 'unusable' ? d.code : d.kind, 'BAD_PUBLIC_IP', ip);
  }
});

test('a peer off our L2 segment is unusable, with a warning naming the node', (t) => {
  const named = decidePeerRoute(lease('10.244.5.0/24', '192.168.7.3', 'host-gw', 'win-node-5'), ctx);
  t.is(named.kind, 'unusable');
  if (named.kind !== 'unusable') return;
  t.is(named.code, 'PEER_NOT_ON_SEGMENT');
  t.is(named.key, '10.244.5.0/24');
  t.regex(named.reason, /^host-gw peer win-node-5 \(PublicIP 192\.168\.7\.3, subnet 10\.244\.5\.0\/24\) is not on this node's L2 segment \[10\.0\.0\.0\/24\]/);
  const unnamed = decidePeerRoute(lease('10.244.5.0/24', '192.168.7.3'), ctx);
  t.regex(unnamed.kind === 'unusable' ? unnamed.reason : '', /^host-gw peer 192\.168\.7\.3 /);
});

test('with no known segment every host-gw peer is routed (flannel does not check)', (t) => {
  t.is(decidePeerRoute(lease('10.244.5.0/24', '192.168.7.3'), { interfaceIndex: 7, segments: [] }).kind, 'route');
});

test('property: a peer is routed exactly when its PublicIP lies in one of the segments', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.integer({ min: 1, max: 0xfffffffe }), fc.integer({ min: 8, max: 30 }), fc.integer({ min: 1, max: 0xfffffffe }), (segIp, len, peerIp) => {
      const segment = parseIp4Net(`${formatIp4(segIp)}/${len}`);
      const d = decidePeerRoute(lease('10.244.2.0/24', formatIp4(peerIp)), { interfaceIndex: 3, segments: [segment] });
      const mask = (0xffffffff << (32 - len)) >>> 0;
      const inside = ((segIp & mask) >>> 0) === ((peerIp & mask) >>> 0);
      return d.kind === (inside ? 'route' : 'unusable');
    }),
  ));
});

test('the segment comes from the widest on-link route of the interface that holds its address', (t) => {
  const iface = netInterface(7, 'vEthernet (Ethernet)', '10.0.0.5');
  const routes = [
    route('0.0.0.0/0', '10.0.0.1', 7),
    route('10.0.0.0/24', '0.0.0.0', 7),
    route('10.0.0.5/32', '0.0.0.0', 7),
    route('10.0.0.255/32', '0.0.0.0', 7),
    route('10.0.0.0/16', '0.0.0.0', 9), // another interface
    route('10.0.0.0/20', '10.0.0.1', 7), // not on-link
    route('172.16.0.0/16', '0.0.0.0', 7), // does not hold the address
  ];
  t.deepEqual(segmentsOf(iface, routes).map(formatIp4Net), ['10.0.0.0/24']);
  t.deepEqual(segmentsOf(iface, [route('10.0.0.5/32', '0.0.0.0', 7)]), []);
});
