import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSimulatedDataplaneStore, SimWithRealStoreError } from '../../src/cli/sim-store-guard.js';
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../../src/cli/node-version.js';
import { parseFlags } from '../../src/config/flags.js';
import { DaemonProcess } from '../support/daemon-process.js';

test('a stray argument (--ip-masq false) exits 2 with the fix and the usage', async (t) => {
  const run = DaemonProcess.start(['--ip-masq', 'false', '--iface', 'Ethernet']);
  const { code } = await run.exited;
  t.is(code, 2);
  const text = run.rawStderr.join('\n');
  t.regex(text, /unexpected argument "false" \(a boolean flag takes its value after "=": write --ip-masq=false\); it would end flag parsing and ignore "--iface Ethernet"/);
  t.regex(text, /Usage: flannel-win/);
});

test('the Node.js version check: 22 and newer pass, older ones get a clear message', (t) => {
  t.is(MIN_NODE_MAJOR, 22);
  t.is(nodeVersionProblem('22.0.0'), undefined);
  t.is(nodeVersionProblem('24.21.0'), undefined);
  t.is(nodeVersionProblem('v25.1.0'), undefined);
  t.is(nodeVersionProblem('20.20.2'), 'flannel-win needs Node.js 22 or newer, this is 20.x (20.20.2)');
  t.is(nodeVersionProblem('18.19.1'), 'flannel-win needs Node.js 22 or newer, this is 18.x (18.19.1)');
  t.is(nodeVersionProblem('garbage'), 'flannel-win needs Node.js 22 or newer, this is "garbage"');
  // The running test process is on the pinned Node, so the real entry passes the check.
  t.is(nodeVersionProblem(process.versions.node), undefined);
});

const linux = (argv: string[]) => parseFlags(argv, {}, 'linux');

test('the simulated dataplane with etcd or the Kubernetes API needs --sim-with-real-store', (t) => {
  // Default etcd endpoints are loopback, and still a real store as far as we can know.
  const etcd = t.throws(() => checkSimulatedDataplaneStore(linux(['--dataplane=sim']), 'linux'), { instanceOf: SimWithRealStoreError });
  t.regex(etcd?.message ?? '', /would publish a simulated VtepMAC into etcd at http:\/\/127\.0\.0\.1:4001,http:\/\/127\.0\.0\.1:2379.*--sim-with-real-store/);
  // auto is the simulator off Windows.
  t.throws(() => checkSimulatedDataplaneStore(linux(['--kube-subnet-mgr']), 'linux'), { instanceOf: SimWithRealStoreError, message: /--dataplane auto on linux.*Kubernetes API \(in-cluster config\)/ });
  t.regex(checkSimulatedDataplaneStore(linux(['--dataplane=sim', '--sim-with-real-store']), 'linux') ?? '', /acknowledged with --sim-with-real-store/);
  // Nothing at stake: the local lease file, or the real dataplane.
  t.is(checkSimulatedDataplaneStore(linux(['--dataplane=sim', '--local-subnet-mgr']), 'linux'), undefined);
  t.is(checkSimulatedDataplaneStore(linux(['--kube-subnet-mgr']), 'win32'), undefined);
});

test('the CLI refuses the simulated dataplane with etcd unless acknowledged: exit 1 naming the flag', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'flannel-win-guard-'));
  const run = DaemonProcess.start(['--etcd-endpoints=http://10.0.0.1:2379', '--dataplane=sim', `--sim-state=${join(dir, 'host.json')}`]);
  const { code } = await run.exited;
  t.is(code, 1);
  const fatal = run.logs.find((l) => l.level === 60);
  t.is(fatal?.['code'], 'SIM_WITH_REAL_STORE');
  t.regex(fatal?.msg ?? '', /etcd at http:\/\/10\.0\.0\.1:2379.*--sim-with-real-store/);
});
