import test from 'ava';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { EtcdSubnetManager, type EtcdSubnetManagerOptions } from '../../../src/lease/etcd/etcd-subnet-manager.js';
import type { Lease, LeaseAttrs, LeaseRequest } from '../../../src/lease/types.js';
import { silentLogger } from '../../../src/log.js';
import { formatIp4Net, parseIp4Net } from '../../../src/net/ip.js';
import { startEtcd, type EtcdServer } from '../../support/etcd-server.js';
import { waitFor } from '../../support/wait.js';

const NET_CONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096}}';

let etcd: EtcdServer;
let client: Etcd3;
let prefixCount = 0;
const managers: EtcdSubnetManager[] = [];

test.before(async () => {
  etcd = await startEtcd();
  client = new Etcd3({ hosts: etcd.endpoint });
});

test.after.always(async () => {
  for (const m of managers) await m.close();
  client?.close();
  await etcd?.stop();
});

/** A fresh network prefix per test, so concurrent tests do not see each other's keys. */
async function network(conf = NET_CONF): Promise<string> {
  const prefix = `/test-${++prefixCount}/network`;
  await client.put(`${prefix}/config`).value(conf);
  return prefix;
}

function manager(prefix: string, extra: Partial<EtcdSubnetManagerOptions> = {}): EtcdSubnetManager {
  const m = new EtcdSubnetManager({ endpoints: [etcd.endpoint], prefix, log: silentLogger(), ...extra });
  managers.push(m);
  return m;
}

function vxlanAttrs(publicIp: string, mac = '00:15:5d:01:02:03'): LeaseAttrs {
  return { publicIp, publicIpv6: null, backendType: 'vxlan', backendData: `{"VNI":4096,"VtepMAC":"${mac}"}`, backendV6Data: undefined };
}

async function subnetKeys(prefix: string): Promise<Record<string, string>> {
  return client.getAll().prefix(`${prefix}/subnets/`).strings();
}

async function etcdLeaseOf(key: string): Promise<{ id: string; ttl: number }> {
  const res = await client.kv.range({ key: Buffer.from(key) });
  const kv = res.kvs[0];
  if (!kv) throw new Error(`${key} is missing`);
  if (kv.lease === '0') return { id: '0', ttl: -1 };
  const ttl = await client.leaseClient.leaseTimeToLive({ ID: kv.lease });
  return { id: kv.lease, ttl: Number(ttl.TTL) };
}

test('writes the lease key and value exactly as flannel does, with a 24 h etcd lease', async (t) => {
  const prefix = await network();
  const m = manager(prefix, { random: () => 0 });
  const before = Date.now();
  const lease = await m.acquireLease({ attrs: vxlanAttrs('10.0.0.5') }, AbortSignal.timeout(15_000));
  const after = Date.now();
  t.is(formatIp4Net(lease.subnet!), '10.244.1.0/24');
  t.deepEqual(await subnetKeys(prefix), {
    [`${prefix}/subnets/10.244.1.0-24`]: '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"00:15:5d:01:02:03"}}',
  });
  const etcdLease = await etcdLeaseOf(`${prefix}/subnets/10.244.1.0-24`);
  t.regex(etcdLease.id, /^\d+$/);
  t.not(etcdLease.id, '0');
  t.true(etcdLease.ttl > 86_300 && etcdLease.ttl <= 86_400, `ttl ${etcdLease.ttl}`);
  // 24 h from the grant, which happened between `before` and `after` (seconds apart on a busy machine).
  const expiration = lease.expiration!.getTime();
  t.true(expiration >= before + 86_300_000 && expiration <= after + 86_400_000, `expires ${(expiration - before) / 1000} s after the call began`);
  t.deepEqual(await m.getNetworkConfig(AbortSignal.timeout(5000)).then((c) => c.backendType), 'vxlan');
});

test('five managers racing for seven subnets never share one', async (t) => {
  const prefix = await network('{"Network":"10.9.0.0/26","SubnetLen":29,"Backend":{"Type":"host-gw"}}');
  // random 0: every manager first tries the same subnet, so most creates lose the race.
  const ms = [1, 2, 3, 4, 5].map(() => manager(prefix, { random: () => 0 }));
  const leases = await Promise.all(
    ms.map((m, i) => m.acquireLease({ attrs: { ...vxlanAttrs(`10.0.1.${i + 1}`), backendType: 'host-gw', backendData: undefined } }, AbortSignal.timeout(20_000))),
  );
  const subnets = leases.map((l) => formatIp4Net(l.subnet!));
  t.is(new Set(subnets).size, 5, subnets.join(' '));
  const keys = await subnetKeys(prefix);
  t.is(Object.keys(keys).length, 5);
  t.deepEqual(new Set(Object.values(keys).map((v) => (JSON.parse(v) as { PublicIP: string }).PublicIP)).size, 5);
  for (const s of subnets) t.true(s.endsWith('/29') && s !== '10.9.0.0/29', s);
});

