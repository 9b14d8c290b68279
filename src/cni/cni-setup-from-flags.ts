import type { DaemonFlags } from '../config/flags.js';
import { UsageError } from '../config/usage-error.js';
import { writeSubnetEnvAtomic } from '../lease/subnet-env.js';
import type { Logger } from '../log.js';
import { tryParseIp4Net } from '../net/ip.js';
import { CniNodeSetup } from './node-cni-setup.js';

/**
 * The CNI side of the node from the command line, or undefined when it has nothing to do
 * (no --cni-conf-file and no --source-vip-file, the default off Windows). A bad --service-cidr
 * is a usage error (exit 1) naming the flag and the value.
 */
export function cniSetupFromFlags(flags: Pick<DaemonFlags, 'cniConfFile' | 'serviceCidr' | 'cniIpamDataDir' | 'sourceVipFile' | 'ipMasq'>, log: Logger): CniNodeSetup | undefined {
  if (flags.cniConfFile === '' && flags.sourceVipFile === '') return undefined;
  const serviceCidr = tryParseIp4Net(flags.serviceCidr);
  if (!serviceCidr) {
    throw new UsageError(`invalid value "${flags.serviceCidr.slice(0, 64)}" for flag -service-cidr: not an IPv4 CIDR such as 10.96.0.0/12`, { flag: 'service-cidr', value: flags.serviceCidr.slice(0, 64) }, 1);
  }
  return new CniNodeSetup({
    confFile: flags.cniConfFile,
    serviceCidr,
    ipMasq: flags.ipMasq,
    sourceVip: flags.sourceVipFile !== '' ? { ipamDataDir: flags.cniIpamDataDir, file: flags.sourceVipFile } : undefined,
    // The one atomic replace the daemon uses for subnet.env: temp file, fsync, rename.
    writeAtomic: writeSubnetEnvAtomic,
    log: log.child({ component: 'cni' }),
  });
}
