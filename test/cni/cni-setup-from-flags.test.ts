import test from 'ava';
import { cniSetupFromFlags } from '../../src/cni/cni-setup-from-flags.js';
import { parseFlags } from '../../src/config/flags.js';
import { UsageError } from '../../src/config/usage-error.js';
import { silentLogger } from '../../src/log.js';

test('on Windows the CNI side is on by default; elsewhere it is off unless a path is given', (t) => {
  const windows = parseFlags(['--healthz-port=1'], {}, 'win32');
  t.is(windows.cniConfFile, 'C:\\etc\\cni\\net.d\\10-flannel.conflist');
  t.is(windows.sourceVipFile, 'C:\\sourcevip\\sourceVip.json');
  t.is(windows.cniIpamDataDir, 'C:\\var\\lib\\cni\\networks');
  t.truthy(cniSetupFromFlags(windows, silentLogger()));
  t.is(cniSetupFromFlags(parseFlags([], {}, 'linux'), silentLogger()), undefined);
  const status = cniSetupFromFlags(parseFlags(['--cni-conf-file=/tmp/x.conflist'], { FLANNELD_SERVICE_CIDR: '172.20.0.0/16' }, 'linux'), silentLogger())!.status();
  t.deepEqual([status['cniConfFile'], status['serviceCidr'], status['cniConfWritten'], status['sourceVip']], ['/tmp/x.conflist', '172.20.0.0/16', false, undefined]);
});

test('a bad --service-cidr is a usage error naming the flag and the value', (t) => {
  const flags = parseFlags(['--cni-conf-file=/tmp/x.conflist', '--service-cidr=10.96.0.0/33'], {}, 'linux');
  const err = t.throws(() => cniSetupFromFlags(flags, silentLogger()), { instanceOf: UsageError });
  t.is(err?.context['flag'], 'service-cidr');
  t.is(err?.context['value'], '10.96.0.0/33');
  t.is(err?.exitCode, 1);
});
