import test from 'ava';
import { Etcd3 } from 'etcd3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';
import { SimHostFile, simDaemonArgs, startReady } from '../support/e2e-host.js';
import { startEtcd, type EtcdServer } from '../support/etcd-server.js';
import { freePort } from '../support/free-port.js';
import { namingProblems, parsePrometheusText } from '../support/prometheus-text.js';
import { waitFor } from '../support/wait.js';

const PREFIX = '/coreos.com/network';
const PEERS = [
  { key: '10.244.1.0-24', value: '{"PublicIP":"192.168.1.21","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:01"}}' },
  { key: '10.244.2.0-24', value: '{"PublicIP":"192.168.1.22","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"52:a1:00:00:00:02"}}' },
  // A vxlan lease whose VtepMAC is not a MAC: the backend cannot use it.
  { key: '10.244.3.0-24', value: '{"PublicIP":"192.168.1.23","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"not-a-mac"}}' },
];

let etcd: EtcdServer;
let daemon: DaemonProcess;
let port: number;

test.before(async () => {
  etcd = await startEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    await client.put(`${PREFIX}/config`).value('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096}}');
    const lease = client.lease(86_400, { autoKeepAlive: false });
    for (const peer of PEERS) await lease.put(`${PREFIX}/subnets/${peer.key}`).value(peer.value);
  } finally {
    client.close();
  }
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-status-'));
  port = await freePort();
  daemon = await startReady([`--etcd-endpoints=${etcd.endpoint}`, ...simDaemonArgs(new SimHostFile(join(dir, 'host.json')), dir, port), '--resync-interval=1'], port);
});

test.after.always(async () => {
  await daemon?.stop();
  await etcd?.stop();
});

async function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = DaemonProcess.start(args);
  const { code } = await run.exited;
  return { code, stdout: run.stdout, stderr: run.rawStderr.join('\n') };
}

test('the naming check catches what breaks the conventions', (t) => {
  const bad = parsePrometheusText(
    [
      '# HELP a_active_handles_total gauge with a counter name', '# TYPE a_active_handles_total gauge', 'a_active_handles_total 3',
      '# HELP a_requests counter without _total', '# TYPE a_requests counter', 'a_requests 1',
      '# HELP a_latency_ms time not in seconds', '# TYPE a_latency_ms histogram', 'a_latency_ms_bucket{le="+Inf"} 1', 'a_latency_ms_sum 1', 'a_latency_ms_count 1',
      '# HELP a_heap_size memory without unit', '# TYPE a_heap_size gauge', 'a_heap_size 10',
      '# HELP a_ok_seconds fine', '# TYPE a_ok_seconds gauge', 'a_ok_seconds{phase="x"} 1',
    ].join('\n'),
  );
  t.deepEqual(namingProblems(bad.get('a_active_handles_total')!), ['a gauge must not end in _total']);
  t.deepEqual(namingProblems(bad.get('a_requests')!), ['a counter must end in _total']);
  t.true(namingProblems(bad.get('a_latency_ms')!).includes('time must be in _seconds'));
  t.deepEqual(namingProblems(bad.get('a_heap_size')!), ['a size must end in _bytes']);
  t.deepEqual(namingProblems(bad.get('a_ok_seconds')!), []);
});

