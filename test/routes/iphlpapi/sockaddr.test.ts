import test from 'ava';
import fc from 'fast-check';
import {
  AF_INET,
  AF_INET6,
  bytesToIp,
  familyFromWindows,
  formatDestination,
  ipToBytes,
  parseDestination,
  sockaddrInput,
  windowsFamily,
} from '../../../src/routes/iphlpapi/sockaddr.js';

test('Windows address families are 2 and 23', (t) => {
  t.is(windowsFamily('ipv4'), AF_INET);
  t.is(windowsFamily('ipv6'), AF_INET6);
  t.is(AF_INET6, 23);
  t.is(familyFromWindows(23), 'ipv6');
  t.is(familyFromWindows(10), undefined); // Linux's AF_INET6 is not Windows'
});

test('IPv4 text becomes network-order bytes and back', (t) => {
  const ip = ipToBytes('10.244.2.5');
  t.is(ip.family, 'ipv4');
  t.deepEqual([...ip.bytes], [10, 244, 2, 5]);
  t.is(bytesToIp('ipv4', ip.bytes), '10.244.2.5');
});

test('IPv6 text becomes 16 bytes and back in RFC 5952 form', (t) => {
  const ip = ipToBytes('FE80:0:0:0:0215:5DFF:FE01:0203');
  t.is(ip.family, 'ipv6');
  t.deepEqual([...ip.bytes], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x15, 0x5d, 0xff, 0xfe, 0x01, 0x02, 0x03]);
  t.is(bytesToIp('ipv6', ip.bytes), 'fe80::215:5dff:fe01:203');
});

test('address bytes round-trip for every IPv4 and IPv6 address', (t) => {
  fc.assert(
    fc.property(fc.ipV4(), (text) => bytesToIp('ipv4', ipToBytes(text).bytes) === text),
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = bytesToIp('ipv6', bytes);
      return Buffer.from(ipToBytes(text).bytes).equals(Buffer.from(bytes));
    }),
  );
  t.pass();
});

test('a destination must be masked CIDR', (t) => {
  const p = parseDestination('10.244.2.0/24');
  t.deepEqual({ family: p.family, bytes: [...p.bytes], prefixLen: p.prefixLen }, { family: 'ipv4', bytes: [10, 244, 2, 0], prefixLen: 24 });
  t.is(formatDestination(p), '10.244.2.0/24');
  t.is(formatDestination(parseDestination('0.0.0.0/0')), '0.0.0.0/0');
  t.is(formatDestination(parseDestination('fd00:10:244:2::/64')), 'fd00:10:244:2::/64');
  const err = t.throws(() => parseDestination('10.244.2.1/24'));
  t.is((err as { code?: string }).code, 'ROUTE_DESTINATION_NOT_MASKED');
  t.throws(() => parseDestination('fd00::1/64'));
  t.throws(() => parseDestination('10.244.2.0'));
  t.throws(() => parseDestination('10.244.2.0/33'));
});

test('the SOCKADDR_INET input sets exactly one union member with port 0', (t) => {
  t.deepEqual(sockaddrInput(ipToBytes('10.0.0.1')), {
    Ipv4: { sin_family: 2, sin_port: 0, sin_addr: [10, 0, 0, 1], sin_zero: [0, 0, 0, 0, 0, 0, 0, 0] },
  });
  const v6 = sockaddrInput(ipToBytes('::1'));
  t.true('Ipv6' in v6 && v6.Ipv6.sin6_family === 23 && v6.Ipv6.sin6_addr[15] === 1);
});
