import test from 'ava';
import { describeFlags, envNameFor, networkPolicyEnabled, parseFlags, usageText } from '../../src/config/flags.js';
import { UsageError } from '../../src/config/usage-error.js';

const linux = (argv: string[], env: Record<string, string | undefined> = {}) => parseFlags(argv, env, 'linux');

test('defaults on Linux follow flanneld', (t) => {
  const f = linux([]);
  t.deepEqual(f.etcdEndpoints, ['http://127.0.0.1:4001', 'http://127.0.0.1:2379']);
  t.is(f.etcdPrefix, '/coreos.com/network');
  t.is(f.subnetFile, '/run/flannel/subnet.env');
  t.is(f.netConfigPath, '/etc/kube-flannel/net-conf.json');
  t.is(f.kubeAnnotationPrefix, 'flannel.alpha.coreos.com');
  t.is(f.subnetLeaseRenewMargin, 60);
  t.is(f.healthzIp, '0.0.0.0');
  t.is(f.healthzPort, 0);
  t.is(f.iptablesResync, 5);
  t.true(f.iptablesForwardRules);
  t.true(f.setNodeNetworkUnavailable);
  t.false(f.kubeSubnetMgr);
  t.false(f.ipMasq);
  t.deepEqual(f.iface, []);
  t.deepEqual(f.ifaceRegex, []);
  t.false(f.help);
  t.false(f.version);
  t.deepEqual(f.ignoredOnWindows, []);
  t.deepEqual(f.setFrom, {});
});

test('defaults of our own flags', (t) => {
  const f = linux([]);
  t.is(f.dataplane, 'auto');
  t.is(f.simState, '.sim/host.json');
  t.is(f.simHnsLatencyMs, 0);
  t.false(f.localSubnetMgr);
  t.is(f.localLeaseFile, '.sim/leases.json');
  t.is(f.resyncInterval, 60);
  t.is(f.logLevel, 'info');
  t.true(f.metrics);
});

test('Windows defaults put flannel paths on C:\\', (t) => {
  const f = parseFlags([], {}, 'win32');
  t.is(f.subnetFile, 'C:\\run\\flannel\\subnet.env');
  t.is(f.netConfigPath, 'C:\\etc\\kube-flannel\\net-conf.json');
  t.is(f.etcdPrefix, '/coreos.com/network');
});

test('single and double dash, = and separate values are the same', (t) => {
  for (const argv of [
    ['-etcd-prefix=/a', '-healthz-port', '8471'],
    ['--etcd-prefix', '/a', '--healthz-port=8471'],
    ['-etcd-prefix', '/a', '--healthz-port', '8471'],
  ]) {
    const f = linux(argv);
    t.is(f.etcdPrefix, '/a', argv.join(' '));
    t.is(f.healthzPort, 8471, argv.join(' '));
    t.deepEqual(f.setFrom, { 'etcd-prefix': 'flag', 'healthz-port': 'flag' });
  }
});

test('boolean forms: bare, =true, =false, Go spellings; a bool never takes the next argument', (t) => {
  t.true(linux(['--kube-subnet-mgr']).kubeSubnetMgr);
  t.true(linux(['-kube-subnet-mgr=true']).kubeSubnetMgr);
  t.true(linux(['-kube-subnet-mgr=T']).kubeSubnetMgr);
  t.false(linux(['--iptables-forward-rules=false']).iptablesForwardRules);
  t.false(linux(['--metrics=0']).metrics);
  // Go stops at the first non-flag argument, so "false" would end parsing: a usage error here.
  const stray = t.throws(() => linux(['--ip-masq', 'false', '--healthz-port=1']), { instanceOf: UsageError });
  t.is(stray?.exitCode, 2);
  t.regex(stray?.message ?? '', /unexpected argument "false" \(a boolean flag takes its value after "=": write --ip-masq=false\); it would end flag parsing and ignore "--healthz-port=1"/);
  t.deepEqual(linux(['--ip-masq', '--healthz-port=1']).positionals, []);
  t.throws(() => linux(['run']), { instanceOf: UsageError, message: /unexpected argument "run" \(flannel-win takes no arguments, only flags\)/ });
  const err = t.throws(() => linux(['--ip-masq=yes']), { instanceOf: UsageError });
  t.is(err?.context['flag'], 'ip-masq');
  t.is(err?.exitCode, 2);
});

test('repeatable --iface and --iface-regex keep order and are not split on commas', (t) => {
  const f = linux(['--iface', 'Ethernet', '-iface=10.0.0.5', '--iface=a,b', '--iface-regex', '^10\\.', '--iface-regex=vEthernet.*']);
  t.deepEqual(f.iface, ['Ethernet', '10.0.0.5', 'a,b']);
  t.deepEqual(f.ifaceRegex, ['^10\\.', 'vEthernet.*']);
});

