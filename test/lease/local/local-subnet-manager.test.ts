import test from 'ava';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaseEntries, parseLeaseFile, parseSubnetKey, updateLeaseFile } from '../../../src/lease/local/lease-file.js';
import { LocalSubnetManager } from '../../../src/lease/local/local-subnet-manager.js';
import type { LeaseAttrs, LeaseWatchResult } from '../../../src/lease/types.js';
import { silentLogger } from '../../../src/log.js';
import { formatIp4Net } from '../../../src/net/ip.js';
import { waitFor } from '../../support/wait.js';

const attrs = (ip: string): LeaseAttrs => ({
  publicIp: ip,
  publicIpv6: null,
  backendType: 'vxlan',
  backendData: '{"VNI":4096,"VtepMAC":"00:15:5d:00:00:01"}',
  backendV6Data: undefined,
});

async function tempFile(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'flannel-win-local-')), 'leases.json');
}

test('subnet keys follow flannel\'s etcd naming and reject anything else', (t) => {
  t.is(formatIp4Net(parseSubnetKey('10.244.1.0-24')!), '10.244.1.0/24');
  t.is(parseSubnetKey('10.244.1.5-24'), undefined, 'not a network address');
  t.is(parseSubnetKey('10.244.1.0/24'), undefined);
});

test('a bad entry is reported and the others still parse', (t) => {
  const doc = parseLeaseFile(
    JSON.stringify({ subnets: { '10.244.1.0-24': { PublicIP: '192.168.1.21' }, '10.244.2.0-24': { PublicIP: 7 }, nonsense: {} } }),
    'leases.json',
  );
  const { entries, problems } = leaseEntries(doc);
  t.deepEqual(entries.map((e) => e.key), ['10.244.1.0-24']);
  t.deepEqual(problems.map((p) => p.key).sort(), ['10.244.2.0-24', 'nonsense']);
  t.throws(() => parseLeaseFile('{"subnets": [', 'leases.json'), { message: /leases\.json: malformed JSON/ });
});

test('the embedded default config is written and two nodes get different subnets; a restart keeps its subnet', async (t) => {
  const path = await tempFile();
  const signal = new AbortController().signal;
  const a = new LocalSubnetManager({ path, log: silentLogger() });
  const config = await a.getNetworkConfig(signal);
  t.is(formatIp4Net(config.network!), '10.244.0.0/16');
  t.is(config.backendType, 'vxlan');
  const leaseA = await a.acquireLease({ attrs: attrs('192.168.1.10') }, signal);
  const leaseB = await new LocalSubnetManager({ path, log: silentLogger() }).acquireLease({ attrs: attrs('192.168.1.11') }, signal);
  t.not(formatIp4Net(leaseA.subnet!), formatIp4Net(leaseB.subnet!));
  const again = await new LocalSubnetManager({ path, log: silentLogger() }).acquireLease({ attrs: attrs('192.168.1.10') }, signal);
  t.is(formatIp4Net(again.subnet!), formatIp4Net(leaseA.subnet!), 'same PublicIP, same subnet');
  const stored = JSON.parse(await readFile(path, 'utf8')) as { subnets: Record<string, unknown> };
  t.deepEqual(stored.subnets[formatIp4Net(leaseA.subnet!).replace('/', '-')], {
    PublicIP: '192.168.1.10',
    PublicIPv6: null,
    BackendType: 'vxlan',
    BackendData: { VNI: 4096, VtepMAC: '00:15:5d:00:00:01' },
  });
});

test('the watch starts with a snapshot, then reports added, changed and removed leases and skips garbage', async (t) => {
  const path = await tempFile();
  await writeFile(path, JSON.stringify({ subnets: { '10.244.1.0-24': { PublicIP: '192.168.1.21', BackendType: 'vxlan' } } }));
  const manager = new LocalSubnetManager({ path, log: silentLogger(), pollMs: 10 });
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const results: LeaseWatchResult[] = [];
  void (async () => {
    for await (const r of manager.watchLeases(controller.signal)) results.push(r);
  })();
  await waitFor(() => results.length === 1);
  t.is(results[0]!.kind, 'snapshot');
  await updateLeaseFile(path, (doc) => {
    doc.subnets['10.244.2.0-24'] = { PublicIP: '192.168.1.22', BackendType: 'vxlan' };
    doc.subnets['10.244.3.0-24'] = 'garbage';
  });
  await waitFor(() => results.length === 2);
  const second = results[1]!;
  t.is(second.kind, 'events');
  if (second.kind === 'events') t.deepEqual(second.events.map((e) => [e.type, formatIp4Net(e.lease.subnet!)]), [['added', '10.244.2.0/24']]);
  await updateLeaseFile(path, (doc) => {
    delete doc.subnets['10.244.1.0-24'];
    doc.subnets['10.244.2.0-24'] = { PublicIP: '192.168.1.99', BackendType: 'vxlan' };
  });
  await waitFor(() => results.length === 3);
  const third = results[2]!;
  if (third.kind === 'events') {
    t.deepEqual(third.events.map((e) => [e.type, formatIp4Net(e.lease.subnet!), e.lease.attrs.publicIp]), [
      ['removed', '10.244.1.0/24', '192.168.1.21'],
      ['added', '10.244.2.0/24', '192.168.1.99'],
    ]);
  } else t.fail('expected events');
});

test('keepLease re-writes a lease someone removed and reports it', async (t) => {
  const path = await tempFile();
  const manager = new LocalSubnetManager({ path, log: silentLogger(), pollMs: 10 });
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const request = { attrs: attrs('192.168.1.10') };
  const lease = await manager.acquireLease(request, controller.signal);
  const lost: string[] = [];
  const kept = manager.keepLease(lease, request, controller.signal, { onLost: (why) => lost.push(why) });
  await updateLeaseFile(path, (doc) => {
    doc.subnets = {};
  });
  await waitFor(async () => Object.keys(JSON.parse(await readFile(path, 'utf8')).subnets).length === 1, { what: 'the lease to be re-written' });
  t.is(lost.length, 1);
  t.regex(lost[0]!, /removed/);
  controller.abort();
  await kept;
});

test('junk keys covering the Network do not block a new node, and are warned about', async (t) => {
  const path = await tempFile();
  const junk = { PublicIP: '192.168.1.90', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 4096, VtepMAC: '52:a1:00:00:00:90' } };
  await writeFile(
    path,
    JSON.stringify({
      config: { Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789 } },
      subnets: { '0.0.0.0-0': junk, '10.244.0.0-16': junk, '10.244.1.0-24': { ...junk, PublicIP: '192.168.1.21' } },
    }),
  );
  const warnings: { key?: string; msg: string }[] = [];
  const log = silentLogger();
  log.warn = ((obj: { key?: string }, msg: string) => void warnings.push({ ...obj, msg })) as typeof log.warn;
  const lease = await new LocalSubnetManager({ path, log }).acquireLease({ attrs: attrs('192.168.1.10') }, new AbortController().signal);
  t.is(formatIp4Net(lease.subnet!), '10.244.2.0/24', 'the first free subnet besides the valid 10.244.1.0/24');
  t.deepEqual(warnings.map((w) => w.key), ['0.0.0.0-0', '10.244.0.0-16']);
  t.regex(warnings[0]!.msg, /covers the whole Network/);
});