test('every metric on /metrics follows the Prometheus naming conventions', async (t) => {
  // A resync ran (1 s interval), so the resync and HNS families have samples.
  await waitFor(async () => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes('flannel_win_resyncs_total{'), { timeoutMs: 20_000, what: 'a resync' });
  const families = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  t.true(families.size > 30, `a full scrape (${families.size} families)`);
  const problems = [...families.values()].flatMap((f) => namingProblems(f).map((p) => `${f.name}: ${p}`));
  t.deepEqual(problems, []);

  const sample = (name: string, labels: Record<string, string> = {}) =>
    [...families.values()].flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  const build = sample('flannel_win_build_info');
  t.is(build?.value, 1);
  t.regex(build?.labels['version'] ?? '', /^\d+\.\d+\.\d+/);
  t.regex(build?.labels['commit'] ?? '', /^[0-9a-f]{7,}/);
  t.is(build?.labels['node'], process.versions.node);
  // The etcd lease expires about 24 h from now.
  const expirySample = sample('flannel_win_lease_expiry_timestamp_seconds');
  t.regex(expirySample?.labels['subnet'] ?? '', /^10\.244\.\d+\.0\/24$/);
  const expiry = expirySample?.value ?? 0;
  t.true(expiry > Date.now() / 1000 + 3600 && expiry < Date.now() / 1000 + 2 * 86_400, `lease expiry ${expiry}`);
  t.true((sample('flannel_win_hns_calls_total', { operation: 'getNetworkByName', result: 'ok' })?.value ?? 0) >= 1);
  t.true((sample('flannel_win_hns_calls_total', { operation: 'modifyNetwork', result: 'ok' })?.value ?? 0) >= 1, 'the routes were written through the instrumented client');
  t.true((sample('flannel_win_hns_call_duration_seconds_count', { operation: 'modifyNetwork' })?.value ?? 0) >= 1);
  t.true((sample('flannel_win_resyncs_total', { controller: 'peers', result: 'ok' })?.value ?? 0) >= 1);
  t.is(families.get('nodejs_active_handles_total'), undefined, 'the gauge named like a counter is gone');
  t.truthy(families.get('nodejs_active_handles'), 'its correctly named twin stays');
});

test('status lists every peer with its state, the lease, store and readiness; -o json is /status', async (t) => {
  const text = await runCli(['status', `--healthz-port=${port}`]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^Version: +\d+\.\d+\.\d+ \(commit [0-9a-f]{7,}/m);
  t.regex(text.stdout, /^Ready: +yes$/m);
  t.regex(text.stdout, /^Lease: +10\.244\.\d+\.0\/24 \(192\.168\.1\.10\) via etcd, expires \S+ \(in 23h \d+m\)$/m);
  t.regex(text.stdout, /^Network: +network=flannel\.4096 /m);
  t.regex(text.stdout, /^Store: +etcd watch watching, last event \S+ \(.* ago\), restarts 0$/m);
  t.regex(text.stdout, /^ +10\.244\.1\.0\/24 +programmed +192\.168\.1\.21$/m);
  t.regex(text.stdout, /^ +10\.244\.2\.0\/24 +programmed +192\.168\.1\.22$/m);
  t.regex(text.stdout, /^ +10\.244\.3\.0\/24 +unusable +192\.168\.1\.23: .*not-a-mac/m);

  const json = await runCli(['status', '--server', `http://127.0.0.1:${port}`, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { ready: boolean; peerList: { peers: Array<{ subnet: string; state: string }>; truncated: boolean } };
  const direct = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as typeof doc;
  t.deepEqual(Object.keys(doc).sort(), Object.keys(direct).sort());
  t.true(doc.ready);
  t.deepEqual(
    doc.peerList.peers.map((p) => [p.subnet, p.state]),
    [
      ['10.244.1.0/24', 'programmed'],
      ['10.244.2.0/24', 'programmed'],
      ['10.244.3.0/24', 'unusable'],
    ],
  );
  t.false(doc.peerList.truncated);
});

test('status without a daemon to ask: exit 1 naming the URL; a usage error exits 2', async (t) => {
  const free = await freePort();
  const none = await runCli(['status', `--healthz-port=${free}`]);
  t.is(none.code, 1);
  t.regex(none.stderr, new RegExp(`no answer from http://127\\.0\\.0\\.1:${free}/status`));
  const usage = await runCli(['status', '-o', 'yaml']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /-o must be text or json/);
  const which = await runCli(['status']);
  t.is(which.code, 1);
  t.regex(which.stderr, /give --healthz-port/);
});
