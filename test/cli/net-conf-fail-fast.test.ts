import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { isReady, SimHostFile, simDaemonArgs } from '../support/e2e-host.js';
import { DaemonProcess, type LogLine } from '../support/daemon-process.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait.js';

/**
 * Each row is a net-conf.json that can never work on a Windows node. In kube mode flannel-win
 * must exit 1 (not retry forever while the pod shows Running) with one fatal line naming the
 * field and the value. The real CLI runs as a child process against an API server that does not
 * exist: the config is checked before anything talks to it.
 */
interface Row {
  readonly name: string;
  readonly netConf: string;
  readonly field: string;
  /** Must appear in the message: the value as written, or the words an operator searches for. */
  readonly says: RegExp;
}

const VXLAN = (extra: string) => `{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"${extra}}}`;
const NET = (extra: string) => `{"Network":"10.244.0.0/16"${extra},"Backend":{"Type":"vxlan"}}`;

const ROWS: readonly Row[] = [
  { name: 'VNI 1 (Linux default)', netConf: VXLAN(',"VNI":1'), field: 'Backend.VNI', says: /"Backend.VNI" = 1: .*VNI \[1\] must be greater than or equal to 4096 on Windows/ },
  { name: 'VNI as a string', netConf: VXLAN(',"VNI":"4096"'), field: 'Backend.VNI', says: /"Backend.VNI" = "4096": .*must be an integer, got "4096"/ },
  { name: 'VNI 1e20', netConf: VXLAN(',"VNI":1e20'), field: 'Backend.VNI', says: /"Backend.VNI" = 100000000000000000000: .*must be at most 65535/ },
  { name: 'VNI 70000', netConf: VXLAN(',"VNI":70000'), field: 'Backend.VNI', says: /"Backend.VNI" = 70000: .*must be at most 65535/ },
  { name: 'VNI with a fraction', netConf: VXLAN(',"VNI":4096.5'), field: 'Backend.VNI', says: /"Backend.VNI" = 4096.5/ },
  { name: 'Port 8472 (Linux default)', netConf: VXLAN(',"Port":8472'), field: 'Backend.Port', says: /"Backend.Port" = 8472: .*Port \[8472\] is not supported on Windows/ },
  { name: 'Port as a string', netConf: VXLAN(',"Port":"4789"'), field: 'Backend.Port', says: /"Backend.Port" = "4789"/ },
  { name: 'MacPrefix "zz"', netConf: VXLAN(',"MacPrefix":"zz"'), field: 'Backend.MacPrefix', says: /"Backend.MacPrefix" = "zz": .*MacPrefix \[zz\] is invalid/ },
  { name: 'DirectRouting true', netConf: VXLAN(',"DirectRouting":true'), field: 'Backend.DirectRouting', says: /"Backend.DirectRouting" = true: .*DirectRouting is not supported on Windows/ },
  { name: 'GBP true', netConf: VXLAN(',"GBP":true'), field: 'Backend.GBP', says: /"Backend.GBP" = true: .*GBP is not supported on Windows/ },
  { name: 'host-gw Name not a string', netConf: '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw","Name":7}}', field: 'Backend.Name', says: /"Backend.Name" = 7: .*must be a string/ },
  { name: 'Backend missing', netConf: '{"Network":"10.244.0.0/16"}', field: 'Backend', says: /field "Backend": Backend is missing; flannel's default udp cannot run on Windows/ },
  { name: 'Backend without Type', netConf: '{"Network":"10.244.0.0/16","Backend":{"VNI":4096}}', field: 'Backend.Type', says: /field "Backend.Type": unknown backend type: ""/ },
  { name: 'backend udp', netConf: '{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}', field: 'Backend.Type', says: /unknown backend type: udp \(Windows supports vxlan, host-gw\)/ },
  { name: 'backend wireguard', netConf: '{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard"}}', field: 'Backend.Type', says: /unknown backend type: wireguard/ },
  { name: 'Backend as a string', netConf: '{"Network":"10.244.0.0/16","Backend":"vxlan"}', field: 'Backend', says: /field "Backend": expected a JSON object, got string "vxlan"/ },
  { name: 'SubnetLen 31', netConf: NET(',"SubnetLen":31'), field: 'SubnetLen', says: /"SubnetLen" = 31: SubnetLen must be less than \/31/ },
  { name: 'SubnetLen 1e300', netConf: NET(',"SubnetLen":1e300'), field: 'SubnetLen', says: /"SubnetLen": expected a non-negative integer, got number 1e\+300/ },
  { name: 'SubnetLen 17 in a /16', netConf: NET(',"SubnetLen":17'), field: 'SubnetLen', says: /"SubnetLen" = 17: network must be able to accommodate at least four subnets/ },
  { name: 'SubnetMin outside Network', netConf: NET(',"SubnetMin":"10.245.0.0"'), field: 'SubnetMin', says: /"SubnetMin" = "10.245.0.0": SubnetMin is not in the range of the Network 10.244.0.0\/16/ },
  { name: 'SubnetMax outside Network', netConf: NET(',"SubnetMax":"10.10.0.0"'), field: 'SubnetMax', says: /"SubnetMax" = "10.10.0.0": SubnetMax is not in the range/ },
  { name: 'SubnetMax below SubnetMin', netConf: NET(',"SubnetMin":"10.244.9.0","SubnetMax":"10.244.3.0"'), field: 'SubnetMax', says: /"SubnetMax" = "10.244.3.0": SubnetMax is below SubnetMin 10.244.9.0/ },
  { name: 'SubnetMin off the SubnetLen boundary', netConf: NET(',"SubnetMin":"10.244.1.7"'), field: 'SubnetMin', says: /"SubnetMin" = "10.244.1.7": SubnetMin is not on a SubnetLen boundary/ },
  { name: 'Network 0.0.0.0/0', netConf: '{"Network":"0.0.0.0/0","Backend":{"Type":"vxlan"}}', field: 'Network', says: /"Network" = "0.0.0.0\/0": .*cannot cover every IPv4 address/ },
  { name: 'Network missing', netConf: '{"Backend":{"Type":"vxlan"}}', field: 'Network', says: /field "Network" is missing: please define a correct Network parameter/ },
  { name: 'Network not a CIDR', netConf: '{"Network":"10.244.0.0","Backend":{"Type":"vxlan"}}', field: 'Network', says: /field "Network": invalid IPv4 CIDR "10.244.0.0"/ },
  { name: 'Network /29 too small', netConf: '{"Network":"10.244.0.0/29","Backend":{"Type":"vxlan"}}', field: 'Network', says: /"Network" = "10.244.0.0\/29": network is too small/ },
  { name: 'EnableIPv4 false', netConf: '{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fc00::/48","Backend":{"Type":"vxlan"}}', field: 'EnableIPv4', says: /"EnableIPv4" = false: flannel on Windows is IPv4-only/ },
];

// Each child loads the Kubernetes client; a few at a time keeps a 2-core machine responsive.
const children = new PQueue({ concurrency: 3 });

async function runKubeMode(netConfPath: string, dir: string, extra: readonly string[] = []): Promise<{ code: number | null; run: DaemonProcess }> {
  return children.add(async () => {
    const run = DaemonProcess.start(
      [
        '--kube-subnet-mgr',
        '--kube-api-url=https://127.0.0.1:1',
        `--net-config-path=${netConfPath}`,
        '--dataplane=sim',
        '--sim-with-real-store',
        `--sim-state=${join(dir, 'host.json')}`,
        `--subnet-file=${join(dir, 'subnet.env')}`,
        ...extra,
      ],
      { NODE_NAME: 'win-1' },
    );
    const { code } = await run.exited;
    return { code, run };
  }) as Promise<{ code: number | null; run: DaemonProcess }>;
}

function fatalOf(run: DaemonProcess): LogLine | undefined {
  return run.logs.find((l) => l.level === 60);
}

test('the table covers at least 20 permanent net-conf errors', (t) => {
  t.true(ROWS.length >= 20);
  t.is(new Set(ROWS.map((r) => r.name)).size, ROWS.length);
});

for (const row of ROWS) {
  test(`kube mode, ${row.name}: exit 1 naming the field and the value`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'flannel-win-netconf-'));
    const path = join(dir, 'net-conf.json');
    await writeFile(path, row.netConf);
    const { code, run } = await runKubeMode(path, dir);
    t.is(code, 1, run.rawStderr.slice(-5).join('\n'));
    const fatal = fatalOf(run);
    t.truthy(fatal, 'one fatal line explains the exit');
    t.is(fatal!['code'], 'NETCONF_INVALID');
    t.is(fatal!['field'], row.field);
    t.true(fatal!.msg.includes(path), 'the message names the file');
    t.true(fatal!.msg.includes(`"${row.field}"`), 'the message names the field');
    t.regex(fatal!.msg, row.says);
  });
}

