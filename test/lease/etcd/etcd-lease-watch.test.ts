import test from 'ava';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { EtcdSubnetManager } from '../../../src/lease/etcd/etcd-subnet-manager.js';
import { leaseIdentity } from '../../../src/lease/lease-identity.js';
import type { Lease, LeaseWatchResult } from '../../../src/lease/types.js';
import { silentLogger, type Logger } from '../../../src/log.js';
import { formatIp4Net } from '../../../src/net/ip.js';
import { startEtcd, startTcpProxy, type EtcdServer } from '../../support/etcd-server.js';
import { waitFor } from '../../support/wait.js';

const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';

let etcd: EtcdServer;
let client: Etcd3;
let prefixCount = 0;

test.before(async () => {
  etcd = await startEtcd();
  client = new Etcd3({ hosts: etcd.endpoint });
});

test.after.always(async () => {
  client?.close();
  await etcd?.stop();
});

async function network(): Promise<string> {
  const prefix = `/watch-${++prefixCount}/network`;
  await client.put(`${prefix}/config`).value(NET_CONF);
  return prefix;
}

const value = (ip: string): string => `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:01"}}`;

/** What a consumer that applies snapshots and events sees: subnet → PublicIP. */
interface Follower {
  readonly visible: Map<string, string>;
  readonly results: LeaseWatchResult[];
  readonly removed: Lease[];
  stop(): Promise<void>;
}

function follow(manager: EtcdSubnetManager): Follower {
  const ac = new AbortController();
  const visible = new Map<string, string>();
  const results: LeaseWatchResult[] = [];
  const removed: Lease[] = [];
  const done = (async () => {
    for await (const result of manager.watchLeases(ac.signal)) {
      results.push(result);
      if (result.kind === 'snapshot') {
        visible.clear();
        for (const l of result.leases) visible.set(leaseIdentity(l), l.attrs.publicIp);
      } else {
        for (const e of result.events) {
          if (e.type === 'added') visible.set(leaseIdentity(e.lease), e.lease.attrs.publicIp);
          else {
            visible.delete(leaseIdentity(e.lease));
            removed.push(e.lease);
          }
        }
      }
    }
  })();
  return {
    visible,
    results,
    removed,
    async stop() {
      ac.abort();
      await done;
    },
  };
}

