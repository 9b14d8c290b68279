import { readFileSync } from 'node:fs';
import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';

const FLANNELD_FLAGS = [
  'etcd-endpoints', 'etcd-prefix', 'etcd-keyfile', 'etcd-certfile', 'etcd-cafile', 'etcd-username', 'etcd-password',
  'kube-subnet-mgr', 'kube-api-url', 'kubeconfig-file', 'kube-annotation-prefix', 'iface', 'iface-regex', 'iface-can-reach',
  'public-ip', 'public-ipv6', 'subnet-file', 'net-config-path', 'subnet-lease-renew-margin', 'ip-masq', 'ip-blackhole-route',
  'iptables-resync', 'iptables-forward-rules', 'set-node-network-unavailable', 'healthz-ip', 'healthz-port', 'version',
];

test('--help lists every flanneld flag and exits 0', async (t) => {
  const run = DaemonProcess.start(['--help']);
  const { code } = await run.exited;
  t.is(code, 0);
  for (const flag of FLANNELD_FLAGS) t.true(run.stdout.includes(`  --${flag}`), `--help mentions --${flag}`);
});

test('an unknown flag is a usage error: exit 2 with the usage', async (t) => {
  const run = DaemonProcess.start(['-no-such-flag']);
  const { code } = await run.exited;
  t.is(code, 2);
  t.regex(run.rawStderr.join('\n'), /unknown flag -+no-such-flag[\s\S]*Usage: flannel-win/);
});

test('a malformed net-conf.json exits 1 with a message naming the file, the field and the value', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-cli-'));
  const bad = join(dir, 'net-conf.json');
  await writeFile(bad, '{"Network":"10.244.0.0/16","SubnetLen":"x","Backend":{"Type":"vxlan"}}');
  const run = DaemonProcess.start(
    ['--kube-subnet-mgr', '--kube-api-url=https://127.0.0.1:1', `--net-config-path=${bad}`, '--dataplane=sim', '--sim-with-real-store', `--sim-state=${join(dir, 'host.json')}`, `--subnet-file=${join(dir, 'subnet.env')}`],
    { NODE_NAME: 'win-1' },
  );
  const { code } = await run.exited;
  t.is(code, 1);
  const fatal = run.logs.find((l) => l.level === 60);
  t.truthy(fatal, 'a fatal log line explains the failure');
  t.is(fatal!['code'], 'NETCONF_INVALID');
  t.regex(fatal!.msg, /net-conf\.json: field "SubnetLen": .*"x"/);
});

test('--version prints the package version first (as flanneld, to stderr), then commit, build date, Node and koffi', async (t) => {
  const run = DaemonProcess.start(['--version']);
  const { code } = await run.exited;
  t.is(code, 0);
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const lines = run.rawStderr.filter((l) => l !== '');
  t.is(lines[0], pkg.version);
  // The build script wrote the commit from git (this test runs in a checkout).
  t.regex(lines[1] ?? '', /^commit: [0-9a-f]{7,40}(-dirty)?$/);
  t.regex(lines[2] ?? '', /^build date: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(lines[3], `node: v${process.versions.node}`);
  t.is(lines[4], `koffi: 3.3.4 (${process.platform}-${process.arch})`);
});