test('a restart reacquires the same subnet by PublicIP; a new node gets its previous subnet when free', async (t) => {
  const prefix = await network();
  const first = manager(prefix, { random: () => 0.37 });
  const lease1 = await first.acquireLease({ attrs: vxlanAttrs('10.0.0.6') }, AbortSignal.timeout(15_000));
  const key = `${prefix}/subnets/${formatIp4Net(lease1.subnet!).replace('/', '-')}`;
  const etcdLease1 = await etcdLeaseOf(key);
  await first.close();

  const second = manager(prefix, { random: () => 0.9 });
  const lease2 = await second.acquireLease({ attrs: vxlanAttrs('10.0.0.6', '00:15:5d:0a:0b:0c') }, AbortSignal.timeout(15_000));
  t.is(formatIp4Net(lease2.subnet!), formatIp4Net(lease1.subnet!));
  const keys = await subnetKeys(prefix);
  t.deepEqual(Object.keys(keys), [key]);
  t.is(keys[key], '{"PublicIP":"10.0.0.6","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"00:15:5d:0a:0b:0c"}}');
  t.not((await etcdLeaseOf(key)).id, etcdLease1.id);

  const third = manager(prefix, { random: () => 0 });
  const request: LeaseRequest = { attrs: vxlanAttrs('10.0.0.7'), previousSubnet: parseIp4Net('10.244.42.0/24') };
  t.is(formatIp4Net((await third.acquireLease(request, AbortSignal.timeout(15_000))).subnet!), '10.244.42.0/24');
});

test('a lease written as flannel writes it is a peer, and its subnet is never allocated', async (t) => {
  const prefix = await network('{"Network":"10.7.0.0/16","SubnetMin":"10.7.5.0","SubnetMax":"10.7.6.0","Backend":{"Type":"vxlan"}}');
  const flannelValue = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';
  await client.lease(86_400, { autoKeepAlive: false }).put(`${prefix}/subnets/10.7.5.0-24`).value(flannelValue);
  const m = manager(prefix, { random: () => 0, peerExpiry: true });
  const own = await m.acquireLease({ attrs: vxlanAttrs('10.0.0.8') }, AbortSignal.timeout(15_000));
  t.is(formatIp4Net(own.subnet!), '10.7.6.0/24');
  // By default the daemon does not ask etcd for every peer's TTL: nothing downstream uses it.
  const quiet = new AbortController();
  const plain = await manager(prefix).watchLeases(quiet.signal)[Symbol.asyncIterator]().next();
  quiet.abort();
  const plainPeer = (plain.value as { leases: Lease[] }).leases.find((l) => l.attrs.publicIp === '192.168.64.3');
  t.is(plainPeer?.expiration, undefined);

  const ac = new AbortController();
  const first = await m.watchLeases(ac.signal)[Symbol.asyncIterator]().next();
  ac.abort();
  t.false(first.done);
  const result = first.value as { kind: string; leases: Lease[] };
  t.is(result.kind, 'snapshot');
  const peer = result.leases.find((l) => l.attrs.publicIp === '192.168.64.3');
  t.truthy(peer);
  t.is(formatIp4Net(peer!.subnet!), '10.7.5.0/24');
  t.deepEqual(peer!.attrs, { publicIp: '192.168.64.3', publicIpv6: null, backendType: 'vxlan', backendData: '{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}', backendV6Data: undefined });
  const inS = (peer!.expiration!.getTime() - Date.now()) / 1000;
  t.true(inS > 86_300 && inS <= 86_400, `peer expires in ${inS}`);
  t.true(result.leases.some((l) => l.attrs.publicIp === '10.0.0.8'), 'the own lease is in the snapshot too');
});