test('a plain flag given twice keeps the last value', (t) => {
  t.is(linux(['--etcd-prefix=/a', '--etcd-prefix=/b']).etcdPrefix, '/b');
});

test('FLANNELD_* fills flags not on the command line; the command line wins', (t) => {
  const env = { FLANNELD_SUBNET_FILE: '/x/subnet.env', FLANNELD_ETCD_PREFIX: '/from-env', FLANNELD_KUBE_SUBNET_MGR: 'true', FLANNELD_IFACE: 'a,b', FLANNELD_V: '3' };
  const f = linux(['--etcd-prefix=/from-flag'], env);
  t.is(f.subnetFile, '/x/subnet.env');
  t.is(f.etcdPrefix, '/from-flag');
  t.true(f.kubeSubnetMgr);
  t.deepEqual(f.iface, ['a,b']);
  t.is(f.v, 3);
  t.is(f.setFrom['subnet-file'], 'env');
  t.is(f.setFrom['etcd-prefix'], 'flag');
});

test('FLANNELD_* covers our flags too; empty values are ignored; help/version have no env', (t) => {
  const f = linux([], { FLANNELD_DATAPLANE: 'sim', FLANNELD_RESYNC_INTERVAL: '5', FLANNELD_ETCD_PREFIX: '', FLANNELD_VERSION: 'true', FLANNELD_HELP: 'true' });
  t.is(f.dataplane, 'sim');
  t.is(f.resyncInterval, 5);
  t.is(f.etcdPrefix, '/coreos.com/network');
  t.false(f.version);
  t.false(f.help);
});

test('env names: upper case, dashes and dots as underscores', (t) => {
  t.is(envNameFor('etcd-endpoints'), 'FLANNELD_ETCD_ENDPOINTS');
  t.is(envNameFor('log_backtrace_at'), 'FLANNELD_LOG_BACKTRACE_AT');
  t.is(envNameFor('a.b-c'), 'FLANNELD_A_B_C');
});

test('etcd endpoints are split on commas', (t) => {
  t.deepEqual(linux(['--etcd-endpoints=https://a:2379, https://b:2379']).etcdEndpoints, ['https://a:2379', 'https://b:2379']);
});

test('unknown flag is a UsageError with exit code 2 naming the flag', (t) => {
  const err = t.throws(() => linux(['--etcd-prefix=/a', '--no-such-flag=1']), { instanceOf: UsageError });
  t.is(err?.code, 'USAGE');
  t.is(err?.exitCode, 2);
  t.true(err?.showUsage);
  t.is(err?.context['flag'], 'no-such-flag');
  t.regex(err?.message ?? '', /no-such-flag/);
});

test('missing value and bad syntax are UsageErrors', (t) => {
  t.throws(() => linux(['--etcd-prefix']), { instanceOf: UsageError, message: /needs an argument/ });
  t.throws(() => linux(['---etcd-prefix=x']), { instanceOf: UsageError, message: /bad flag syntax/ });
});

test('bad numbers name the flag; syntax errors exit 2, range errors exit 1', (t) => {
  const syntax = t.throws(() => linux(['--healthz-port=http']), { instanceOf: UsageError });
  t.is(syntax?.context['flag'], 'healthz-port');
  t.is(syntax?.exitCode, 2);
  t.regex(syntax?.message ?? '', /healthz-port/);
  const range = t.throws(() => linux(['--subnet-lease-renew-margin=1440']), { instanceOf: UsageError });
  t.is(range?.context['flag'], 'subnet-lease-renew-margin');
  t.is(range?.exitCode, 1);
  t.throws(() => linux(['--subnet-lease-renew-margin=0']), { instanceOf: UsageError, message: /subnet-lease-renew-margin/ });
  t.throws(() => linux(['--healthz-port=70000']), { instanceOf: UsageError, message: /healthz-port/ });
  t.throws(() => linux(['--sim-hns-latency-ms=-1']), { instanceOf: UsageError, message: /sim-hns-latency-ms/ });
  t.throws(() => linux(['--resync-interval=1.5']), { instanceOf: UsageError, message: /resync-interval/ });
});

