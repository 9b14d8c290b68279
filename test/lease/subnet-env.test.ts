import test from 'ava';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSubnetEnv, parseSubnetEnv, readSubnetEnv, writeSubnetEnvAtomic } from '../../src/lease/subnet-env.js';
import { formatIp4Net, formatIp6Net, parseIp4Net, parseIp6Net } from '../../src/net/ip.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'subnet-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('IPv4 text is exactly flannel\'s', (t) => {
  const text = formatSubnetEnv({ network: parseIp4Net('10.244.0.0/16'), subnet: parseIp4Net('10.244.3.0/24'), mtu: 1450, ipMasq: false });
  t.is(text, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
});

test('dual stack puts the IPv6 lines after FLANNEL_SUBNET and before FLANNEL_MTU', (t) => {
  const text = formatSubnetEnv({
    network: parseIp4Net('10.42.0.0/16'),
    subnet: parseIp4Net('10.42.0.0/24'),
    ipv6Network: parseIp6Net('2001:cafe:42::/56'),
    ipv6Subnet: parseIp6Net('2001:cafe:42::/64'),
    mtu: 1450,
    ipMasq: true,
  });
  t.is(
    text,
    'FLANNEL_NETWORK=10.42.0.0/16\nFLANNEL_SUBNET=10.42.0.1/24\nFLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  );
});

test('IPv6 only leaves out the IPv4 lines', (t) => {
  const text = formatSubnetEnv({ network: undefined, subnet: undefined, ipv6Network: parseIp6Net('fd00::/48'), ipv6Subnet: parseIp6Net('fd00:0:0:5::/64'), mtu: 1500, ipMasq: false });
  t.is(text, 'FLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_IPV6_SUBNET=fd00:0:0:5::1/64\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n');
});

test('write creates the directory and the exact file, leaving no temp file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'run', 'flannel', 'subnet.env');
  const text = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';
  await writeSubnetEnvAtomic(path, text);
  t.is(await readFile(path, 'utf8'), text);
  await writeSubnetEnvAtomic(path, 'FLANNEL_MTU=1\n');
  t.is(await readFile(path, 'utf8'), 'FLANNEL_MTU=1\n');
  t.deepEqual(await readdir(join(dir, 'run', 'flannel')), ['subnet.env']);
  if (process.platform !== 'win32') t.is((await stat(path)).mode & 0o777 & ~process.umask(), 0o644 & ~process.umask());
});

test('a failed write leaves the old file and no temp file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'subnet.env');
  await writeFile(path, 'OLD=1\n');
  // Renaming a file over a non-empty directory fails: stands in for any late failure.
  const blocked = join(dir, 'blocked');
  await writeSubnetEnvAtomic(join(blocked, 'x'), 'X=1\n');
  await t.throwsAsync(() => writeSubnetEnvAtomic(blocked, 'NEW=1\n'));
  t.is(await readFile(path, 'utf8'), 'OLD=1\n');
  t.deepEqual((await readdir(dir)).sort(), ['blocked', 'subnet.env']);
});

test('read round-trips what format wrote, giving the subnets back as networks', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'subnet.env');
  await writeSubnetEnvAtomic(
    path,
    formatSubnetEnv({ network: parseIp4Net('10.244.0.0/16'), subnet: parseIp4Net('10.244.7.0/24'), ipv6Network: parseIp6Net('fd00::/48'), ipv6Subnet: parseIp6Net('fd00:0:0:7::/64'), mtu: 1450, ipMasq: false }),
  );
  const previous = await readSubnetEnv(path);
  t.is(formatIp4Net(previous.previousSubnet!), '10.244.7.0/24');
  t.is(formatIp6Net(previous.previousIpv6Subnet!), 'fd00:0:0:7::/64');
  t.is(previous.raw.get('FLANNEL_MTU'), '1450');
  t.is(previous.raw.get('FLANNEL_IPMASQ'), 'false');
  t.deepEqual(previous.warnings, []);
});

test('a missing file is an empty result', async (t) => {
  const dir = await tempDir(t);
  const previous = await readSubnetEnv(join(dir, 'nope', 'subnet.env'));
  t.is(previous.previousSubnet, undefined);
  t.is(previous.previousIpv6Subnet, undefined);
  t.is(previous.raw.size, 0);
});

test('other read errors are thrown', async (t) => {
  const dir = await tempDir(t);
  await t.throwsAsync(() => readSubnetEnv(dir));
});

test('malformed lines and values are skipped with warnings; comments, quotes, export and CRLF are accepted', (t) => {
  const previous = parseSubnetEnv('# written by flanneld\r\nexport FLANNEL_NETWORK="10.244.0.0/16"\r\nthis is junk\r\nFLANNEL_SUBNET=10.244.9.1/24 # ours\r\nFLANNEL_IPV6_SUBNET=nonsense\r\n');
  t.is(previous.raw.get('FLANNEL_NETWORK'), '10.244.0.0/16');
  t.is(formatIp4Net(previous.previousSubnet!), '10.244.9.0/24');
  t.is(previous.previousIpv6Subnet, undefined);
  t.is(previous.warnings.length, 2);
  t.regex(previous.warnings[0]!, /line 3/);
  t.regex(previous.warnings[1]!, /FLANNEL_IPV6_SUBNET=nonsense/);
});

test('a comma list with more than one subnet is ignored, as flannel does', (t) => {
  const previous = parseSubnetEnv('FLANNEL_SUBNET=10.244.1.1/24,10.244.2.1/24\n');
  t.is(previous.previousSubnet, undefined);
  t.regex(previous.warnings[0]!, /lists 2 subnets/);
});
