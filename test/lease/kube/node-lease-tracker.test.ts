import { deepStrictEqual } from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { leaseIdentity } from '../../../src/lease/lease-identity.js';
import { kubeAnnotationNames } from '../../../src/lease/kube/annotations.js';
import { nodeToLease } from '../../../src/lease/kube/node-lease.js';
import { NodeLeaseTracker } from '../../../src/lease/kube/node-lease-tracker.js';
import type { NodeView } from '../../../src/lease/kube/node-view.js';
import type { Lease } from '../../../src/lease/types.js';
import { formatIp4Net, formatIp6Net } from '../../../src/net/ip.js';

const P = 'flannel.alpha.coreos.com/';
const names = kubeAnnotationNames(P);
const v4 = { enableIpv4: true, enableIpv6: false };

function node(name: string, cidr: string | undefined, publicIp: string | undefined, extra: Record<string, string> = {}): NodeView {
  const annotations: Record<string, string> = { [`${P}kube-subnet-manager`]: 'true', [`${P}backend-type`]: 'vxlan', [`${P}backend-data`]: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}', ...extra };
  if (publicIp !== undefined) annotations[`${P}public-ip`] = publicIp;
  return { metadata: { name, annotations }, spec: cidr === undefined ? {} : { podCIDR: cidr } };
}

test('a dual-stack Linux node becomes a lease with both subnets and the raw annotation texts', (t) => {
  const result = nodeToLease(
    {
      metadata: {
        name: 'linux-a',
        annotations: {
          [`${P}kube-subnet-manager`]: 'true',
          [`${P}backend-type`]: 'vxlan',
          [`${P}backend-data`]: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}',
          [`${P}backend-v6-data`]: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:02"}',
          [`${P}public-ip`]: '192.168.1.1',
          [`${P}public-ipv6`]: '2001:db8::1',
        },
      },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:0:0:1::/64'] },
    },
    names,
    { enableIpv4: true, enableIpv6: true },
  );
  t.true(result.ok);
  if (!result.ok) return;
  t.is(formatIp4Net(result.lease.subnet!), '10.244.1.0/24');
  t.is(formatIp6Net(result.lease.ipv6Subnet!), 'fd00:0:0:1::/64');
  t.deepEqual(result.lease.attrs, {
    publicIp: '192.168.1.1',
    publicIpv6: '2001:db8::1',
    backendType: 'vxlan',
    backendData: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}',
    backendV6Data: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:02"}',
  });
  t.is(result.lease.nodeName, 'linux-a');
});

test('a problem is reported once per node until it changes', (t) => {
  const tracker = new NodeLeaseTracker(names, v4);
  t.is(tracker.upsert(node('a', '10.244.1.0/24', 'bad')).problems.length, 1);
  t.is(tracker.upsert(node('a', '10.244.1.0/24', 'bad', { other: '1' })).problems.length, 0);
  t.is(tracker.replaceAll([node('a', '10.244.1.0/24', 'bad')]).problems.length, 0);
  t.is(tracker.upsert(node('a', undefined, '10.0.0.1')).problems.length, 1);
  const fixed = tracker.upsert(node('a', '10.244.1.0/24', '10.0.0.1'));
  t.deepEqual(fixed.events.map((e) => e.type), ['added']);
  t.is(tracker.upsert(node('a', '10.244.1.0/24', 'bad')).problems.length, 1);
});

/** What the consumer (keyed by subnet) ends up knowing after applying a stream of results. */
function applyTo(known: Map<string, Lease>, events: readonly { type: 'added' | 'removed'; lease: Lease }[]): void {
  for (const e of events) {
    if (e.type === 'added') known.set(leaseIdentity(e.lease), e.lease);
    else known.delete(leaseIdentity(e.lease));
  }
}

test('property: after any sequence of node changes, the consumer knows exactly the valid leases', (t) => {
  // Each node draws its podCIDR from its own pool, so two nodes never claim one subnet.
  const nodeState = fc.record({
    name: fc.constantFrom('n0', 'n1', 'n2', 'n3'),
    cidr: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    ip: fc.constantFrom('10.0.0.1', '10.0.0.2', 'not-an-ip'),
    managed: fc.constantFrom('true', 'false'),
    mac: fc.constantFrom('01', '02'),
    deleted: fc.boolean(),
  });
  t.notThrows(() =>
    fc.assert(
    fc.property(fc.array(nodeState, { maxLength: 40 }), (steps) => {
      const tracker = new NodeLeaseTracker(names, v4);
      const known = new Map<string, Lease>();
      const current = new Map<string, NodeView>();
      for (const step of steps) {
        const pool = Number(step.name.slice(1)) * 10;
        if (step.deleted) {
          current.delete(step.name);
          applyTo(known, tracker.remove(step.name).events);
          continue;
        }
        const view = node(step.name, step.cidr === undefined ? undefined : `10.244.${pool + step.cidr}.0/24`, step.ip, {
          [`${P}kube-subnet-manager`]: step.managed,
          [`${P}backend-data`]: `{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:${step.mac}"}`,
        });
        current.set(step.name, view);
        applyTo(known, tracker.upsert(view).events);
      }
      const expected = new Map<string, Lease>();
      for (const view of current.values()) {
        const result = nodeToLease(view, names, v4);
        if (result.ok) expected.set(leaseIdentity(result.lease), result.lease);
      }
      deepStrictEqual(new Map([...known].sort()), new Map([...expected].sort()));
      // A relist of the same nodes is the same set.
      deepStrictEqual(tracker.replaceAll([...current.values()]).leases.map(leaseIdentity).sort(), [...expected.keys()].sort());
    }),
    ),
  );
});
