import test from 'ava';
import { FlannelWinError } from '../../../src/errors.js';
import { parseVxlanConfig } from '../../../src/backends/vxlan/config.js';

test('defaults: VNI 4096 (flannel Linux defaults to 1, which Windows rejects), port 4789, name flannel.<VNI>', (t) => {
  t.deepEqual(parseVxlanConfig(undefined), { name: 'flannel.4096', vni: 4096, port: 4789, macPrefix: '0E-2A', ignored: [] });
  t.deepEqual(parseVxlanConfig({ Type: 'vxlan' }), { name: 'flannel.4096', vni: 4096, port: 4789, macPrefix: '0E-2A', ignored: [] });
  t.is(parseVxlanConfig({ Type: 'vxlan', VNI: 4097 }).name, 'flannel.4097');
});

test('the usual Windows net-conf', (t) => {
  t.deepEqual(parseVxlanConfig({ Type: 'vxlan', Name: 'vxlan0', VNI: 4096, Port: 4789 }), { name: 'vxlan0', vni: 4096, port: 4789, macPrefix: '0E-2A', ignored: [] });
});

test('keys are case-insensitive like Go, and the last spelling wins', (t) => {
  const c = parseVxlanConfig({ type: 'vxlan', name: 'ov', vni: 5000, PORT: 4789, macprefix: '0A-0B' });
  t.is(c.name, 'ov');
  t.is(c.vni, 5000);
  t.is(c.macPrefix, '0A-0B');
  t.is(parseVxlanConfig({ VNI: 5000, vni: 6000 }).vni, 6000);
});

test('an empty Name or null values keep the defaults', (t) => {
  const c = parseVxlanConfig({ Name: '', VNI: null, Port: null });
  t.is(c.name, 'flannel.4096');
  t.is(c.vni, 4096);
  t.is(c.port, 4789);
});

test('Linux-only and unknown keys are ignored and reported', (t) => {
  const c = parseVxlanConfig({ Type: 'vxlan', MTU: 1400, Learning: true, GBP: false, DirectRouting: false, Colour: 'blue' });
  t.deepEqual(c.ignored, ['MTU', 'Learning', 'GBP', 'DirectRouting', 'Colour']);
});

function configError(t: import('ava').ExecutionContext, backend: Record<string, unknown>, message: RegExp, field: string, value: unknown) {
  const err = t.throws(() => parseVxlanConfig(backend), { instanceOf: FlannelWinError });
  t.is(err?.code, 'VXLAN_CONFIG');
  t.regex(err?.message ?? '', message);
  t.is(err?.context['field'], field);
  t.deepEqual(err?.context['value'], value);
}

test('VNI below 4096 fails with flannel\'s message (a Linux-default VNI 1 cluster cannot include Windows)', (t) => {
  configError(t, { VNI: 1 }, /^invalid VXLAN backend config\. VNI \[1\] must be greater than or equal to 4096 on Windows$/, 'VNI', 1);
});

test('VNI above 65535 fails: flannel would truncate it in the lease (a deliberate difference)', (t) => {
  configError(t, { VNI: 70000 }, /at most 65535.*4464/, 'VNI', 70000);
});

test('a port other than 4789 fails, including Linux\'s 8472 and an explicit 0', (t) => {
  configError(t, { Port: 8472 }, /^invalid VXLAN backend config\. Port \[8472\] is not supported on Windows\. Omit the setting to default to port 4789$/, 'Port', 8472);
  configError(t, { Port: 0 }, /Port \[0\]/, 'Port', 0);
});

test('GBP or DirectRouting true fails', (t) => {
  configError(t, { DirectRouting: true }, /DirectRouting is not supported on Windows/, 'DirectRouting', true);
  configError(t, { gbp: true }, /GBP is not supported on Windows/, 'GBP', true);
});

test('MacPrefix must look like xx-xx', (t) => {
  configError(t, { MacPrefix: '0E2A' }, /MacPrefix \[0E2A\] is invalid, prefix must be of the format xx-xx e\.g\. 0E-2A/, 'MacPrefix', '0E2A');
  configError(t, { MacPrefix: '0E:2A' }, /MacPrefix \[0E:2A\]/, 'MacPrefix', '0E:2A');
});

test('wrong JSON types fail naming the key as written', (t) => {
  configError(t, { vni: '4096' }, /vni must be an integer/, 'vni', '4096');
  configError(t, { VNI: 4096.5 }, /VNI must be an integer/, 'VNI', 4096.5);
  configError(t, { Name: 7 }, /Name must be a string/, 'Name', 7);
  configError(t, { GBP: 'false' }, /GBP must be true or false/, 'GBP', 'false');
});