test('reservations are respected and never given a TTL', async (t) => {
  const prefix = await network('{"Network":"10.8.0.0/16","SubnetLen":24}');
  // An admin's reservations: keys written without an etcd lease.
  await client.put(`${prefix}/subnets/10.8.1.0-24`).value('{"PublicIP":"10.0.0.50","PublicIPv6":null}');
  await client.put(`${prefix}/subnets/10.8.9.0-24`).value('{"PublicIP":"10.0.0.9","PublicIPv6":null}');
  const m = manager(prefix, { random: () => 0 });
  const own = await m.acquireLease({ attrs: vxlanAttrs('10.0.0.9') }, AbortSignal.timeout(15_000));
  t.is(formatIp4Net(own.subnet!), '10.8.9.0/24');
  t.is(own.expiration, undefined);
  t.deepEqual(await etcdLeaseOf(`${prefix}/subnets/10.8.9.0-24`), { id: '0', ttl: -1 });
  t.is((await subnetKeys(prefix))[`${prefix}/subnets/10.8.9.0-24`], '{"PublicIP":"10.0.0.9","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"00:15:5d:01:02:03"}}');

  const other = manager(prefix, { random: () => 0 });
  const otherLease = await other.acquireLease({ attrs: vxlanAttrs('10.0.0.10') }, AbortSignal.timeout(15_000));
  t.is(formatIp4Net(otherLease.subnet!), '10.8.2.0/24', 'the reservation of 10.0.0.50 is skipped');
  t.deepEqual(await etcdLeaseOf(`${prefix}/subnets/10.8.1.0-24`), { id: '0', ttl: -1 });
});

test('keepLease renews before expiry, moving the key to a fresh etcd lease', async (t) => {
  const prefix = await network();
  const m = manager(prefix, { leaseTtlSeconds: 4, renewMarginMinutes: 2.5 / 60 });
  const request = { attrs: vxlanAttrs('10.0.0.11') };
  const lease = await m.acquireLease(request, AbortSignal.timeout(15_000));
  const key = `${prefix}/subnets/${formatIp4Net(lease.subnet!).replace('/', '-')}`;
  const firstEtcdLease = await etcdLeaseOf(key);
  t.true(firstEtcdLease.ttl <= 4);
  const renewed: Lease[] = [];
  const ac = new AbortController();
  const keeping = m.keepLease(lease, request, ac.signal, { onRenewed: (l) => renewed.push(l) });
  // Past the first lease's expiry the key must still be there, on a live lease.
  await waitFor(() => Date.now() > lease.expiration!.getTime() + 1500 && renewed.length >= 2, { timeoutMs: 15_000, what: 'two renewals past the first expiry' });
  const now = await etcdLeaseOf(key);
  t.not(now.id, firstEtcdLease.id);
  t.true(now.ttl > 0 && now.ttl <= 4, `ttl ${now.ttl}`);
  t.true(renewed.at(-1)!.expiration!.getTime() > lease.expiration!.getTime());
  const old = await client.leaseClient.leaseTimeToLive({ ID: firstEtcdLease.id });
  t.is(old.TTL, '-1', 'the replaced etcd lease is gone');
  ac.abort();
  await keeping;
});

test('keepLease re-acquires a lease that was deleted, calling the hooks', async (t) => {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) });
  const prefix = await network();
  const m = manager(prefix, { log, random: () => 0 });
  const request = { attrs: vxlanAttrs('10.0.0.12') };
  const lease = await m.acquireLease(request, AbortSignal.timeout(15_000));
  const key = `${prefix}/subnets/${formatIp4Net(lease.subnet!).replace('/', '-')}`;
  const lost: string[] = [];
  const reacquired: Lease[] = [];
  const ac = new AbortController();
  const keeping = m.keepLease(lease, request, ac.signal, { onLost: (r) => lost.push(r), onReacquired: (l) => reacquired.push(l) });
  // No wait for the own-key watch: it reads the key before watching, so an early delete is seen too.
  await client.delete().key(key);
  await waitFor(() => reacquired.length === 1, { timeoutMs: 15_000, what: 're-acquisition' });
  t.is(lost.length, 1);
  t.regex(lost[0]!, /deleted or expired/);
  t.is(formatIp4Net(reacquired[0]!.subnet!), formatIp4Net(lease.subnet!));
  t.truthy((await subnetKeys(prefix))[key]);
  t.true(lines.some((l) => l.level >= 50 && /LEASE LOST/.test(l.msg)), 'loss is logged as an error');
  ac.abort();
  await keeping;
});

test('acquire keeps retrying until the config appears', async (t) => {
  const lines: { level: number; msg: string; err?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { level: number; msg: string }) });
  const prefix = `/test-${++prefixCount}/network`;
  const m = manager(prefix, { log, random: () => 0 });
  const acquiring = m.acquireLease({ attrs: vxlanAttrs('10.0.0.13') }, AbortSignal.timeout(15_000));
  const failure = await waitFor(() => lines.find((l) => /acquiring a subnet lease failed/.test(l.msg)), { what: 'a failed attempt' });
  t.regex(failure.err ?? '', /flannel config not found in etcd store/);
  await client.put(`${prefix}/config`).value(NET_CONF);
  t.is(formatIp4Net((await acquiring).subnet!), '10.244.1.0/24');
});
