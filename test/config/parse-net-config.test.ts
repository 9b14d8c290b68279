import test from 'ava';
import {
  checkNetworkConfig,
  describeBackendTypeProblem,
  NetConfigError,
  parseNetConfig,
} from '../../src/config/parse-net-config.js';
import { formatIp4, formatIp6, formatIp4Net, formatIp6Net } from '../../src/net/ip.js';

function checkedRange(text: string): { len: number; min: string; max: string } {
  const cfg = checkNetworkConfig(parseNetConfig(text));
  return { len: cfg.subnetLen, min: formatIp4(cfg.subnetMin ?? 0), max: formatIp4(cfg.subnetMax ?? 0) };
}

function checkError(text: string): string {
  const err = (() => {
    try {
      checkNetworkConfig(parseNetConfig(text));
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  if (!(err instanceof NetConfigError)) throw new Error(`expected a NetConfigError, got ${String(err)}`);
  return err.message;
}

test('defaults: IPv4 on, IPv6 off, backend udp when Backend is absent', (t) => {
  const cfg = parseNetConfig('{"Network":"10.3.0.0/16"}');
  t.true(cfg.enableIpv4);
  t.false(cfg.enableIpv6);
  t.false(cfg.enableNftables);
  t.is(cfg.backendType, 'udp');
  t.is(cfg.backend, undefined);
  t.is(cfg.subnetLen, 0);
  t.is(cfg.subnetMin, undefined);
});

test('keys match case-insensitively, unknown keys are ignored, Network is masked', (t) => {
  const cfg = parseNetConfig('{"network":"10.3.1.5/16","SUBNETLEN":26,"enableipv6":true,"ipv6network":"fc00::5/48","Whatever":1}');
  t.is(formatIp4Net(cfg.network!), '10.3.0.0/16');
  t.is(cfg.subnetLen, 26);
  t.true(cfg.enableIpv6);
  t.is(formatIp6Net(cfg.ipv6Network!), 'fc00::/48');
});

test('Backend.Type is lower-cased and the Backend object is kept as written', (t) => {
  const cfg = parseNetConfig('{"Network":"10.3.0.0/16","Backend":{"type":"VXLAN","VNI":4096}}');
  t.is(cfg.backendType, 'vxlan');
  t.deepEqual(cfg.backend, { type: 'VXLAN', VNI: 4096 });
  t.is(parseNetConfig('{"Backend":{"VNI":4096}}').backendType, '');
  t.is(parseNetConfig('{"Backend":null}').backendType, '');
});

test('wrong types name the field and the value', (t) => {
  const e1 = t.throws(() => parseNetConfig('{"SubnetLen":"24"}', 'etcd key /x/config'), { instanceOf: NetConfigError });
  t.is(e1.message, 'etcd key /x/config: field "SubnetLen": expected a non-negative integer, got string "24"');
  t.deepEqual(e1.context, { source: 'etcd key /x/config', field: 'SubnetLen', value: '24' });
  const e2 = t.throws(() => parseNetConfig('{"Network":"10.3.0.0"}'), { instanceOf: NetConfigError });
  t.is(e2.message, 'net-conf.json: field "Network": invalid IPv4 CIDR "10.3.0.0"');
  const e3 = t.throws(() => parseNetConfig('{"SubnetMin":"10.3.300.0"}'), { instanceOf: NetConfigError });
  t.is(e3.message, 'net-conf.json: field "SubnetMin": invalid IPv4 address "10.3.300.0"');
  const e4 = t.throws(() => parseNetConfig('{"EnableIPv6":"yes"}'), { instanceOf: NetConfigError });
  t.regex(e4.message, /field "EnableIPv6": expected a boolean, got string "yes"/);
  const e5 = t.throws(() => parseNetConfig('{"Backend":{"Type":7}}'), { instanceOf: NetConfigError });
  t.regex(e5.message, /field "Backend.Type": expected a string, got number 7/);
  t.throws(() => parseNetConfig('{"Network":'), { instanceOf: NetConfigError, message: /malformed JSON/ });
  t.throws(() => parseNetConfig('[1]'), { instanceOf: NetConfigError, message: /expected a JSON object, got array/ });
});

test('flannel example: 10.3.0.0/16 gives /24 from 10.3.1.0 to 10.3.255.0', (t) => {
  t.deepEqual(checkedRange('{"Network":"10.3.0.0/16"}'), { len: 24, min: '10.3.1.0', max: '10.3.255.0' });
});

test('SubnetLen defaults: prefix <= 22 gives 24, else prefix + 2', (t) => {
  t.deepEqual(checkedRange('{"Network":"10.0.0.0/22"}'), { len: 24, min: '10.0.1.0', max: '10.0.3.0' });
  t.deepEqual(checkedRange('{"Network":"10.0.0.0/23"}'), { len: 25, min: '10.0.0.128', max: '10.0.1.128' });
  t.deepEqual(checkedRange('{"Network":"10.0.0.0/28"}'), { len: 30, min: '10.0.0.4', max: '10.0.0.12' });
});

test('explicit SubnetMin/Max and SubnetLen are kept', (t) => {
  t.deepEqual(checkedRange('{"Network":"10.0.0.0/16","SubnetLen":26,"SubnetMin":"10.0.8.0","SubnetMax":"10.0.9.192"}'), {
    len: 26,
    min: '10.0.8.0',
    max: '10.0.9.192',
  });
});

test('IPv4 check errors keep flannel\'s words and name the source, the field and the value', (t) => {
  t.is(checkError('{}'), 'net-conf.json: field "Network" is missing: please define a correct Network parameter in the flannel config (the cluster\'s IPv4 CIDR, e.g. "10.244.0.0/16")');
  t.is(checkError('{"Network":"0.0.0.0/0"}'), 'net-conf.json: field "Network" = "0.0.0.0/0": please define a correct Network parameter in the flannel config: a cluster network cannot cover every IPv4 address');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetLen":31}'), 'net-conf.json: field "SubnetLen" = 31: SubnetLen must be less than /31');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetLen":17}'), 'net-conf.json: field "SubnetLen" = 17: network must be able to accommodate at least four subnets (Network is 10.0.0.0/16)');
  t.is(checkError('{"Network":"10.0.0.0/29"}'), 'net-conf.json: field "Network" = "10.0.0.0/29": network is too small. Minimum useful network prefix is /28');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetMin":"10.1.0.0"}'), 'net-conf.json: field "SubnetMin" = "10.1.0.0": SubnetMin is not in the range of the Network 10.0.0.0/16');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetMax":"10.1.0.0"}'), 'net-conf.json: field "SubnetMax" = "10.1.0.0": SubnetMax is not in the range of the Network 10.0.0.0/16');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetMin":"10.0.1.5"}'), 'net-conf.json: field "SubnetMin" = "10.0.1.5": SubnetMin is not on a SubnetLen boundary: 10.0.1.5 (SubnetLen 24)');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetMax":"10.0.9.1"}'), 'net-conf.json: field "SubnetMax" = "10.0.9.1": SubnetMax is not on a SubnetLen boundary: 10.0.9.1 (SubnetLen 24)');
  t.is(checkError('{"Network":"10.0.0.0/16","SubnetMin":"10.0.9.0","SubnetMax":"10.0.3.0"}'), 'net-conf.json: field "SubnetMax" = "10.0.3.0": SubnetMax is below SubnetMin 10.0.9.0: no subnet can be allocated');
});

