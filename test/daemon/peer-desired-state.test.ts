import test from 'ava';
import type { PeerDecision } from '../../src/backends/backend.js';
import { PeerDesiredState } from '../../src/daemon/peer-desired-state.js';
import type { Lease } from '../../src/lease/types.js';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { formatIp4Net, parseIp4Net } from '../../src/net/ip.js';

function lease(subnet: string, backendData: string): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: parseIp4Net(subnet),
    ipv6Subnet: undefined,
    attrs: { publicIp: '192.168.1.2', publicIpv6: null, backendType: 'vxlan', backendData, backendV6Data: undefined },
    expiration: undefined,
  };
}

const decide = (l: Lease): PeerDecision<string> =>
  l.attrs.backendData === 'bad'
    ? { kind: 'unusable', key: formatIp4Net(l.subnet!), code: 'BAD', reason: `bad peer ${formatIp4Net(l.subnet!)}` }
    : { kind: 'route', key: formatIp4Net(l.subnet!), spec: l.attrs.backendData! };

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
  return { log, lines };
}

test('routes are set and cleared; an unusable peer is warned about once and has its old route removed', (t) => {
  const desired = new Map<string, string | undefined>();
  const { log, lines } = capture();
  const state = new PeerDesiredState(decide, { setDesired: (k, d) => desired.set(k, d) }, log);
  state.apply([{ type: 'added', lease: lease('10.244.1.0/24', 'a') }]);
  t.is(desired.get('10.244.1.0/24'), 'a');
  state.apply([{ type: 'changed', lease: lease('10.244.1.0/24', 'bad'), previous: lease('10.244.1.0/24', 'a') }]);
  t.is(desired.get('10.244.1.0/24'), undefined, 'the route is withdrawn');
  state.apply([{ type: 'changed', lease: lease('10.244.1.0/24', 'bad'), previous: lease('10.244.1.0/24', 'bad') }]);
  t.is(lines.filter((l) => l.level === 40).length, 1, 'warned once, not per event');
  t.is(state.unusable().size, 1);
  state.apply([{ type: 'removed', lease: lease('10.244.1.0/24', 'bad') }]);
  t.is(state.unusable().size, 0);
});