test('kube mode, net-conf.json missing: waits --net-config-grace-period, then exits 1 naming the path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-netconf-'));
  const path = join(dir, 'no-such-net-conf.json');
  const { code, run } = await runKubeMode(path, dir, ['--net-config-grace-period=1']);
  t.is(code, 1);
  const waiting = run.logs.filter((l) => l.msg.startsWith('cannot read net-conf.json yet'));
  t.is(waiting.length, 1, 'the wait is said once');
  const fatal = fatalOf(run);
  t.is(fatal?.['code'], 'NETCONF_INVALID');
  t.regex(fatal?.msg ?? '', /no-such-net-conf\.json: cannot read the network configuration after waiting 1 s \(--net-config-grace-period\).*ENOENT/);
});

test('kube mode, net-conf.json appearing within the grace period is used', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-netconf-'));
  const path = join(dir, 'late-net-conf.json');
  const run = DaemonProcess.start(
    ['--kube-subnet-mgr', '--kube-api-url=https://127.0.0.1:1', `--net-config-path=${path}`, '--net-config-grace-period=60', '--dataplane=sim', '--sim-with-real-store', `--sim-state=${join(dir, 'host.json')}`, `--subnet-file=${join(dir, 'subnet.env')}`],
    { NODE_NAME: 'win-1' },
  );
  t.teardown(() => run.stop());
  await run.waitForLog((l) => l.msg.startsWith('cannot read net-conf.json yet'), 'the daemon waiting for the file', 60_000);
  await writeFile(path, VXLAN(',"VNI":4096'));
  // The config is read and accepted; the daemon then goes on to the (absent) API server.
  const read = await run.waitForLog((l) => l.msg === 'network configuration read', 'the late file to be read', 60_000);
  t.is(read['backend'], 'vxlan');
  t.is(fatalOf(run), undefined);
});