test('the source names the document in range errors, and the context carries field and value', (t) => {
  const err = t.throws(() => checkNetworkConfig(parseNetConfig('{"Network":"10.0.0.0/16","SubnetLen":31}'), 'etcd key /x/config'), { instanceOf: NetConfigError });
  t.regex(err?.message ?? '', /^etcd key \/x\/config: field "SubnetLen" = 31:/);
  t.like(err?.context, { source: 'etcd key /x/config', field: 'SubnetLen', value: 31 });
});

test('SubnetLen beyond an exact integer (1e300) is a decode error naming the value', (t) => {
  t.throws(() => parseNetConfig('{"Network":"10.0.0.0/16","SubnetLen":1e300}'), { instanceOf: NetConfigError, message: 'net-conf.json: field "SubnetLen": expected a non-negative integer, got number 1e+300' });
});

test('IPv4 checks are skipped when EnableIPv4 is false', (t) => {
  const cfg = checkNetworkConfig(parseNetConfig('{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48"}'));
  t.is(cfg.subnetMin, undefined);
  t.is(cfg.ipv6SubnetLen, 64);
});

test('flannel IPv6 example: fc00::/48 gives /64 from fc00:0:0:1:: to fc00:0:0:ffff::', (t) => {
  const cfg = checkNetworkConfig(parseNetConfig('{"Network":"10.3.0.0/16","EnableIPv6":true,"IPv6Network":"fc00::/48"}'));
  t.is(cfg.ipv6SubnetLen, 64);
  t.is(formatIp6(cfg.ipv6SubnetMin!), 'fc00:0:0:1::');
  t.is(formatIp6(cfg.ipv6SubnetMax!), 'fc00:0:0:ffff::');
});

