import test from 'ava';
import { leaseIdentity } from '../../src/lease/lease-identity.js';
import type { PeerDecision } from '../../src/backends/backend.js';
import { PeerDesiredState } from '../../src/daemon/peer-desired-state.js';
import type { PeerLeaseRules } from '../../src/lease/peer-lease-validation.js';
import type { Lease } from '../../src/lease/types.js';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { formatIp4Net, maskIp4Net, parseIp4Net } from '../../src/net/ip.js';

const rules: PeerLeaseRules = {
  network: parseIp4Net('10.244.0.0/16'),
  subnetLen: 24,
  ownSubnet: parseIp4Net('10.244.1.0/24'),
  ownPublicIp: '192.168.1.10',
  backendType: 'vxlan',
};

function lease(subnet: string, backendData: string, extra: { publicIp?: string; nodeName?: string } = {}): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: parseIp4Net(subnet),
    ipv6Subnet: undefined,
    attrs: { publicIp: extra.publicIp ?? '192.168.1.2', publicIpv6: null, backendType: 'vxlan', backendData, backendV6Data: undefined },
    expiration: undefined,
    ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
  };
}

// The backend's key is the masked subnet, as both real backends key it.
function counting() {
  let calls = 0;
  const decide = (l: Lease): PeerDecision<string> => {
    calls++;
    const key = formatIp4Net(maskIp4Net(l.subnet!));
    return l.attrs.backendData === 'bad'
      ? { kind: 'unusable', key, code: 'BAD', reason: `bad peer ${key}` }
      : { kind: 'route', key, spec: `${l.attrs.backendData}@${l.attrs.publicIp}` };
  };
  return { decide, calls: () => calls };
}

