import test from 'ava';
import { LeaseResultQueue } from '../../../src/lease/kube/lease-result-queue.js';
import type { Lease, LeaseWatchResult } from '../../../src/lease/types.js';
import { parseIp4Net } from '../../../src/net/ip.js';

function lease(cidr: string): Lease {
  return {
    enableIpv4: true,
    enableIpv6: false,
    subnet: parseIp4Net(cidr),
    ipv6Subnet: undefined,
    attrs: { publicIp: '10.0.0.1', publicIpv6: null, backendType: 'host-gw', backendData: 'null', backendV6Data: undefined },
    expiration: undefined,
  };
}

function shape(result: LeaseWatchResult): string {
  return result.kind === 'snapshot'
    ? `snapshot ${result.leases.length}`
    : // "a2" = added 10.244.2.0/24: the type's initial and the subnet's third octet.
      `events ${result.events.map((e) => `${e.type[0]}${(e.lease.subnet!.ip >>> 8) & 0xff}`).join(',')}`;
}

test('results reach the consumer in order, and the iteration ends after close', async (t) => {
  const queue = new LeaseResultQueue();
  const seen: string[] = [];
  const consuming = (async () => {
    for await (const result of queue.results()) seen.push(shape(result));
  })();
  queue.push({ kind: 'snapshot', leases: [lease('10.244.1.0/24')] });
  await new Promise((resolve) => setImmediate(resolve));
  queue.push({ kind: 'events', events: [{ type: 'added', lease: lease('10.244.2.0/24') }] });
  queue.close();
  await consuming;
  t.deepEqual(seen, ['snapshot 1', 'events a2']);
});

test('while the consumer is busy, event batches merge and a snapshot supersedes what is pending', async (t) => {
  const queue = new LeaseResultQueue();
  queue.push({ kind: 'snapshot', leases: [lease('10.244.1.0/24')] });
  queue.push({ kind: 'events', events: [{ type: 'added', lease: lease('10.244.2.0/24') }] });
  queue.push({ kind: 'events', events: [] });
  queue.push({ kind: 'events', events: [{ type: 'removed', lease: lease('10.244.1.0/24') }] });
  const first: string[] = [];
  const iterator = queue.results();
  first.push(shape((await iterator.next()).value as LeaseWatchResult));
  first.push(shape((await iterator.next()).value as LeaseWatchResult));
  t.deepEqual(first, ['snapshot 1', 'events a2,r1']);

  queue.push({ kind: 'events', events: [{ type: 'added', lease: lease('10.244.3.0/24') }] });
  queue.push({ kind: 'snapshot', leases: [lease('10.244.3.0/24'), lease('10.244.4.0/24')] });
  queue.push({ kind: 'events', events: [{ type: 'removed', lease: lease('10.244.4.0/24') }] });
  queue.close();
  const rest: string[] = [];
  for await (const result of iterator) rest.push(shape(result));
  t.deepEqual(rest, ['snapshot 2', 'events r4']);
});

test('a cancelling close drops what is pending', async (t) => {
  const queue = new LeaseResultQueue();
  queue.push({ kind: 'snapshot', leases: [lease('10.244.1.0/24')] });
  queue.close({ discardPending: true });
  const seen: LeaseWatchResult[] = [];
  for await (const result of queue.results()) seen.push(result);
  t.deepEqual(seen, []);
});
