import test from 'ava';
import { FlannelWinError } from '../../../src/errors.js';
import { parseHostGwConfig } from '../../../src/backends/host-gw/config.js';

test('defaults to the cbr0 network', (t) => {
  t.deepEqual(parseHostGwConfig(undefined), { name: 'cbr0', dnsServerList: '', ignored: [] });
  t.deepEqual(parseHostGwConfig({ Type: 'host-gw' }), { name: 'cbr0', dnsServerList: '', ignored: [] });
  t.is(parseHostGwConfig({ Name: '' }).name, 'cbr0');
  t.is(parseHostGwConfig({ Name: null }).name, 'cbr0');
});

test('Name and DNSServerList are read', (t) => {
  t.deepEqual(parseHostGwConfig({ Type: 'host-gw', Name: 'l2br', DNSServerList: '10.96.0.10,8.8.8.8' }), { name: 'l2br', dnsServerList: '10.96.0.10,8.8.8.8', ignored: [] });
});

test('keys are case-sensitive, as flannel decodes this one with apimachinery json (unlike vxlan)', (t) => {
  const c = parseHostGwConfig({ type: 'host-gw', name: 'mine', dnsserverlist: '1.1.1.1' });
  t.is(c.name, 'cbr0');
  t.is(c.dnsServerList, '');
  t.deepEqual(c.ignored, ['name', 'dnsserverlist']);
});

test('other keys are reported as ignored', (t) => {
  t.deepEqual(parseHostGwConfig({ Type: 'host-gw', VNI: 4096, DirectRouting: true }).ignored, ['VNI', 'DirectRouting']);
});

test('a non-string Name fails naming the field', (t) => {
  const err = t.throws(() => parseHostGwConfig({ Name: 42 }), { instanceOf: FlannelWinError });
  t.is(err?.code, 'HOSTGW_CONFIG');
  t.is(err?.context['field'], 'Name');
  t.regex(err?.message ?? '', /Name must be a string/);
});
