import test from 'ava';
import { decodeVxlanBackendData, encodeVxlanBackendData } from '../../../src/backends/vxlan/backend-data.js';
import { decidePeerRoute, fromPolicySetting, sameRoute, toPolicySetting } from '../../../src/backends/vxlan/remote-subnet-route.js';
import type { Lease } from '../../../src/lease/types.js';
import { parseIp4Net } from '../../../src/net/ip.js';

function peer(backendData: string | undefined, overrides: Partial<Lease['attrs']> = {}, nodeName?: string): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: parseIp4Net('10.244.2.0/24'),
    ipv6Subnet: undefined,
    attrs: { publicIp: '192.168.1.22', publicIpv6: null, backendType: 'vxlan', backendData, backendV6Data: undefined, ...overrides },
    expiration: undefined,
    ...(nodeName ? { nodeName } : {}),
  };
}

test('a Linux flannel vxlan lease becomes one RemoteSubnetRoute with flannel\'s fields', (t) => {
  const decision = decidePeerRoute(peer('{"VNI":4096,"VtepMAC":"52:A1:00:00:00:02"}'));
  t.deepEqual(decision, {
    kind: 'route',
    key: '10.244.2.0/24',
    spec: { destinationPrefix: '10.244.2.0/24', isolationId: 4096, providerAddress: '192.168.1.22', drMac: '52:a1:00:00:00:02' },
  });
  if (decision.kind !== 'route') return;
  t.is(
    JSON.stringify(toPolicySetting(decision.spec)),
    '{"DestinationPrefix":"10.244.2.0/24","IsolationId":4096,"ProviderAddress":"192.168.1.22","DistributedRouterMacAddress":"52:a1:00:00:00:02"}',
  );
});

test('backend type is compared case-insensitively, as flannel does', (t) => {
  t.is(decidePeerRoute(peer('{"VNI":4096,"VtepMAC":"52:a1:00:00:00:02"}', { backendType: 'VXLAN' })).kind, 'route');
  t.is(decidePeerRoute(peer('null', { backendType: 'host-gw' })).kind, 'ignore');
});

test('a peer on flannel\'s Linux default VNI 1 is unusable, with a warning naming the node and the fix', (t) => {
  const decision = decidePeerRoute(peer('{"VNI":1,"VtepMAC":"52:a1:00:00:00:02"}', {}, 'linux-b'));
  t.is(decision.kind, 'unusable');
  if (decision.kind !== 'unusable') return;
  t.is(decision.code, 'VNI_TOO_SMALL');
  t.regex(decision.reason, /linux-b/);
  t.regex(decision.reason, /"VNI": 4096 and "Port": 4789/);
  t.is(decision.key, '10.244.2.0/24', 'keyed by subnet so an earlier route for it is removed');
});

test('garbage backend data and a missing MAC are reported, not thrown', (t) => {
  t.is(decidePeerRoute(peer('{"VNI":"x"}')).kind, 'unusable');
  t.is(decidePeerRoute(peer(undefined)).kind, 'unusable');
  // flannel's Windows start-up announces itself without a MAC first: wait for the real one.
  t.is(decidePeerRoute(peer('{"VNI":4096,"VtepMAC":""}')).kind, 'ignore');
});

test('backend data round-trips in flannel\'s compact form and accepts any key case', (t) => {
  t.is(encodeVxlanBackendData({ vni: 4096, vtepMac: '00:15:5d:3a:07:c1' }), '{"VNI":4096,"VtepMAC":"00:15:5d:3a:07:c1"}');
  t.deepEqual(decodeVxlanBackendData('{"vni":4097,"vtepmac":"00-15-5D-3A-07-C1"}'), { vni: 4097, vtepMac: '00:15:5d:3a:07:c1' });
  t.throws(() => decodeVxlanBackendData('{"VNI":70000,"VtepMAC":"00:15:5d:3a:07:c1"}'), { message: /16-bit/ });
  t.throws(() => decodeVxlanBackendData('{"VNI":4096,"VtepMAC":"nope"}'), { message: /not a MAC/ });
});

test('a policy read back from HNS in dash form equals the spec it came from', (t) => {
  const back = fromPolicySetting({ DestinationPrefix: '10.244.2.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.22', DistributedRouterMacAddress: '52-A1-00-00-00-02' });
  t.truthy(back);
  t.true(sameRoute(back!, { destinationPrefix: '10.244.2.0/24', isolationId: 4096, providerAddress: '192.168.1.22', drMac: '52:a1:00:00:00:02' }));
  t.false(sameRoute(back!, { destinationPrefix: '10.244.2.0/24', isolationId: 4096, providerAddress: '192.168.1.23', drMac: '52:a1:00:00:00:02' }));
  t.is(fromPolicySetting({ DestinationPrefix: 'bogus', IsolationId: 4096, ProviderAddress: 'x', DistributedRouterMacAddress: 'y' }), undefined);
});
