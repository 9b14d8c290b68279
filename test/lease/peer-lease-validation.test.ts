import test from 'ava';
import { allocationIgnores, checkPeerLease, peerLeaseRules, type PeerLeaseRules } from '../../src/lease/peer-lease-validation.js';
import type { Lease } from '../../src/lease/types.js';
import { parseIp4Net } from '../../src/net/ip.js';

const rules: PeerLeaseRules = {
  network: parseIp4Net('10.244.0.0/16'),
  subnetLen: 24,
  ownSubnet: parseIp4Net('10.244.1.0/24'),
  ownPublicIp: '192.168.1.10',
  backendType: 'vxlan',
};

function lease(subnet: string, overrides: { publicIp?: string; backendType?: string; nodeName?: string } = {}): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: parseIp4Net(subnet),
    ipv6Subnet: undefined,
    attrs: {
      publicIp: overrides.publicIp ?? '192.168.1.20',
      publicIpv6: null,
      backendType: overrides.backendType ?? 'vxlan',
      backendData: '{"VNI":4096,"VtepMAC":"52:a1:00:00:00:02"}',
      backendV6Data: undefined,
    },
    expiration: undefined,
    ...(overrides.nodeName ? { nodeName: overrides.nodeName } : {}),
  };
}

const table: { name: string; lease: Lease; code: string | undefined; mentions?: string }[] = [
  { name: 'a valid peer', lease: lease('10.244.7.0/24'), code: undefined },
  { name: 'backend type compared case-insensitively', lease: lease('10.244.7.0/24', { backendType: 'VXLAN' }), code: undefined },
  { name: '0.0.0.0/0', lease: lease('0.0.0.0/0'), code: 'SUBNET_COVERS_NETWORK', mentions: '0.0.0.0/0' },
  { name: 'the Network itself', lease: lease('10.244.0.0/16'), code: 'SUBNET_COVERS_NETWORK' },
  { name: 'wider than the Network', lease: lease('10.0.0.0/8'), code: 'SUBNET_COVERS_NETWORK' },
  { name: 'outside the Network', lease: lease('10.245.3.0/24'), code: 'SUBNET_OUTSIDE_NETWORK', mentions: '10.244.0.0/16' },
  { name: 'covering our subnet', lease: lease('10.244.0.0/20'), code: 'SUBNET_OVERLAPS_OWN', mentions: '10.244.1.0/24' },
  { name: 'equal to our subnet', lease: lease('10.244.1.0/24'), code: 'SUBNET_OVERLAPS_OWN' },
  { name: 'inside our subnet', lease: lease('10.244.1.128/25'), code: 'SUBNET_OVERLAPS_OWN' },
  { name: 'wrong length (narrower)', lease: lease('10.244.7.0/25'), code: 'SUBNET_WRONG_LENGTH', mentions: '/24' },
  { name: 'wrong length (wider)', lease: lease('10.244.16.0/20'), code: 'SUBNET_WRONG_LENGTH' },
  { name: 'unmasked', lease: lease('10.244.7.5/24'), code: 'SUBNET_NOT_MASKED', mentions: '10.244.7.5/24' },
  { name: 'unmasked and outside (unmasked wins)', lease: lease('10.9.9.9/8'), code: 'SUBNET_NOT_MASKED' },
  { name: 'our PublicIP', lease: lease('10.244.7.0/24', { publicIp: '192.168.1.10' }), code: 'PUBLIC_IP_IS_OURS', mentions: '192.168.1.10' },
  { name: 'another backend', lease: lease('10.244.7.0/24', { backendType: 'host-gw' }), code: 'BACKEND_MISMATCH', mentions: 'host-gw' },
  { name: 'no backend type', lease: lease('10.244.7.0/24', { backendType: '' }), code: 'BACKEND_MISMATCH' },
  { name: 'kube node named in the reason', lease: lease('10.245.0.0/24', { nodeName: 'linux-7' }), code: 'SUBNET_OUTSIDE_NETWORK', mentions: 'linux-7' },
];

for (const row of table) {
  test(`checkPeerLease: ${row.name}`, (t) => {
    const problem = checkPeerLease(row.lease, rules);
    t.is(problem?.code as string | undefined, row.code);
    if (row.mentions) t.true(problem!.reason.includes(row.mentions), problem!.reason);
    if (problem) t.true(problem.reason.startsWith('lease '), 'the reason names the lease');
  });
}

test('checkPeerLease: a huge backend type is quoted only up to a bound', (t) => {
  const problem = checkPeerLease(lease('10.244.7.0/24', { backendType: 'x'.repeat(1 << 20) }), rules);
  t.is(problem?.code, 'BACKEND_MISMATCH');
  t.true(problem!.reason.length < 600, `reason is ${problem!.reason.length} characters`);
});

test('checkPeerLease: a lease without an IPv4 subnet is left to the backend', (t) => {
  t.is(checkPeerLease({ ...lease('10.244.7.0/24'), subnet: undefined }, rules), undefined);
});

test('peerLeaseRules: SubnetLen in etcd mode, our podCIDR length in kube mode', (t) => {
  const netConfig = { network: parseIp4Net('10.244.0.0/16'), subnetLen: 24, backendType: 'vxlan' };
  const own = { subnet: parseIp4Net('10.244.3.0/26'), attrs: lease('10.244.3.0/26').attrs };
  t.is(peerLeaseRules({ netConfig, ownLease: own, storeKind: 'etcd' }).subnetLen, 24);
  t.is(peerLeaseRules({ netConfig, ownLease: own, storeKind: 'kube' }).subnetLen, 26);
  t.is(peerLeaseRules({ netConfig: { ...netConfig, subnetLen: 0 }, ownLease: own, storeKind: 'local' }).subnetLen, 26);
});

const network = parseIp4Net('10.244.0.0/16');
const allocationTable: { subnet: string; ignored: boolean }[] = [
  { subnet: '0.0.0.0/0', ignored: true },
  { subnet: '10.244.0.0/16', ignored: true },
  { subnet: '10.0.0.0/8', ignored: true },
  { subnet: '10.245.0.0/24', ignored: true },
  { subnet: '10.244.7.5/24', ignored: true },
  { subnet: '10.244.0.0/20', ignored: false },
  { subnet: '10.244.7.0/24', ignored: false },
  { subnet: '10.244.7.0/25', ignored: false },
];
for (const row of allocationTable) {
  test(`allocationIgnores ${row.subnet}: ${row.ignored}`, (t) => {
    t.is(allocationIgnores(parseIp4Net(row.subnet), network) !== undefined, row.ignored);
  });
}
