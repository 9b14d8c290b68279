import test from 'ava';
import { leaseIdentity } from '../../src/lease/lease-identity.js';
import { LeaseWatcher } from '../../src/lease/lease-watcher.js';
import type { Lease } from '../../src/lease/types.js';
import { parseIp4Net } from '../../src/net/ip.js';

function lease(cidr: string, publicIp: string, mac = 'aa:bb:cc:dd:ee:01'): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: parseIp4Net(cidr),
    ipv6Subnet: undefined,
    attrs: {
      publicIp,
      publicIpv6: null,
      backendType: 'vxlan',
      backendData: `{"VNI":4096,"VtepMAC":"${mac}"}`,
      backendV6Data: undefined,
    },
    expiration: undefined,
  };
}

const own = lease('10.244.1.0/24', '10.0.0.1');

test('first snapshot adds every peer and filters the own lease', (t) => {
  const w = new LeaseWatcher(own);
  const changes = w.apply({ kind: 'snapshot', leases: [own, lease('10.244.2.0/24', '10.0.0.2'), lease('10.244.3.0/24', '10.0.0.3')] });
  t.deepEqual(
    changes.map((c) => [c.type, c.lease.attrs.publicIp]),
    [
      ['added', '10.0.0.2'],
      ['added', '10.0.0.3'],
    ],
  );
  t.is(w.size, 2);
});

test('a later snapshot yields added, changed and removed against what is known, nothing for unchanged', (t) => {
  const w = new LeaseWatcher(own);
  w.apply({ kind: 'snapshot', leases: [lease('10.244.2.0/24', '10.0.0.2'), lease('10.244.3.0/24', '10.0.0.3')] });
  const changes = w.apply({
    kind: 'snapshot',
    leases: [lease('10.244.2.0/24', '10.0.0.2'), lease('10.244.3.0/24', '10.0.0.3', 'aa:bb:cc:dd:ee:99'), lease('10.244.4.0/24', '10.0.0.4')],
  });
  t.deepEqual(
    changes.map((c) => [c.type, c.lease.attrs.publicIp]),
    [
      ['changed', '10.0.0.3'],
      ['added', '10.0.0.4'],
    ],
  );
  const gone = w.apply({ kind: 'snapshot', leases: [lease('10.244.4.0/24', '10.0.0.4')] });
  t.deepEqual(gone.map((c) => [c.type, c.lease.attrs.publicIp]).sort(), [
    ['removed', '10.0.0.2'],
    ['removed', '10.0.0.3'],
  ]);
  // Each change names the lease by the watcher's key, which the desired state keys peers by.
  const removal = w.apply({ kind: 'events', events: [{ type: 'removed', lease: lease('10.244.4.0/24', '0.0.0.0') }] });
  t.deepEqual(changes.map((c) => c.identity), ['10.244.3.0/24', '10.244.4.0/24']);
  t.deepEqual(gone.map((c) => c.identity).sort(), ['10.244.2.0/24', '10.244.3.0/24']);
  t.deepEqual(removal.map((c) => [c.identity, c.lease.attrs.publicIp]), [['10.244.4.0/24', '10.0.0.4']]);
  for (const c of [...changes, ...gone, ...removal]) t.is(c.identity, leaseIdentity(c.lease));
});

test('a renewal (added with identical attrs) produces no change; a removal carries the stored attrs', (t) => {
  const w = new LeaseWatcher(own);
  w.apply({ kind: 'snapshot', leases: [lease('10.244.2.0/24', '10.0.0.2')] });
  t.deepEqual(w.apply({ kind: 'events', events: [{ type: 'added', lease: lease('10.244.2.0/24', '10.0.0.2') }] }), []);
  const bare: Lease = { ...lease('10.244.2.0/24', '0.0.0.0'), attrs: { publicIp: '0.0.0.0', publicIpv6: null, backendType: '', backendData: undefined, backendV6Data: undefined } };
  const removed = w.apply({ kind: 'events', events: [{ type: 'removed', lease: bare }] });
  t.is(removed.length, 1);
  t.is(removed[0]?.type, 'removed');
  t.is(removed[0]?.lease.attrs.publicIp, '10.0.0.2');
  t.is(removed[0]?.lease.attrs.backendData, '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}');
  t.deepEqual(w.apply({ kind: 'events', events: [{ type: 'removed', lease: bare }] }), [], 'removing an unknown lease is a no-op');
});

test('events about the own subnet are ignored; a new own lease releases the old filter', (t) => {
  const w = new LeaseWatcher(own);
  t.deepEqual(w.apply({ kind: 'events', events: [{ type: 'added', lease: own }] }), []);
  w.apply({ kind: 'events', events: [{ type: 'added', lease: lease('10.244.5.0/24', '10.0.0.5') }] });
  const released = w.setOwnLease(lease('10.244.5.0/24', '10.0.0.1'));
  t.deepEqual(released.map((c) => c.type), ['removed']);
  t.is(w.size, 0);
});

test('a lease is known by where it lives: an unmasked key and a node sharing a podCIDR are leases of their own', (t) => {
  const w = new LeaseWatcher(own);
  const valid = lease('10.244.7.0/24', '10.0.0.7');
  const junk = lease('10.244.7.5/24', '10.0.0.99');
  t.deepEqual(w.apply({ kind: 'events', events: [{ type: 'added', lease: valid }, { type: 'added', lease: junk }] }).map((c) => c.type), ['added', 'added']);
  // Removing the junk key removes the junk lease, never the valid one.
  const removed = w.apply({ kind: 'events', events: [{ type: 'removed', lease: lease('10.244.7.5/24', '0.0.0.0') }] });
  t.deepEqual(removed.map((c) => [c.type, c.lease.attrs.publicIp]), [['removed', '10.0.0.99']]);
  t.deepEqual([...w.peers()].map((p) => p.attrs.publicIp), ['10.0.0.7']);

  const kube = new LeaseWatcher({ ...own, nodeName: 'win-1' });
  const a = { ...lease('10.244.9.0/24', '10.0.0.9'), nodeName: 'linux-9' };
  const b = { ...lease('10.244.9.0/24', '10.0.0.98'), nodeName: 'junk-9' };
  const ownAgain = { ...own, nodeName: 'win-1' };
  t.deepEqual(kube.apply({ kind: 'snapshot', leases: [ownAgain, a, b] }).map((c) => c.type), ['added', 'added']);
  t.deepEqual(kube.apply({ kind: 'events', events: [{ type: 'removed', lease: b }] }).map((c) => c.lease.nodeName), ['junk-9']);
  t.deepEqual([...kube.peers()].map((p) => p.nodeName), ['linux-9']);
});
