import test from 'ava';
import fc from 'fast-check';
import { formatIp4, formatIp4Net, IpParseError, parseIp4, parseIp6, tryParseIp4, tryParseIp4Net, tryParseIp6 } from '../../src/net/ip.js';

test('tryParseIp4 accepts strict dotted quads and answers undefined for everything else', (t) => {
  t.is(tryParseIp4('10.244.1.5'), 0x0af40105);
  t.is(tryParseIp4('255.255.255.255'), 0xffffffff);
  for (const bad of ['10.244.1.0/24', '10.244.1', '10.244.1.256', '10.244.01.5', '+10.1.1.1', 'fe80::1', '', 'any']) t.is(tryParseIp4(bad), undefined, bad);
});

test('tryParseIp6 accepts IPv6 texts and answers undefined for IPv4 texts, CIDRs and junk', (t) => {
  t.is(tryParseIp6('fe80::1'), (0xfe80n << 112n) | 1n);
  for (const bad of ['10.244.1.5', 'fe80::/64', 'fe80:::1', '']) t.is(tryParseIp6(bad), undefined, bad);
});

test('parseIp4 and parseIp6 still throw IpParseError naming the text', (t) => {
  t.throws(() => parseIp4('10.244.1.256'), { instanceOf: IpParseError, message: 'invalid IPv4 address "10.244.1.256"' });
  t.throws(() => parseIp6('10.244.1.5'), { instanceOf: IpParseError, message: 'invalid IPv6 address "10.244.1.5"' });
});

test('formatIp4 and formatIp4Net write the dotted quad that parses back to the same numbers', (t) => {
  t.is(formatIp4(0xac100a14), '172.16.10.20');
  t.is(formatIp4Net({ ip: 0x0a000000, prefixLen: 8 }), '10.0.0.0/8');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (ip, prefixLen) => {
      const octets = [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
      t.is(formatIp4(ip), octets.join('.'));
      t.is(tryParseIp4(formatIp4(ip)), ip);
      t.deepEqual(tryParseIp4Net(formatIp4Net({ ip, prefixLen })), { ip, prefixLen });
    }),
  );
});