test('bad env values name the variable and exit 1', (t) => {
  const err = t.throws(() => linux([], { FLANNELD_HEALTHZ_PORT: 'abc' }), { instanceOf: UsageError });
  t.is(err?.context['env'], 'FLANNELD_HEALTHZ_PORT');
  t.is(err?.exitCode, 1);
  t.false(err?.showUsage);
  t.throws(() => linux([], { FLANNELD_KUBE_SUBNET_MGR: 'yes' }), { instanceOf: UsageError, message: /FLANNELD_KUBE_SUBNET_MGR/ });
});

test('integers use Go base prefixes', (t) => {
  t.is(linux(['--healthz-port=0x1f90']).healthzPort, 8080);
  t.is(linux(['--healthz-port=010']).healthzPort, 8);
  t.is(linux(['--healthz-port=+80']).healthzPort, 80);
});

test('choices are checked for --dataplane and --log-level', (t) => {
  t.is(linux(['--dataplane=hcn']).dataplane, 'hcn');
  t.is(linux(['--log-level', 'debug']).logLevel, 'debug');
  t.throws(() => linux(['--dataplane=hns']), { instanceOf: UsageError, message: /auto, hcn, sim/ });
  t.throws(() => linux(['--log-level=loud']), { instanceOf: UsageError, message: /log-level/ });
});

test('--help, -h and --version', (t) => {
  t.true(linux(['--help']).help);
  t.true(linux(['-h']).help);
  t.true(linux(['-version']).version);
});

test('Linux-only and klog flags are accepted and listed when given', (t) => {
  const f = linux(['--ip-masq', '--iptables-resync=10', '--iptables-forward-rules=false', '-v=2', '--healthz-port=1'], { FLANNELD_IP_BLACKHOLE_ROUTE: 'true' });
  t.true(f.ipMasq);
  t.is(f.iptablesResync, 10);
  // --ip-masq reaches the CNI plugin through FLANNEL_IPMASQ: it is not a Linux-only flag.
  t.deepEqual([...f.ignoredOnWindows].sort(), ['iptables-forward-rules', 'iptables-resync', 'ip-blackhole-route', 'v'].sort());
});

test('usage lists every flag with its default and marks Windows no-ops', (t) => {
  const text = usageText();
  for (const row of describeFlags()) t.true(text.includes(`--${row.name}`), row.name);
  t.regex(text, /--subnet-file string\n\s+filename where env variables .*\(default "\/run\/flannel\/subnet.env"\) \(Windows default "C:\\\\run\\\\flannel\\\\subnet.env"\)/);
  t.regex(text, /--ip-blackhole-route\n.*\[no effect on Windows\]/);
  t.notRegex(text, /--ip-masq\n.*\[no effect on Windows\]/);
  t.regex(text, /--dataplane string\n.*\(default "auto"\)/);
});

test('describeFlags rows carry env names and per-OS defaults', (t) => {
  const rows = new Map(describeFlags().map((r) => [r.name, r]));
  t.is(rows.size, describeFlags().length);
  t.is(rows.get('subnet-file')?.env, 'FLANNELD_SUBNET_FILE');
  t.is(rows.get('subnet-file')?.windowsDefault, 'C:\\run\\flannel\\subnet.env');
  t.is(rows.get('help')?.env, undefined);
  t.is(rows.get('iface')?.type, 'list');
  t.is(rows.get('metrics')?.default, 'true');
  t.is(rows.get('resync-interval')?.origin, 'flannel-win');
  t.false(rows.get('ip-masq')?.ignoredOnWindows);
  t.is(rows.get('cni-conf-file')?.windowsDefault, 'C:\\etc\\cni\\net.d\\10-flannel.conflist');
  t.is(rows.get('cni-conf-file')?.default, '');
  t.is(rows.get('service-cidr')?.default, '10.96.0.0/12');
});

test('--network-policy: on in kube mode, on in etcd mode only with a Kubernetes API named, off when false', (t) => {
  t.true(networkPolicyEnabled(linux(['--kube-subnet-mgr'])));
  t.false(networkPolicyEnabled(linux(['--kube-subnet-mgr', '--network-policy=false'])));
  t.false(networkPolicyEnabled(linux([])), 'etcd mode without an API: off');
  t.false(networkPolicyEnabled(linux(['--local-subnet-mgr'])));
  t.true(networkPolicyEnabled(linux(['--kubeconfig-file=/etc/kube/config'])));
  t.true(networkPolicyEnabled(linux(['--kube-api-url=https://10.0.0.1:6443'])));
  t.false(networkPolicyEnabled(linux(['--kube-api-url=https://10.0.0.1:6443', '-network-policy=false'])));
  t.false(networkPolicyEnabled(linux(['--kube-subnet-mgr'], { FLANNELD_NETWORK_POLICY: 'false' })), 'the env variable works too');
});