function setup() {
  const desired = new Map<string, string>();
  const lines: { level: number; msg: string; code?: string }[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
  const { decide, calls } = counting();
  const state = new PeerDesiredState({
    decide,
    rules,
    sink: { setDesired: (k, d) => (d === undefined ? desired.delete(k) : desired.set(k, d)) },
    log,
  });
  const warnings = () => lines.filter((l) => l.level === 40);
  return { state, desired, warnings, calls };
}

test('routes are set and cleared; an unusable peer is warned about once and has its old route removed', (t) => {
  const { state, desired, warnings } = setup();
  state.apply([{ type: 'added', lease: lease('10.244.2.0/24', 'a') }]);
  t.is(desired.get('10.244.2.0/24'), 'a@192.168.1.2');
  state.apply([{ type: 'changed', lease: lease('10.244.2.0/24', 'bad'), previous: lease('10.244.2.0/24', 'a') }]);
  t.false(desired.has('10.244.2.0/24'), 'the route is withdrawn');
  state.apply([{ type: 'changed', lease: lease('10.244.2.0/24', 'bad'), previous: lease('10.244.2.0/24', 'bad') }]);
  t.is(warnings().length, 1, 'warned once, not per event');
  t.is(state.unusable().size, 1);
  state.apply([{ type: 'removed', lease: lease('10.244.2.0/24', 'bad') }]);
  t.is(state.unusable().size, 0);
});

test('each event is decided once; a removal is not decided at all', (t) => {
  const { state, calls } = setup();
  state.apply([{ type: 'added', lease: lease('10.244.2.0/24', 'a') }]);
  state.apply([{ type: 'changed', lease: lease('10.244.2.0/24', 'b'), previous: lease('10.244.2.0/24', 'a') }]);
  state.apply([{ type: 'removed', lease: lease('10.244.2.0/24', 'b') }]);
  t.is(calls(), 2);
});

test('an unmasked key beside a valid one neither repoints nor removes the valid route', (t) => {
  const { state, desired, warnings, calls } = setup();
  state.apply([{ type: 'added', lease: lease('10.244.7.0/24', 'valid', { publicIp: '192.168.1.7' }) }]);
  state.apply([{ type: 'added', lease: lease('10.244.7.5/24', 'junk', { publicIp: '192.168.1.99' }) }]);
  t.is(desired.get('10.244.7.0/24'), 'valid@192.168.1.7');
  t.is(calls(), 1, 'the junk lease never reaches the backend');
  state.apply([{ type: 'changed', lease: lease('10.244.7.5/24', 'junk2', { publicIp: '192.168.1.99' }), previous: lease('10.244.7.5/24', 'junk') }]);
  state.apply([{ type: 'removed', lease: lease('10.244.7.5/24', 'junk2') }]);
  t.is(desired.get('10.244.7.0/24'), 'valid@192.168.1.7', 'removing the junk key leaves the valid route');
  t.deepEqual(warnings().map((w) => w.code), ['SUBNET_NOT_MASKED']);
  t.regex(warnings()[0]!.msg, /10\.244\.7\.5\/24/);
});

test('a later lease for a held subnet never displaces the holder, and takes over when it goes', (t) => {
  const { state, desired, warnings } = setup();
  const first = lease('10.244.9.0/24', 'first', { nodeName: 'node-a', publicIp: '192.168.1.21' });
  const second = lease('10.244.9.0/24', 'second', { nodeName: 'node-b', publicIp: '192.168.1.22' });
  state.apply([{ type: 'added', lease: first }, { type: 'added', lease: second }]);
  t.is(desired.get('10.244.9.0/24'), 'first@192.168.1.21');
  t.deepEqual([...state.unusable().values()].map((u) => u.code), ['SUBNET_OVERLAPS_PEER']);
  t.regex(warnings()[0]!.msg, /node-b.*node-a/);
  // The later one changing does not displace the holder either, and is not warned about again.
  state.apply([{ type: 'changed', lease: { ...second, attrs: { ...second.attrs, backendData: 'second2' } }, previous: second }]);
  t.is(desired.get('10.244.9.0/24'), 'first@192.168.1.21');
  t.is(warnings().length, 1);
  state.apply([{ type: 'removed', lease: first }]);
  t.is(desired.get('10.244.9.0/24'), 'second2@192.168.1.22', 'the waiting lease takes over');
  t.is(state.unusable().size, 0);
});

test('a waiting lease that goes away first leaves the holder alone', (t) => {
  const { state, desired } = setup();
  const first = lease('10.244.9.0/24', 'first', { nodeName: 'node-a' });
  const second = lease('10.244.9.0/24', 'second', { nodeName: 'node-b' });
  state.apply([{ type: 'added', lease: first }, { type: 'added', lease: second }, { type: 'removed', lease: second }]);
  t.is(desired.get('10.244.9.0/24'), 'first@192.168.1.2');
  state.apply([{ type: 'removed', lease: first }]);
  t.is(desired.size, 0);
  t.is(state.unusable().size, 0);
});

test('a holder that turns invalid hands its subnet to the waiting lease', (t) => {
  const { state, desired } = setup();
  const first = lease('10.244.9.0/24', 'first', { nodeName: 'node-a', publicIp: '192.168.1.21' });
  const second = lease('10.244.9.0/24', 'second', { nodeName: 'node-b', publicIp: '192.168.1.22' });
  state.apply([{ type: 'added', lease: first }, { type: 'added', lease: second }]);
  state.apply([{ type: 'changed', lease: { ...first, attrs: { ...first.attrs, publicIp: '192.168.1.10' } }, previous: first }]);
  t.is(desired.get('10.244.9.0/24'), 'second@192.168.1.22');
  t.deepEqual([...state.unusable().values()].map((u) => u.code), ['PUBLIC_IP_IS_OURS']);
});

test('each kind of junk is refused with one warning and programs nothing', (t) => {
  const { state, desired, warnings } = setup();
  const junk = ['0.0.0.0/0', '10.244.0.0/16', '10.250.0.0/24', '10.244.0.0/20', '10.244.8.0/25'];
  state.apply(junk.map((s) => ({ type: 'added' as const, lease: lease(s, 'x') })));
  state.apply([{ type: 'added', lease: lease('10.244.8.0/24', 'x', { publicIp: '192.168.1.10' }) }]);
  // A relist delivers the same leases again: no new warning.
  state.apply(junk.map((s) => ({ type: 'changed' as const, lease: lease(s, 'y'), previous: lease(s, 'x') })));
  t.is(desired.size, 0);
  t.deepEqual(
    warnings().map((w) => w.code),
    ['SUBNET_COVERS_NETWORK', 'SUBNET_COVERS_NETWORK', 'SUBNET_OUTSIDE_NETWORK', 'SUBNET_OVERLAPS_OWN', 'SUBNET_WRONG_LENGTH', 'PUBLIC_IP_IS_OURS'],
  );
  t.is(state.unusable().size, 6);
});

test('the verdict for /status is the decision already made, edge refusals included, without deciding again', (t) => {
  const { state, calls } = setup();
  const valid = lease('10.244.7.0/24', 'valid', { publicIp: '192.168.1.7' });
  const junk = lease('10.244.7.5/24', 'junk', { publicIp: '192.168.1.99' });
  state.apply([{ type: 'added', lease: valid }, { type: 'added', lease: junk }]);
  const before = calls();
  t.is(state.verdict(leaseIdentity(valid))?.kind, 'route');
  const refused = state.verdict(leaseIdentity(junk));
  t.is(refused?.kind, 'refused');
  t.regex(refused && 'reason' in refused ? refused.reason : '', /10\.244\.7\.5\/24/);
  t.is(state.verdict('10.244.99.0-24'), undefined, 'an unknown lease has no verdict');
  t.is(calls(), before, 'asking decides nothing');
});
