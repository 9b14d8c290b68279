import test from 'ava';
import { etcdLayout, joinEtcdPath } from '../../src/lease/etcd/etcd-layout.js';
import { makeSubnetKey, parseSubnetKey, SubnetKeyError } from '../../src/lease/subnet-key.js';
import { formatIp4Net, formatIp6Net, parseIp4Net, parseIp6Net } from '../../src/net/ip.js';

test('keys are flannel\'s MakeSubnetKey forms', (t) => {
  t.is(makeSubnetKey(parseIp4Net('10.244.3.0/24')), '10.244.3.0-24');
  t.is(makeSubnetKey(parseIp4Net('10.12.13.0/24'), parseIp6Net('fd00:12:13:0:0:0:0:0/56')), '10.12.13.0-24&fd00:12:13::-56');
  t.is(makeSubnetKey(parseIp4Net('10.5.1.0/24'), parseIp6Net('fc00::/64')), '10.5.1.0-24&fc00::-64');
});

test('layout joins the prefix like Go path.Join', (t) => {
  t.deepEqual(etcdLayout('/coreos.com/network'), { configKey: '/coreos.com/network/config', subnetsPrefix: '/coreos.com/network/subnets/' });
  t.deepEqual(etcdLayout('/my//net/'), { configKey: '/my/net/config', subnetsPrefix: '/my/net/subnets/' });
  t.is(joinEtcdPath('/', 'config'), '/config');
});

test('parse accepts flannel\'s forms and round-trips', (t) => {
  for (const key of ['10.244.3.0-24', '10.12.13.0-24&fd00:12:13::-56', '0.0.0.0-0']) {
    const parsed = parseSubnetKey(key);
    t.is(makeSubnetKey(parsed.subnet, parsed.ipv6Subnet), key);
  }
  const dual = parseSubnetKey('10.5.1.0-24&fc00::-64');
  t.is(formatIp4Net(dual.subnet), '10.5.1.0/24');
  t.is(formatIp6Net(dual.ipv6Subnet!), 'fc00::/64');
});

test('parse rejects flannel\'s rejected examples, /32 and uppercase IPv6', (t) => {
  for (const key of [
    '10.12.13.300-24',
    '10.12.13.0-24hi',
    '10.12.13.0-24&2001::',
    '10.12.13.0-24&2001-56',
    '&2001::-56',
    '10.12.13.0-32',
    '10.12.13.0-24&FD00::-64',
    '10.12.13.0-24&fd00::-128',
    'garbage',
  ]) {
    t.throws(() => parseSubnetKey(key), { instanceOf: SubnetKeyError }, key);
  }
});
