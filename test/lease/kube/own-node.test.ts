import test from 'ava';
import type { NetConfig } from '../../../src/config/net-config.js';
import { kubeAnnotationNames } from '../../../src/lease/kube/annotations.js';
import { PodCidrError } from '../../../src/lease/kube/errors.js';
import { networkUpConditionPatch, nodePublicIpOverride, ownSubnets, planOwnAnnotations } from '../../../src/lease/kube/own-node.js';
import type { LeaseAttrs } from '../../../src/lease/types.js';
import { formatIp4Net, formatIp6Net, parseIp4Net, parseIp6Net } from '../../../src/net/ip.js';

const names = kubeAnnotationNames('flannel.alpha.coreos.com/');
const P = 'flannel.alpha.coreos.com/';

function attrs(over: Partial<LeaseAttrs> = {}): LeaseAttrs {
  return { publicIp: '10.0.0.5', publicIpv6: null, backendType: 'vxlan', backendData: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:ff"}', backendV6Data: undefined, ...over };
}

function config(over: Partial<NetConfig> = {}): NetConfig {
  return {
    enableIpv4: true,
    enableIpv6: false,
    enableNftables: false,
    network: parseIp4Net('10.244.0.0/16'),
    ipv6Network: undefined,
    subnetLen: 0,
    subnetMin: undefined,
    subnetMax: undefined,
    ipv6SubnetLen: 0,
    ipv6SubnetMin: undefined,
    ipv6SubnetMax: undefined,
    backendType: 'vxlan',
    backend: { Type: 'vxlan' },
    ...over,
  };
}

test('a fresh node gets every flannel annotation; an up-to-date node gets none', (t) => {
  const fresh = planOwnAnnotations({}, attrs(), names);
  t.deepEqual(fresh.changed, {
    [`${P}backend-type`]: 'vxlan',
    [`${P}backend-data`]: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:ff"}',
    [`${P}public-ip`]: '10.0.0.5',
    [`${P}kube-subnet-manager`]: 'true',
  });
  t.deepEqual(planOwnAnnotations({ ...fresh.changed, other: 'x' }, attrs(), names).changed, {});
});

test('only the differing annotations are in the plan', (t) => {
  const current = planOwnAnnotations({}, attrs(), names).changed;
  const plan = planOwnAnnotations(current, attrs({ backendData: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:00"}' }), names);
  t.deepEqual(plan.changed, { [`${P}backend-data`]: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:00"}' });
});

test('host-gw writes backend-data "null"; vxlan without data writes neither data nor public-ip', (t) => {
  t.is(planOwnAnnotations({}, attrs({ backendType: 'host-gw', backendData: undefined }), names).changed[`${P}backend-data`], 'null');
  const vxlanNull = planOwnAnnotations({}, attrs({ backendData: undefined }), names).changed;
  t.deepEqual(Object.keys(vxlanNull).sort(), [`${P}backend-type`, `${P}kube-subnet-manager`]);
});

test('public-ip-overwrite is what peers read; the plan reports it as published', (t) => {
  const plan = planOwnAnnotations({ [`${P}public-ip-overwrite`]: '203.0.113.1' }, attrs(), names);
  t.is(plan.changed[`${P}public-ip`], '203.0.113.1');
  t.is(plan.published.publicIp, '203.0.113.1');
  // An empty overwrite is ignored, as in flannel.
  t.is(planOwnAnnotations({ [`${P}public-ip-overwrite`]: '' }, attrs(), names).changed[`${P}public-ip`], '10.0.0.5');
});

test('dual-stack vxlan writes the v6 data and address, honouring the v6 overwrite', (t) => {
  const plan = planOwnAnnotations(
    { [`${P}public-ipv6-overwrite`]: '2001:db8::9' },
    attrs({ publicIpv6: '2001:db8::5', backendV6Data: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}' }),
    names,
  );
  t.is(plan.changed[`${P}backend-v6-data`], '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}');
  t.is(plan.changed[`${P}public-ipv6`], '2001:db8::9');
  const hostGw = planOwnAnnotations({}, attrs({ backendType: 'host-gw', backendData: undefined, publicIpv6: '2001:db8::5' }), names);
  t.is(hostGw.changed[`${P}backend-v6-data`], 'null');
  t.is(hostGw.changed[`${P}public-ipv6`], '2001:db8::5');
});

test('ownSubnets picks podCIDRs by family and checks them against Network', (t) => {
  const dual = ownSubnets(
    { spec: { podCIDR: '10.244.3.0/24', podCIDRs: ['fd00:1:2:3::/64', '10.244.3.0/24'] } },
    'n',
    config({ enableIpv6: true, ipv6Network: parseIp6Net('fd00:1::/32') }),
  );
  t.is(formatIp4Net(dual.ipv4!), '10.244.3.0/24');
  t.is(formatIp6Net(dual.ipv6!), 'fd00:1:2:3::/64');
  t.is(ownSubnets({ spec: { podCIDR: '10.244.3.7/24' } }, 'n', config()).ipv4?.ip, parseIp4Net('10.244.3.0/24').ip);

  const errors = [
    () => ownSubnets({ spec: { podCIDR: '10.245.3.0/24' } }, 'n', config()),
    () => ownSubnets({ spec: { podCIDRs: ['10.244.1.0/24', 'fd00::/64', '10.244.2.0/24'] } }, 'n', config()),
    () => ownSubnets({ spec: { podCIDR: '10.244.1.0/24' } }, 'n', config({ enableIpv6: true, ipv6Network: parseIp6Net('fd00::/48') })),
    () => ownSubnets({ spec: { podCIDRs: ['10.244.1.0/24', 'fd00::/64'] } }, 'n', config({ enableIpv6: true })),
    () => ownSubnets({ spec: { podCIDR: '10.244.1.0/33' } }, 'n', config()),
  ];
  t.deepEqual(
    errors.map((fn) => t.throws(fn, { instanceOf: PodCidrError })?.message),
    [
      'subnet "10.244.0.0/16" specified in the flannel net config doesn\'t contain "10.245.3.0/24" PodCIDR of the "n" node',
      'node "n" pod cidrs should be IPv4/IPv6 only or dual-stack',
      'Missing IPv6 address on n.Spec.PodCIDRs',
      'subnet "fd00::/64" specified in the PodCIDR, but doesn\'t exist in the flannel net config of the "n" node',
      'invalid pod CIDR "10.244.1.0/33"',
    ],
  );
});

test('node-public-ip annotations override the public addresses; invalid ones are reported', (t) => {
  const override = nodePublicIpOverride({ [`${P}node-public-ip`]: '192.168.5.5', [`${P}node-public-ipv6`]: 'nope' }, names);
  t.is(override.publicIp, '192.168.5.5');
  t.is(override.publicIpv6, undefined);
  t.deepEqual(override.invalid, [{ annotation: `${P}node-public-ipv6`, value: 'nope' }]);
});

test('the NetworkUnavailable patch is flanneld\'s body at second precision', (t) => {
  t.is(
    JSON.stringify(networkUpConditionPatch(new Date('2026-11-25T10:11:12.345Z'))),
    '{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","lastHeartbeatTime":"2026-11-25T10:11:12Z",' +
      '"lastTransitionTime":"2026-11-25T10:11:12Z","reason":"FlannelIsUp","message":"Flannel is running on this node"}]}}',
  );
});