// ---- etcd mode: flanneld re-reads <prefix>/config every second, so a bad one is waited for ----

let etcd: EtcdServer | undefined;
test.after.always(async () => {
  await etcd?.stop();
});

test('etcd mode, VNI 1: keeps re-reading the config, warns once, and starts when it is fixed', async (t) => {
  etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  t.teardown(() => client.close());
  const prefix = '/netconf-wait/network';
  await client.put(`${prefix}/config`).value(VXLAN(',"VNI":1'));
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-netconf-etcd-'));
  const port = await freePort();
  const run = DaemonProcess.start([`--etcd-endpoints=${etcd.endpoint}`, `--etcd-prefix=${prefix}`, ...simDaemonArgs(new SimHostFile(join(dir, 'host.json')), dir, port), '--log-level=debug']);
  t.teardown(() => run.stop());

  const still = (l: LogLine) => l.msg === 'the network configuration still cannot work on this node';
  await waitFor(() => run.logs.filter(still).length >= 3, { timeoutMs: 60_000, what: 'three re-reads of the bad config' });
  const warnings = run.logs.filter((l) => l.level >= 40 && /cannot work on this node/.test(l.msg));
  t.is(warnings.length, 1, 'said once at warn level');
  t.regex(warnings[0]!.msg, /etcd key \/netconf-wait\/network\/config: field "Backend.VNI" = 1: .*re-reading it every 1 s until it is fixed/);
  t.true(run.logs.filter(still).every((l) => l.level === 20), 'then only at debug level');
  t.is(run.child.exitCode, null, 'still running: etcd mode does not exit on a config that may change');

  await client.put(`${prefix}/config`).value(VXLAN(',"VNI":4096'));
  await waitFor(() => isReady(port), { timeoutMs: 60_000, what: 'readiness once the config is fixed' });
  t.truthy(run.logs.find((l) => l.msg === 'the network configuration is usable now'));
});
