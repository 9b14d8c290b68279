import test from 'ava';
import { mkdir, mkdtemp, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSourceVipFile, lookUpSourceVip, reserveSourceVip } from '../../src/cni/source-vip.js';
import { parseIp4Net } from '../../src/net/ip.js';

const subnet = parseIp4Net('10.244.3.0/24');

async function store(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'flannel-win-ipam-'));
}

test('a fresh store: .2 is reserved as host-local records an address, and host-local can no longer claim it', async (t) => {
  const dir = await store();
  const vip = await reserveSourceVip(dir, 'flannel.4096', subnet);
  t.is(vip.ip, '10.244.3.2');
  t.false(vip.reused);
  t.is(vip.file, join(dir, 'flannel.4096', '10.244.3.2'));
  t.is(await readFile(vip.file, 'utf8'), 'kube-proxy\r\nsource-vip');
  // host-local claims an address with an exclusive create of the same file name.
  const err = await t.throwsAsync(open(vip.file, 'wx'));
  t.is((err as NodeJS.ErrnoException).code, 'EEXIST');
});

test('addresses pods hold are skipped; the reservation is reused on the next call', async (t) => {
  const dir = await store();
  await mkdir(join(dir, 'flannel.4096'));
  await writeFile(join(dir, 'flannel.4096', '10.244.3.2'), 'abc123\r\neth0');
  await writeFile(join(dir, 'flannel.4096', '10.244.3.3'), 'def456\r\neth0');
  await writeFile(join(dir, 'flannel.4096', 'last_reserved_ip.0'), '10.244.3.3');
  const first = await reserveSourceVip(dir, 'flannel.4096', subnet);
  t.is(first.ip, '10.244.3.4');
  const again = await reserveSourceVip(dir, 'flannel.4096', subnet);
  t.deepEqual({ ip: again.ip, reused: again.reused }, { ip: '10.244.3.4', reused: true });
  t.is(await readFile(join(dir, 'flannel.4096', 'last_reserved_ip.0'), 'utf8'), '10.244.3.3', 'host-local bookkeeping is left alone');
});

test('a reservation from an old subnet is removed and a new one made in the current subnet', async (t) => {
  const dir = await store();
  await mkdir(join(dir, 'flannel.4096'));
  await writeFile(join(dir, 'flannel.4096', '10.244.9.2'), 'kube-proxy\r\nsource-vip');
  const vip = await reserveSourceVip(dir, 'flannel.4096', subnet);
  t.is(vip.ip, '10.244.3.2');
  t.deepEqual(vip.removedStale, ['10.244.9.2']);
  t.deepEqual((await readdir(join(dir, 'flannel.4096'))).sort(), ['10.244.3.2']);
});

test('the look-up changes nothing and names what the reservation then does', async (t) => {
  const dir = await store();
  t.deepEqual(await lookUpSourceVip(dir, 'flannel.4096', subnet), { subnet, dir: join(dir, 'flannel.4096'), keep: undefined, stale: [], next: { ip: '10.244.3.2', file: join(dir, 'flannel.4096', '10.244.3.2') } });
  t.deepEqual(await readdir(dir), [], 'no network directory was created');

  await mkdir(join(dir, 'flannel.4096'));
  await writeFile(join(dir, 'flannel.4096', '10.244.9.2'), 'kube-proxy\r\nsource-vip');
  await writeFile(join(dir, 'flannel.4096', '10.244.3.2'), 'pod\r\neth0');
  const before = await lookUpSourceVip(dir, 'flannel.4096', subnet);
  t.deepEqual(before.stale, [{ ip: '10.244.9.2', file: join(dir, 'flannel.4096', '10.244.9.2') }]);
  t.deepEqual(before.next?.ip, '10.244.3.3');
  t.deepEqual((await readdir(join(dir, 'flannel.4096'))).sort(), ['10.244.3.2', '10.244.9.2']);
  const vip = await reserveSourceVip(dir, 'flannel.4096', subnet);
  t.deepEqual([vip.ip, vip.removedStale], [before.next!.ip, ['10.244.9.2']]);
  const after = await lookUpSourceVip(dir, 'flannel.4096', subnet);
  t.deepEqual([after.keep?.ip, after.stale, after.next], ['10.244.3.3', [], undefined]);
});

test('a full subnet is an error naming the subnet and the store', async (t) => {
  const dir = await store();
  const small = parseIp4Net('10.244.3.0/30');
  await mkdir(join(dir, 'cbr0'));
  await writeFile(join(dir, 'cbr0', '10.244.3.2'), 'pod\r\neth0');
  const err = await t.throwsAsync(reserveSourceVip(dir, 'cbr0', small));
  t.regex(err!.message, /no free address in 10\.244\.3\.0\/30 .*cbr0/);
});

test('the file kube-proxy reads has ips[0].address with the prefix, as a host-local ADD result', (t) => {
  const doc = JSON.parse(formatSourceVipFile({ ip: '10.244.3.2', subnet: '10.244.3.0/24' })) as { ips: { address: string; gateway: string }[] };
  t.is(doc.ips[0]!.address, '10.244.3.2/24');
  t.is(doc.ips[0]!.gateway, '10.244.3.1');
});
