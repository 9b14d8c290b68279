import { HostGwConfigError, parseHostGwConfig } from '../backends/host-gw/config.js';
import { parseVxlanConfig, VxlanConfigError } from '../backends/vxlan/config.js';
import type { NetConfig } from '../config/net-config.js';
import { checkNetworkConfig, describeBackendTypeProblem, NetConfigError } from '../config/parse-net-config.js';
import { FlannelWinError } from '../errors.js';

/**
 * Every check a net-conf.json must pass before this node can run with it, done once before
 * anything is programmed, so that a config that can never work is reported at start-up (kube
 * mode: exit 1; etcd mode: a wait, said once) instead of being retried forever deep inside a
 * backend. Throws a NetConfigError whose message starts with `source` and names the field and
 * its value; returns nothing, since the daemon keeps using the config as decoded.
 *
 * Beyond flanneld: the range checks (SubnetLen, SubnetMin, SubnetMax, Network 0.0.0.0/0) run in
 * kube mode too, where flanneld ignores those fields, because a shared ConfigMap that fails them
 * is broken for every etcd-mode node as well, and silently accepting it hides the mistake.
 */
export function preflightNetConfig(config: NetConfig, source: string): void {
  if (!config.enableIpv4) {
    const problem = config.enableIpv6 ? 'flannel on Windows is IPv4-only' : 'none defined stack: neither EnableIPv4 nor EnableIPv6 is true';
    throw new NetConfigError(`${source}: field "EnableIPv4" = false: ${problem}`, { source, field: 'EnableIPv4', value: false });
  }
  const backendProblem = describeBackendTypeProblem(config.backendType, { backendAbsent: config.backend === undefined });
  if (backendProblem !== undefined) {
    const field = config.backend === undefined ? 'Backend' : 'Backend.Type';
    throw new NetConfigError(`${source}: field "${field}": ${backendProblem}`, { source, field, value: config.backend === undefined ? undefined : config.backendType });
  }
  checkNetworkConfig(config, source);
  try {
    if (config.backendType === 'vxlan') parseVxlanConfig(config.backend);
    else parseHostGwConfig(config.backend);
  } catch (err) {
    if (!(err instanceof VxlanConfigError || err instanceof HostGwConfigError)) throw err;
    throw backendFieldError(err, source);
  }
}

/** Re-issues a backend decoder's error as a NetConfigError naming `Backend.<field>` and the value. */
function backendFieldError(err: FlannelWinError, source: string): NetConfigError {
  const field = `Backend.${String(err.context['field'])}`;
  const value = err.context['value'];
  return new NetConfigError(`${source}: field "${field}" = ${JSON.stringify(value)}: ${err.message}`, { source, field, value });
}
