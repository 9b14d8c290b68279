import test from 'ava';
import { expirationOf, leaseFromKeyValue, removedLeaseFromKey } from '../../../src/lease/etcd/etcd-lease-record.js';
import { SubnetKeyError } from '../../../src/lease/subnet-key.js';
import { LeaseJsonError } from '../../../src/lease/lease-json.js';
import { formatIp4Net, formatIp6Net } from '../../../src/net/ip.js';

const PREFIX = '/coreos.com/network/subnets/';
const now = new Date('2026-11-25T12:00:00Z');

test('expiration: reservation never, TTL from now, unknown etcd lease already past (as flannel)', (t) => {
  t.is(expirationOf('0', undefined, now), undefined);
  t.is(expirationOf('7587875838263640000', 86_400, now)?.toISOString(), '2026-11-26T12:00:00.000Z');
  t.is(expirationOf('7587875838263640000', -1, now)?.toISOString(), '2026-11-25T11:59:59.000Z');
});

test('a dual-stack key enables IPv6; the value gives the attributes', (t) => {
  const lease = leaseFromKeyValue(PREFIX, `${PREFIX}10.5.1.0-24&fc00::-64`, '{"PublicIP":"10.0.0.1","PublicIPv6":"fd00::1"}', undefined);
  t.true(lease.enableIpv4);
  t.true(lease.enableIpv6);
  t.is(formatIp4Net(lease.subnet!), '10.5.1.0/24');
  t.is(formatIp6Net(lease.ipv6Subnet!), 'fc00::/64');
  t.is(lease.attrs.publicIpv6, 'fd00::1');
});

test('bad keys and values throw typed errors naming the key', (t) => {
  t.throws(() => leaseFromKeyValue(PREFIX, `${PREFIX}garbage`, '{"PublicIP":"10.0.0.1"}', undefined), { instanceOf: SubnetKeyError, message: /garbage/ });
  t.throws(() => leaseFromKeyValue(PREFIX, '/elsewhere/10.5.1.0-24', '{"PublicIP":"10.0.0.1"}', undefined), { instanceOf: SubnetKeyError });
  t.throws(() => leaseFromKeyValue(PREFIX, `${PREFIX}10.5.1.0-24`, '{"PublicIP":null}', undefined), {
    instanceOf: LeaseJsonError,
    message: new RegExp(`${PREFIX}10.5.1.0-24`),
  });
  t.is(formatIp4Net(removedLeaseFromKey(PREFIX, `${PREFIX}10.5.2.0-24`).subnet!), '10.5.2.0/24');
});
