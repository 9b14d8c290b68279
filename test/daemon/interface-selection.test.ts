import test from 'ava';
import { InterfaceSelectionError, selectExternalInterface } from '../../src/daemon/interface-selection.js';
import type { HostRoute, NetInterface } from '../../src/routes/route-table.js';

function nic(index: number, name: string, ipv4: string[], extra: Partial<NetInterface> = {}): NetInterface {
  return { index, name, ipv4Addresses: ipv4, ipv6Addresses: [], mtu: 1500, up: true, luid: String(index * 1000), ...extra };
}
function route(destination: string, interfaceIndex: number, metric = 0, nextHop = '0.0.0.0'): HostRoute {
  return { destination, nextHop, interfaceIndex, metric, protocol: 3 };
}

const loopback = nic(1, 'Loopback Pseudo-Interface 1', ['127.0.0.1']);
const mgmt = nic(4, 'Ethernet', ['10.0.0.5']);
const data = nic(7, 'Ethernet 2', ['192.168.50.5', '192.168.50.6'], { mtu: 9000 });
const down = nic(9, 'Ethernet 3', ['172.16.0.5'], { up: false });
const all = [loopback, mgmt, data, down];
const routes = [
  route('0.0.0.0/0', 7, 50, '192.168.50.1'),
  route('0.0.0.0/0', 4, 10, '10.0.0.1'),
  route('10.0.0.0/24', 4),
  route('192.168.50.0/24', 7),
  route('192.168.0.0/16', 4, 5, '10.0.0.254'),
];
const none = { iface: [], ifaceRegex: [] };

test('no options: the interface of the lowest-metric default route, its first IPv4', (t) => {
  const r = selectExternalInterface(all, { ...none, routes });
  t.is(r.iface.name, 'Ethernet');
  t.is(r.ifaceAddr, '10.0.0.5');
  t.is(r.extAddr, '10.0.0.5');
  t.is(r.selectedBy, 'default route');
});

test('no options and no route table: the first up interface with a usable IPv4', (t) => {
  const r = selectExternalInterface([down, loopback, nic(3, 'apipa', ['169.254.3.3']), data], none);
  t.is(r.iface.name, 'Ethernet 2');
  t.is(r.ifaceAddr, '192.168.50.5');
});

test('no default route: falls back with a note', (t) => {
  const r = selectExternalInterface(all, { ...none, routes: [route('10.0.0.0/24', 4)] });
  t.is(r.iface.name, 'Ethernet');
  t.regex(r.notes.join(' '), /no IPv4 default route/);
});

test('--public-ip overrides extAddr and, alone, picks the interface holding it', (t) => {
  const r = selectExternalInterface(all, { ...none, publicIp: '192.168.50.6', routes });
  t.is(r.iface.name, 'Ethernet 2');
  t.is(r.ifaceAddr, '192.168.50.6');
  t.is(r.extAddr, '192.168.50.6');
  const nat = selectExternalInterface(all, { ...none, iface: ['Ethernet'], publicIp: '203.0.113.9' });
  t.is(nat.ifaceAddr, '10.0.0.5');
  t.is(nat.extAddr, '203.0.113.9');
});

test('--public-ip not on this host without --iface is an error suggesting --iface', (t) => {
  const err = t.throws(() => selectExternalInterface(all, { ...none, publicIp: '203.0.113.9', routes }), { instanceOf: InterfaceSelectionError });
  t.regex(err?.message ?? '', /--iface/);
  t.regex(err?.message ?? '', /Ethernet 2 \(index 7, up\): 192\.168\.50\.5, 192\.168\.50\.6/);
});

test('invalid or IPv6 --public-ip is rejected', (t) => {
  t.throws(() => selectExternalInterface(all, { ...none, publicIp: 'nope' }), { instanceOf: InterfaceSelectionError, message: /invalid public IP/ });
  t.throws(() => selectExternalInterface(all, { ...none, publicIp: '2001:db8::1' }), { instanceOf: InterfaceSelectionError, message: /IPv4-only/ });
});

test('--iface by IP keeps that IP as ifaceAddr', (t) => {
  const r = selectExternalInterface(all, { ...none, iface: ['192.168.50.6'] });
  t.is(r.iface.index, 7);
  t.is(r.ifaceAddr, '192.168.50.6');
  t.is(r.iface.mtu, 9000);
});