test('IPv6 defaults and errors', (t) => {
  const v6 = (extra: string): string => `{"Network":"10.3.0.0/16","EnableIPv6":true${extra}}`;
  t.is(checkNetworkConfig(parseNetConfig(v6(',"IPv6Network":"fc00::/120"'))).ipv6SubnetLen, 122);
  t.regex(checkError(v6('')), /field "IPv6Network" is missing: please define a correct IPv6Network parameter in the flannel config$/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/48","IPv6SubnetLen":127')), /field "IPv6SubnetLen" = 127: SubnetLen must be less than \/127$/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/48","IPv6SubnetLen":49')), /field "IPv6SubnetLen" = 49: network must be able to accommodate at least four subnets/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/125"')), /field "IPv6Network" = "fc00::\/125": IPv6Network is too small. Minimum useful network prefix is \/124$/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/48","IPv6SubnetMin":"fc01::"')), /field "IPv6SubnetMin" = "fc01::": IPv6SubnetMin is not in the range of the IPv6Network fc00::\/48$/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/48","IPv6SubnetMax":"fc01::"')), /field "IPv6SubnetMax" = "fc01::": IPv6SubnetMax is not in the range of the IPv6Network fc00::\/48$/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/48","IPv6SubnetMin":"fc00:0:0:1::1"')), /IPv6SubnetMin is not on a SubnetLen boundary: fc00:0:0:1::1$/);
  t.regex(checkError(v6(',"IPv6Network":"fc00::/48","IPv6SubnetMax":"fc00:0:0:2::1"')), /IPv6SubnetMax is not on a SubnetLen boundary: fc00:0:0:2::1$/);
});

test('describeBackendTypeProblem: udp from a missing Backend gets a clear Windows message', (t) => {
  t.is(describeBackendTypeProblem('vxlan'), undefined);
  t.is(describeBackendTypeProblem('host-gw'), undefined);
  t.regex(describeBackendTypeProblem('udp', { backendAbsent: true }) ?? '', /^Backend is missing; flannel's default udp cannot run on Windows/);
  t.regex(describeBackendTypeProblem('udp') ?? '', /unknown backend type: udp/);
  t.regex(describeBackendTypeProblem('') ?? '', /"Backend" has no "Type"/);
  t.regex(describeBackendTypeProblem('wireguard') ?? '', /unknown backend type: wireguard \(Windows supports vxlan, host-gw\)/);
});