function sorted(map: Map<string, string>): [string, string][] {
  return [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function capture(level = 'info'): { log: Logger; lines: { level: number; msg: string; key?: string; leases?: number; pages?: number }[] } {
  const lines: { level: number; msg: string; key?: string; leases?: number; pages?: number }[] = [];
  return { lines, log: pino({ level }, { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) }) };
}

test.serial('first a snapshot with every lease, then events; a removal carries the peer attributes', async (t) => {
  const prefix = await network();
  await client.put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.1'));
  await client.put(`${prefix}/subnets/10.244.2.0-24`).value(value('10.0.0.2'));
  const m = new EtcdSubnetManager({ endpoints: [etcd.endpoint], prefix, log: silentLogger() });
  const f = follow(m);
  try {
    await waitFor(() => f.results.length >= 1, { what: 'snapshot' });
    t.is(f.results[0]!.kind, 'snapshot');
    t.deepEqual(sorted(f.visible), [
      ['10.244.1.0/24', '10.0.0.1'],
      ['10.244.2.0/24', '10.0.0.2'],
    ]);
    await client.put(`${prefix}/subnets/10.244.3.0-24`).value(value('10.0.0.3'));
    await client.delete().key(`${prefix}/subnets/10.244.1.0-24`);
    await waitFor(() => f.removed.length === 1, { what: 'removal' });
    t.deepEqual(sorted(f.visible), [
      ['10.244.2.0/24', '10.0.0.2'],
      ['10.244.3.0/24', '10.0.0.3'],
    ]);
    t.is(f.removed[0]!.attrs.publicIp, '10.0.0.1');
    t.true(f.results.slice(1).every((r) => r.kind === 'events'));
  } finally {
    await f.stop();
    await m.close();
  }
});

test.serial('a garbage key is skipped with one warning and never hides or removes the others', async (t) => {
  const prefix = await network();
  await client.put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.1'));
  await client.put(`${prefix}/subnets/garbage`).value('x');
  const { log, lines } = capture();
  const m = new EtcdSubnetManager({ endpoints: [etcd.endpoint], prefix, log });
  const f = follow(m);
  try {
    await waitFor(() => f.results.length >= 1, { what: 'snapshot' });
    await client.put(`${prefix}/subnets/10.244.9.0-24`).value('{"PublicIP": garbage');
    await client.put(`${prefix}/subnets/10.244.2.0-24`).value(value('10.0.0.2'));
    await client.put(`${prefix}/subnets/10.244.2.0-32`).value(value('10.0.0.32'));
    await client.put(`${prefix}/subnets/10.244.3.0-24`).value(value('10.0.0.3'));
    await waitFor(() => f.visible.has('10.244.3.0/24'), { what: 'the lease after the garbage' });
    t.deepEqual(sorted(f.visible), [
      ['10.244.1.0/24', '10.0.0.1'],
      ['10.244.2.0/24', '10.0.0.2'],
      ['10.244.3.0/24', '10.0.0.3'],
    ]);
    t.is(f.removed.length, 0);
    const warnings = lines.filter((l) => l.level === 40 && /not a flannel lease/.test(l.msg));
    t.deepEqual(warnings.map((w) => w.key).sort(), [`${prefix}/subnets/10.244.2.0-32`, `${prefix}/subnets/10.244.9.0-24`, `${prefix}/subnets/garbage`]);
  } finally {
    await f.stop();
    await m.close();
  }
});

test.serial('after a disconnect the watch resumes where it stopped: no relist, no lost event', async (t) => {
  const prefix = await network();
  await client.put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.1'));
  const proxy = await startTcpProxy(etcd.endpoint);
  const { log, lines } = capture();
  const m = new EtcdSubnetManager({ endpoints: [proxy.endpoint], prefix, log });
  const f = follow(m);
  try {
    await waitFor(() => f.results.length >= 1, { what: 'snapshot' });
    proxy.cut();
    await client.put(`${prefix}/subnets/10.244.2.0-24`).value(value('10.0.0.2'));
    await client.delete().key(`${prefix}/subnets/10.244.1.0-24`);
    proxy.resume();
    await client.put(`${prefix}/subnets/10.244.3.0-24`).value(value('10.0.0.3'));
    await waitFor(() => f.visible.has('10.244.3.0/24') && !f.visible.has('10.244.1.0/24'), { timeoutMs: 15_000, what: 'events after reconnect' });
    t.deepEqual(sorted(f.visible), [
      ['10.244.2.0/24', '10.0.0.2'],
      ['10.244.3.0/24', '10.0.0.3'],
    ]);
    t.is(f.results.filter((r) => r.kind === 'snapshot').length, 1);
    t.is(f.removed.length, 1);
    t.true(lines.some((l) => /etcd watch disconnected; resuming/.test(l.msg)), 'the watch really was cut');
  } finally {
    await f.stop();
    await m.close();
    await proxy.close();
  }
});

test.serial('a compaction during a disconnect is answered by a relist, diffed into events, that loses no event', async (t) => {
  const prefix = await network();
  await client.put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.1'));
  await client.put(`${prefix}/subnets/10.244.2.0-24`).value(value('10.0.0.2'));
  await client.put(`${prefix}/subnets/10.244.9.0-24`).value(value('10.0.0.9'));
  const proxy = await startTcpProxy(etcd.endpoint);
  const { log, lines } = capture();
  const m = new EtcdSubnetManager({ endpoints: [proxy.endpoint], prefix, log });
  const f = follow(m);
  try {
    await waitFor(() => f.results.length >= 1, { what: 'snapshot' });
    proxy.cut();
    await client.put(`${prefix}/subnets/10.244.3.0-24`).value(value('10.0.0.3'));
    await client.delete().key(`${prefix}/subnets/10.244.1.0-24`);
    const put = await client.put(`${prefix}/subnets/10.244.2.0-24`).value(value('10.0.0.22')).exec();
    await client.kv.compact({ revision: put.header.revision, physical: true });
    await client.put(`${prefix}/subnets/10.244.4.0-24`).value(value('10.0.0.4'));
    proxy.resume();
    await waitFor(() => f.visible.has('10.244.4.0/24') && !f.visible.has('10.244.1.0/24') && lines.some((l) => /fell behind a compaction; relisting/.test(l.msg)), {
      timeoutMs: 15_000,
      what: 'relist after compaction',
    });
    // The relist is compared with what was known page by page: only differences come out, as
    // events, and the unchanged peer is not delivered again.
    t.is(f.results.filter((r) => r.kind === 'snapshot').length, 1);
    const afterFirst = f.results.slice(1).flatMap((r) => (r.kind === 'events' ? r.events : []));
    t.deepEqual(afterFirst.filter((e) => e.type === 'removed').map((e) => formatIp4Net(e.lease.subnet!)), ['10.244.1.0/24']);
    t.deepEqual(afterFirst.filter((e) => e.type === 'added').map((e) => formatIp4Net(e.lease.subnet!)).sort(), ['10.244.2.0/24', '10.244.3.0/24', '10.244.4.0/24']);
    t.deepEqual(sorted(f.visible), [
      ['10.244.2.0/24', '10.0.0.22'],
      ['10.244.3.0/24', '10.0.0.3'],
      ['10.244.4.0/24', '10.0.0.4'],
      ['10.244.9.0/24', '10.0.0.9'],
    ]);
    t.true(lines.some((l) => /fell behind a compaction; relisting/.test(l.msg)));
    await client.put(`${prefix}/subnets/10.244.5.0-24`).value(value('10.0.0.5'));
    await waitFor(() => f.visible.has('10.244.5.0/24'), { what: 'events after the relist' });
    t.is(f.results.at(-1)!.kind, 'events');
  } finally {
    await f.stop();
    await m.close();
    await proxy.close();
  }
});

test.serial('start-up lists the leases once, in pages read at one revision, and the watch starts from that listing', async (t) => {
  const prefix = await network();
  for (let i = 1; i <= 7; i++) await client.put(`${prefix}/subnets/10.244.${i}.0-24`).value(value(`10.0.0.${i}`));
  const { log, lines } = capture('debug');
  const m = new EtcdSubnetManager({ endpoints: [etcd.endpoint], prefix, log, listPageSize: 2 });
  const attrs = { publicIp: '10.0.0.100', publicIpv6: null, backendType: 'vxlan', backendData: '{"VNI":4096,"VtepMAC":"aa:bb:cc:dd:ee:64"}', backendV6Data: undefined };
  const own = await m.acquireLease({ attrs }, AbortSignal.timeout(15_000));
  // Written between the listing and the watch: the watch must still deliver it.
  await client.put(`${prefix}/subnets/10.244.50.0-24`).value(value('10.0.0.50'));
  const f = follow(m);
  try {
    await waitFor(() => f.visible.has('10.244.50.0/24'), { what: 'the peer written after the listing' });
    t.is(f.results[0]!.kind, 'snapshot');
    const snapshot = f.results[0] as { leases: readonly Lease[] } & LeaseWatchResult;
    t.deepEqual(snapshot.leases.map((l) => leaseIdentity(l)).sort(), [...Array.from({ length: 7 }, (_, i) => `10.244.${i + 1}.0/24`), leaseIdentity(own)].sort());
    const listings = lines.filter((l) => l.msg === 'listed the leases');
    t.is(listings.length, 1, 'acquire and watch share one listing');
    t.is(listings[0]!.leases, 7);
    t.is(listings[0]!.pages, 4);
  } finally {
    await f.stop();
    await m.close();
  }
});

test.serial('a renewal (the same value under a new etcd lease) yields no event; a change does', async (t) => {
  const prefix = await network();
  await client.put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.1'));
  const m = new EtcdSubnetManager({ endpoints: [etcd.endpoint], prefix, log: silentLogger() });
  const f = follow(m);
  try {
    await waitFor(() => f.results.length >= 1, { what: 'snapshot' });
    await client.lease(3600, { autoKeepAlive: false }).put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.1'));
    await client.put(`${prefix}/subnets/10.244.1.0-24`).value(value('10.0.0.11'));
    await waitFor(() => f.visible.get('10.244.1.0/24') === '10.0.0.11', { what: 'the change' });
    const events = f.results.slice(1).flatMap((r) => (r.kind === 'events' ? r.events : []));
    t.deepEqual(events.map((e) => `${e.type} ${e.lease.attrs.publicIp}`), ['added 10.0.0.11']);
  } finally {
    await f.stop();
    await m.close();
  }
});