test('--iface by name, exact first, then case-insensitive', (t) => {
  t.is(selectExternalInterface(all, { ...none, iface: ['Ethernet 2'] }).ifaceAddr, '192.168.50.5');
  const folded = selectExternalInterface(all, { ...none, iface: ['ethernet'] });
  t.is(folded.iface.index, 4);
  t.regex(folded.selectedBy, /case-insensitive/);
});

test('--iface values are tried in order; misses are noted', (t) => {
  const r = selectExternalInterface(all, { ...none, iface: ['vEthernet (nat)', '10.9.9.9', 'Ethernet 2', 'Ethernet'] });
  t.is(r.iface.name, 'Ethernet 2');
  t.is(r.notes.length, 2);
});

test('an explicitly named down interface is taken, with a note', (t) => {
  const r = selectExternalInterface(all, { ...none, iface: ['Ethernet 3'] });
  t.is(r.iface.index, 9);
  t.regex(r.notes.join(' '), /down/);
});

test('--iface-regex matches addresses before names, after --iface misses', (t) => {
  const byAddress = selectExternalInterface(all, { iface: ['missing'], ifaceRegex: ['^192\\.168\\.50\\.6$'] });
  t.is(byAddress.iface.index, 7);
  t.is(byAddress.ifaceAddr, '192.168.50.6');
  const byName = selectExternalInterface(all, { iface: [], ifaceRegex: ['^Ethernet \\d$'] });
  t.is(byName.iface.index, 7, 'Ethernet 3 is down, so Ethernet 2 is the first up match');
  t.is(byName.ifaceAddr, '192.168.50.5');
  // Unanchored like Go's MatchString: "10" occurs in 10.0.0.5, the first up address containing it.
  t.is(selectExternalInterface(all, { iface: [], ifaceRegex: ['10'] }).iface.index, 4);
});

test('--iface takes precedence over --iface-regex', (t) => {
  t.is(selectExternalInterface(all, { iface: ['Ethernet'], ifaceRegex: ['192'] }).iface.index, 4);
});

test('nothing matches: error lists the attempts and the available interfaces', (t) => {
  const err = t.throws(() => selectExternalInterface(all, { iface: ['eth0'], ifaceRegex: ['[unclosed', '^wlan'] }), { instanceOf: InterfaceSelectionError });
  t.is(err?.code, 'IFACE_SELECTION');
  const message = err?.message ?? '';
  t.regex(message, /no interface is named "eth0"/);
  t.regex(message, /could not compile the regex "\[unclosed"/);
  t.regex(message, /\^wlan/);
  t.regex(message, /Ethernet \(index 4, up\): 10\.0\.0\.5/);
  t.regex(message, /Ethernet 3 \(index 9, down\): 172\.16\.0\.5/);
  t.deepEqual(err?.context['iface'], ['eth0']);
});

test('--iface-can-reach picks the most specific route containing the address', (t) => {
  const onLink = selectExternalInterface(all, { ...none, ifaceCanReach: '192.168.50.77', routes });
  t.is(onLink.iface.index, 7);
  t.regex(onLink.selectedBy, /192\.168\.50\.0\/24/);
  const viaGateway = selectExternalInterface(all, { ...none, ifaceCanReach: '192.168.9.1', routes });
  t.is(viaGateway.iface.index, 4);
});

test('--iface-can-reach never uses the default route and explains the approximation', (t) => {
  const err = t.throws(() => selectExternalInterface(all, { ...none, ifaceCanReach: '8.8.8.8', routes }), { instanceOf: InterfaceSelectionError });
  t.regex(err?.message ?? '', /approximation/);
  t.throws(() => selectExternalInterface(all, { ...none, ifaceCanReach: '10.0.0.9' }), { instanceOf: InterfaceSelectionError, message: /route table is not available/ });
});

test('an interface without IPv4 or without MTU is refused', (t) => {
  t.throws(() => selectExternalInterface([nic(2, 'v6only', [])], { ...none, iface: ['v6only'] }), { instanceOf: InterfaceSelectionError, message: /failed to find IPv4 address for interface v6only/ });
  t.throws(() => selectExternalInterface([nic(2, 'nomtu', ['10.1.1.1'], { mtu: 0 })], { ...none, iface: ['nomtu'] }), { instanceOf: InterfaceSelectionError, message: /MTU/ });
});

test('IPv6 --iface is refused: Windows flannel is IPv4-only', (t) => {
  t.throws(() => selectExternalInterface(all, { ...none, iface: ['fe80::1'] }), { instanceOf: InterfaceSelectionError, message: /IPv4-only/ });
});
