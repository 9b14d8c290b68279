import { parseGoBool, parseGoInt, tokenizeGoFlags, type FlagArity, type GoFlagToken } from './go-flag-syntax.js';
import { UsageError } from './usage-error.js';
import type { LogFormat } from '../log.js';

/** How the daemon talks to the host network: real HCN/iphlpapi, the simulator, or chosen by OS. */
export type Dataplane = 'auto' | 'hcn' | 'sim';
export const DATAPLANES: readonly Dataplane[] = ['auto', 'hcn', 'sim'];
/** pino's level names. */
export const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

/** Everything on flannel-win's command line, after FLANNELD_* fallback and defaults. */
export interface DaemonFlags {
  // etcd subnet manager
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdKeyfile: string;
  etcdCertfile: string;
  etcdCafile: string;
  etcdUsername: string;
  etcdPassword: string;
  // kube subnet manager
  kubeSubnetMgr: boolean;
  kubeApiUrl: string;
  kubeconfigFile: string;
  kubeAnnotationPrefix: string;
  netConfigPath: string;
  /** Seconds kube mode waits for an unreadable net-conf.json before exiting 1. */
  netConfigGracePeriod: number;
  setNodeNetworkUnavailable: boolean;
  // interface selection
  iface: string[];
  ifaceRegex: string[];
  ifaceCanReach: string;
  publicIp: string;
  publicIpv6: string;
  // lease and subnet.env
  subnetFile: string;
  /** Minutes before expiry at which the etcd lease is renewed (1..1439). */
  subnetLeaseRenewMargin: number;
  ipMasq: boolean;
  // Linux traffic manager (accepted, no effect on Windows)
  ipMasqFullyRandomDisable: boolean;
  ipBlackholeRoute: boolean;
  iptablesResync: number;
  iptablesForwardRules: boolean;
  // health
  healthzIp: string;
  /** 0 disables the health server. */
  healthzPort: number;
  // klog flags flanneld copies into its flag set
  v: number;
  vmodule: string;
  logBacktraceAt: string;
  // process
  help: boolean;
  version: boolean;
  // flannel-win's own
  dataplane: Dataplane;
  simState: string;
  simHnsLatencyMs: number;
  // simulator fault injection (src/sim/fault-flags.ts parses the text)
  simFaultRate: string;
  simFaultOps: string;
  simFailNext: string;
  simFaultHresult: string;
  /** Seed of the simulator's random source (fault draws, generated ids); used when set. */
  simSeed: number;
  /** Acknowledges that a simulated dataplane publishes into a real etcd or Kubernetes API. */
  simWithRealStore: boolean;
  localSubnetMgr: boolean;
  localLeaseFile: string;
  /** Seconds between full resyncs of HNS/route state against the desired state. */
  resyncInterval: number;
  logLevel: string;
  logFormat: LogFormat;
  metrics: boolean;
  /**
   * `--network-policy` as given (default true); whether enforcement runs also depends on the
   * mode: see networkPolicyEnabled.
   */
  networkPolicy: boolean;
  // CNI side of the node (src/cni)
  /** Where the flannel CNI config is written once pods can be networked; empty: not written. */
  cniConfFile: string;
  /** The cluster's service CIDR (NAT exception and service route in the CNI config). */
  serviceCidr: string;
  /** host-local's store (one directory per network name), where the source VIP is reserved. */
  cniIpamDataDir: string;
  /** Where kube-proxy reads its source VIP (overlay); empty: no source VIP is reserved. */
  sourceVipFile: string;
  /** Flags that were given (command line or env) but do nothing on Windows; main logs them. */
  ignoredOnWindows: string[];
  /** Where each non-default value came from, by flag name. */
  setFrom: Record<string, 'flag' | 'env'>;
  /** Arguments after the flags: always empty, since a stray argument is a usage error. */
  positionals: string[];
}

type FlagKind = 'string' | 'bool' | 'int' | 'list';
type FlagField = Exclude<keyof DaemonFlags, 'ignoredOnWindows' | 'setFrom' | 'positionals'>;
type FlagValue = string | boolean | number | string[];

interface FlagDefinition {
  readonly name: string;
  readonly field: FlagField;
  readonly kind: FlagKind;
  readonly defaultValue: (platform: NodeJS.Platform) => FlagValue;
  readonly description: string;
  readonly origin: 'flanneld' | 'klog' | 'flannel-win';
  /** True when the flag is accepted for compatibility but changes nothing on Windows. */
  readonly ignoredOnWindows?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** flanneld reads FLANNELD_* only after handling --help/--version, so those two have none. */
  readonly noEnv?: boolean;
}

const always = (value: FlagValue) => (): FlagValue => value;
// flanneld's Go paths are rooted on the current drive on Windows, so "/run/flannel/subnet.env"
// lands on C:\run\flannel\subnet.env (the CNI plugin reads the same string).
const perOs = (linux: string, windows: string) => (platform: NodeJS.Platform): FlagValue => (platform === 'win32' ? windows : linux);

const DEFINITIONS: readonly FlagDefinition[] = [
  { name: 'etcd-endpoints', field: 'etcdEndpoints', kind: 'string', origin: 'flanneld', defaultValue: always('http://127.0.0.1:4001,http://127.0.0.1:2379'), description: 'a comma-delimited list of etcd endpoints' },
  { name: 'etcd-prefix', field: 'etcdPrefix', kind: 'string', origin: 'flanneld', defaultValue: always('/coreos.com/network'), description: 'etcd prefix' },
  { name: 'etcd-keyfile', field: 'etcdKeyfile', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'SSL key file used to secure etcd communication' },
  { name: 'etcd-certfile', field: 'etcdCertfile', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'SSL certification file used to secure etcd communication' },
  { name: 'etcd-cafile', field: 'etcdCafile', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'SSL Certificate Authority file used to secure etcd communication' },
  { name: 'etcd-username', field: 'etcdUsername', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'username for BasicAuth to etcd' },
  { name: 'etcd-password', field: 'etcdPassword', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'password for BasicAuth to etcd' },
  { name: 'kube-subnet-mgr', field: 'kubeSubnetMgr', kind: 'bool', origin: 'flanneld', defaultValue: always(false), description: 'contact the Kubernetes API for subnet assignment instead of etcd' },
  { name: 'kube-api-url', field: 'kubeApiUrl', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'Kubernetes API server URL; not needed when running in a pod' },
  { name: 'kubeconfig-file', field: 'kubeconfigFile', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'kubeconfig file location; not needed when running in a pod' },
  { name: 'kube-annotation-prefix', field: 'kubeAnnotationPrefix', kind: 'string', origin: 'flanneld', defaultValue: always('flannel.alpha.coreos.com'), description: 'Kubernetes annotation prefix; may contain one "/", otherwise "/" is appended' },
  { name: 'net-config-path', field: 'netConfigPath', kind: 'string', origin: 'flanneld', defaultValue: perOs('/etc/kube-flannel/net-conf.json', 'C:\\etc\\kube-flannel\\net-conf.json'), description: 'path to the network configuration file (kube mode)' },
  { name: 'net-config-grace-period', field: 'netConfigGracePeriod', kind: 'int', origin: 'flannel-win', defaultValue: always(10), min: 0, max: 3600, description: 'kube mode: seconds to wait for an unreadable --net-config-path (a ConfigMap volume not there yet) before exiting 1' },
  { name: 'set-node-network-unavailable', field: 'setNodeNetworkUnavailable', kind: 'bool', origin: 'flanneld', defaultValue: always(true), description: 'set the node condition NetworkUnavailable to False once the network is up (kube mode)' },
  { name: 'iface', field: 'iface', kind: 'list', origin: 'flanneld', defaultValue: always([]), description: 'interface to use (IP or name) for inter-host communication; repeatable, checked in order, first match wins' },
  { name: 'iface-regex', field: 'ifaceRegex', kind: 'list', origin: 'flanneld', defaultValue: always([]), description: 'regex matched against interface IPs, then names; repeatable; checked after --iface' },
  { name: 'iface-can-reach', field: 'ifaceCanReach', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'pick the interface whose routed subnet contains this address (approximation: flanneld on Linux asks the kernel)' },
  { name: 'public-ip', field: 'publicIp', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'IP accessible by other nodes for inter-host communication' },
  { name: 'public-ipv6', field: 'publicIpv6', kind: 'string', origin: 'flanneld', defaultValue: always(''), description: 'IPv6 accessible by other nodes (Windows flannel is IPv4-only)', ignoredOnWindows: true },
  { name: 'subnet-file', field: 'subnetFile', kind: 'string', origin: 'flanneld', defaultValue: perOs('/run/flannel/subnet.env', 'C:\\run\\flannel\\subnet.env'), description: 'filename where env variables (subnet, MTU, ...) will be written to' },
  { name: 'subnet-lease-renew-margin', field: 'subnetLeaseRenewMargin', kind: 'int', origin: 'flanneld', defaultValue: always(60), min: 1, max: 1439, description: 'subnet lease renewal margin, in minutes, ranging from 1 to 1439' },
  { name: 'ip-masq', field: 'ipMasq', kind: 'bool', origin: 'flanneld', defaultValue: always(false), description: 'masquerade pod traffic leaving the cluster: written as FLANNEL_IPMASQ, which the flannel CNI plugin passes to win-overlay as ipMasq' },
  { name: 'ip-masq-fully-random-disable', field: 'ipMasqFullyRandomDisable', kind: 'bool', origin: 'flanneld', defaultValue: always(false), description: 'disable --random-fully in the masquerade rule (Linux only)', ignoredOnWindows: true },
  { name: 'ip-blackhole-route', field: 'ipBlackholeRoute', kind: 'bool', origin: 'flanneld', defaultValue: always(false), description: 'add a blackhole route for the node subnet (Linux only)', ignoredOnWindows: true },
  { name: 'iptables-resync', field: 'iptablesResync', kind: 'int', origin: 'flanneld', defaultValue: always(5), min: 0, description: 'resync period for iptables rules, in seconds (Linux only)', ignoredOnWindows: true },
  { name: 'iptables-forward-rules', field: 'iptablesForwardRules', kind: 'bool', origin: 'flanneld', defaultValue: always(true), description: 'add default accept rules to the FORWARD chain (Linux only)', ignoredOnWindows: true },
  { name: 'healthz-ip', field: 'healthzIp', kind: 'string', origin: 'flanneld', defaultValue: always('0.0.0.0'), description: 'the IP address for the healthz server to listen on' },
  { name: 'healthz-port', field: 'healthzPort', kind: 'int', origin: 'flanneld', defaultValue: always(0), min: 0, max: 65535, description: 'the port for the healthz server to listen on (0 to disable)' },
  { name: 'version', field: 'version', kind: 'bool', origin: 'flanneld', defaultValue: always(false), description: 'print version and exit', noEnv: true },
  { name: 'help', field: 'help', kind: 'bool', origin: 'flanneld', defaultValue: always(false), description: 'print this message', noEnv: true },
  { name: 'v', field: 'v', kind: 'int', origin: 'klog', defaultValue: always(0), min: 0, max: 2147483647, description: 'klog verbosity (accepted for compatibility; use --log-level)', ignoredOnWindows: true },
  { name: 'vmodule', field: 'vmodule', kind: 'string', origin: 'klog', defaultValue: always(''), description: 'klog per-file verbosity (accepted for compatibility, no effect)', ignoredOnWindows: true },
  { name: 'log_backtrace_at', field: 'logBacktraceAt', kind: 'string', origin: 'klog', defaultValue: always(''), description: 'klog backtrace location (accepted for compatibility, no effect)', ignoredOnWindows: true },
  { name: 'dataplane', field: 'dataplane', kind: 'string', origin: 'flannel-win', defaultValue: always('auto'), choices: DATAPLANES, description: 'host networking driver: hcn (computenetwork.dll + iphlpapi.dll), sim (the simulator, state in --sim-state), or auto (hcn on Windows, sim elsewhere)' },
  { name: 'sim-state', field: 'simState', kind: 'string', origin: 'flannel-win', defaultValue: always('.sim/host.json'), description: "simulator: JSON file holding the simulated host's HNS networks, endpoints, routes and interfaces" },
  { name: 'sim-hns-latency-ms', field: 'simHnsLatencyMs', kind: 'int', origin: 'flannel-win', defaultValue: always(0), min: 0, description: 'simulator: delay added to every simulated HNS call, in milliseconds' },
  // Simulator fault injection: reproduce a fault scenario from the command line.
  { name: 'sim-fault-rate', field: 'simFaultRate', kind: 'string', origin: 'flannel-win', defaultValue: always('0'), description: 'simulator: share (0 to 1) of HNS and route calls that fail, drawn from the seeded random source' },
  { name: 'sim-fault-ops', field: 'simFaultOps', kind: 'string', origin: 'flannel-win', defaultValue: always(''), description: 'simulator: comma-separated operations --sim-fault-rate applies to (e.g. modifyNetwork,addRoute); empty = every call' },
  { name: 'sim-fail-next', field: 'simFailNext', kind: 'string', origin: 'flannel-win', defaultValue: always(''), description: 'simulator: fail the next N calls of each operation, e.g. createNetwork=2,listInterfaces=1' },
  { name: 'sim-fault-hresult', field: 'simFaultHresult', kind: 'string', origin: 'flannel-win', defaultValue: always('0x803b0020'), description: 'simulator: HRESULT of injected failures (default HCN_E_MANAGER_STOPPED, a transient HNS failure)' },
  { name: 'sim-seed', field: 'simSeed', kind: 'int', origin: 'flannel-win', defaultValue: always(0), min: 0, max: 4294967295, description: 'simulator: seed for fault draws and generated ids, so a run can be replayed (random when not given)' },
  { name: 'sim-with-real-store', field: 'simWithRealStore', kind: 'bool', origin: 'flannel-win', defaultValue: always(false), description: 'allow the simulated dataplane with etcd or the Kubernetes API: the lease then publishes a simulated VtepMAC into that store, which breaks real peers (tests and benchmarks only)' },
  { name: 'local-subnet-mgr', field: 'localSubnetMgr', kind: 'bool', origin: 'flannel-win', defaultValue: always(false), description: 'keep leases in a local file (--local-lease-file) instead of etcd or Kubernetes; for single-host trials and the demo' },
  { name: 'local-lease-file', field: 'localLeaseFile', kind: 'string', origin: 'flannel-win', defaultValue: always('.sim/leases.json'), description: 'local subnet manager: the JSON file holding the network config and leases' },
  { name: 'resync-interval', field: 'resyncInterval', kind: 'int', origin: 'flannel-win', defaultValue: always(60), min: 1, description: 'seconds between full resyncs that repair HNS and route drift' },
  { name: 'log-level', field: 'logLevel', kind: 'string', origin: 'flannel-win', defaultValue: always('info'), choices: LOG_LEVELS, description: 'log level of the JSON log on stderr' },
  { name: 'log-format', field: 'logFormat', kind: 'string', origin: 'flannel-win', defaultValue: always('json'), choices: LOG_FORMATS, description: 'log format on stderr: json (one object per line, level names, ISO times) or text (one readable line per event)' },
  { name: 'metrics', field: 'metrics', kind: 'bool', origin: 'flannel-win', defaultValue: always(true), description: 'serve Prometheus metrics at /metrics on the healthz server' },
  { name: 'network-policy', field: 'networkPolicy', kind: 'bool', origin: 'flannel-win', defaultValue: always(true), description: 'enforce Kubernetes NetworkPolicy with HNS ACLs on the endpoints of this node\'s pods (kube mode; in etcd mode only with --kubeconfig-file or --kube-api-url); false for clusters that run another policy engine' },
  // The CNI side of the node: the flannel CNI config and kube-proxy's source VIP (install).
  { name: 'cni-conf-file', field: 'cniConfFile', kind: 'string', origin: 'flannel-win', defaultValue: perOs('', 'C:\\etc\\cni\\net.d\\10-flannel.conflist'), description: 'write the flannel CNI config here once the network, subnet.env and the first apply exist (empty: do not write it)' },
  { name: 'service-cidr', field: 'serviceCidr', kind: 'string', origin: 'flannel-win', defaultValue: always('10.96.0.0/12'), description: "the cluster's service CIDR (kubeadm's serviceSubnet): excepted from OutBoundNAT and routed through the host in the CNI config" },
  { name: 'cni-ipam-data-dir', field: 'cniIpamDataDir', kind: 'string', origin: 'flannel-win', defaultValue: perOs('/var/lib/cni/networks', 'C:\\var\\lib\\cni\\networks'), description: "the host-local IPAM store the CNI plugin uses; kube-proxy's source VIP is reserved in it" },
  { name: 'source-vip-file', field: 'sourceVipFile', kind: 'string', origin: 'flannel-win', defaultValue: perOs('', 'C:\\sourcevip\\sourceVip.json'), description: "vxlan: reserve kube-proxy's source VIP and write it here for kube-proxy's --source-vip (empty: no reservation)" },
];

const BY_NAME = new Map<string, FlagDefinition>(DEFINITIONS.map((d) => [d.name, d]));

/** FLANNELD_ + the flag name upper-cased, '-' and '.' as '_' (coreos/pkg flagutil.SetFlagsFromEnv). */
export function envNameFor(flagName: string): string {
  return `FLANNELD_${flagName.toUpperCase().replace(/[-.]/g, '_')}`;
}

function lookupFlag(written: string): FlagArity | undefined {
  // Go's flag package answers -h itself with the usage; flanneld's --help does the same.
  const definition = BY_NAME.get(written === 'h' ? 'help' : written);
  return definition && { name: definition.name, isBool: definition.kind === 'bool' };
}

/**
 * Parses one textual value as Go's flag.Value.Set would, then checks our range/choice rules.
 * A value Go itself cannot parse on the command line is a syntax error (exit 2 with usage);
 * anything wrong in FLANNELD_*, or out of range, is a validation error (exit 1), as in flanneld.
 */
function convert(definition: FlagDefinition, text: string, source: 'flag' | 'env', where: string): FlagValue {
  const fail = (why: string, exitCode: 1 | 2): never => {
    const context = source === 'env' ? { flag: definition.name, env: envNameFor(definition.name), value: text } : { flag: definition.name, value: text };
    throw new UsageError(`invalid value "${text}" for ${where}: ${why}`, context, exitCode);
  };
  const syntaxExit = source === 'flag' ? 2 : 1;
  switch (definition.kind) {
    case 'bool': {
      const value = parseGoBool(text);
      return value ?? fail('parse error (use true or false)', syntaxExit);
    }
    case 'int': {
      const value = parseGoInt(text);
      if (value === undefined) return fail('parse error (expected an integer)', syntaxExit);
      if (definition.min !== undefined && value < definition.min) fail(`must be at least ${definition.min}`, 1);
      if (definition.max !== undefined && value > definition.max) fail(`must be at most ${definition.max}`, 1);
      return value;
    }
    case 'list':
      return [text];
    case 'string':
      if (definition.choices && !definition.choices.includes(text)) fail(`must be one of ${definition.choices.join(', ')}`, 1);
      return text;
  }
}

/**
 * flanneld takes no arguments, and Go's flag package stops at the first one, so every flag after
 * it would be silently ignored (`--ip-masq false --iface eth1` drops --iface). That is an error
 * here, with the fix when the stray word is a boolean's value.
 */
function strayArgumentError(positionals: readonly string[], previous: GoFlagToken | undefined): UsageError {
  const first = positionals[0] as string;
  const ignored = positionals.length > 1 ? `; it would end flag parsing and ignore ${JSON.stringify(positionals.slice(1).join(' '))}` : '';
  const boolValue = previous?.kind === 'bool' && parseGoBool(first) !== undefined;
  const hint = boolValue ? ` (a boolean flag takes its value after "=": write --${previous.written}=${first})` : ' (flannel-win takes no arguments, only flags)';
  return new UsageError(`unexpected argument ${JSON.stringify(first)}${hint}${ignored}`, { argument: first, positionals: [...positionals] });
}

/**
 * flanneld's command line: Go flag syntax, then FLANNELD_* for every flag not given on the
 * command line (empty values ignored; a repeatable flag takes the env value as one entry),
 * then defaults. Throws UsageError naming the flag (or env variable) that is wrong.
 */
export function parseFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform): DaemonFlags {
  const { tokens, positionals } = tokenizeGoFlags(argv, lookupFlag);
  if (positionals.length > 0) throw strayArgumentError(positionals, tokens.at(-1));
  const values = new Map<FlagField, FlagValue>();
  const setFrom: Record<string, 'flag' | 'env'> = {};

  for (const token of tokens) {
    const definition = BY_NAME.get(token.name) as FlagDefinition;
    const value = token.kind === 'bool' ? token.value : convert(definition, token.value, 'flag', `flag -${token.written}`);
    const previous = values.get(definition.field);
    // Go keeps the last occurrence of a plain flag; flanneld's flagSlice appends.
    values.set(definition.field, definition.kind === 'list' && Array.isArray(previous) ? [...previous, ...(value as string[])] : value);
    setFrom[definition.name] = 'flag';
  }

  for (const definition of DEFINITIONS) {
    if (definition.noEnv || setFrom[definition.name]) continue;
    const key = envNameFor(definition.name);
    const text = env[key];
    if (text === undefined || text === '') continue;
    values.set(definition.field, convert(definition, text, 'env', `${key} (--${definition.name})`));
    setFrom[definition.name] = 'env';
  }

  const result: Record<string, unknown> = {};
  for (const definition of DEFINITIONS) {
    result[definition.field] = values.get(definition.field) ?? definition.defaultValue(platform);
  }
  result['etcdEndpoints'] = String(result['etcdEndpoints'])
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint.length > 0);
  result['ignoredOnWindows'] = DEFINITIONS.filter((d) => d.ignoredOnWindows && setFrom[d.name]).map((d) => d.name);
  result['setFrom'] = setFrom;
  result['positionals'] = positionals;
  return result as unknown as DaemonFlags;
}

/**
 * Whether NetworkPolicy is enforced: `--network-policy=false` turns it off; otherwise it is on in
 * kube mode, and in the other modes only when a Kubernetes API is named (`--kubeconfig-file` or
 * `--kube-api-url`), since an etcd-mode node may have no API access at all.
 */
export function networkPolicyEnabled(flags: Pick<DaemonFlags, 'networkPolicy' | 'kubeSubnetMgr' | 'kubeconfigFile' | 'kubeApiUrl'>): boolean {
  if (!flags.networkPolicy) return false;
  return flags.kubeSubnetMgr || flags.kubeconfigFile !== '' || flags.kubeApiUrl !== '';
}

/** One row per flag, for the README table and --help. */
export interface FlagDescription {
  name: string;
  type: FlagKind;
  /** Default as text on Linux (and everywhere but Windows). */
  default: string;
  /** Default as text on Windows, when it differs. */
  windowsDefault?: string;
  env: string | undefined;
  origin: 'flanneld' | 'klog' | 'flannel-win';
  ignoredOnWindows: boolean;
  description: string;
}

function defaultText(value: FlagValue): string {
  return Array.isArray(value) ? '' : String(value);
}

export function describeFlags(): FlagDescription[] {
  return DEFINITIONS.map((d) => {
    const linux = defaultText(d.defaultValue('linux'));
    const windows = defaultText(d.defaultValue('win32'));
    return {
      name: d.name,
      type: d.kind,
      default: linux,
      ...(windows !== linux ? { windowsDefault: windows } : {}),
      env: d.noEnv ? undefined : envNameFor(d.name),
      origin: d.origin,
      ignoredOnWindows: d.ignoredOnWindows === true,
      description: d.description,
    };
  });
}

function usageLines(rows: FlagDescription[]): string[] {
  const lines: string[] = [];
  for (const row of [...rows].sort((a, b) => a.name.localeCompare(b.name))) {
    const type = row.type === 'bool' ? '' : row.type === 'list' ? ' value (repeatable)' : ` ${row.type}`;
    lines.push(`  --${row.name}${type}`);
    let text = row.description;
    if (row.default !== '' && !(row.type === 'bool' && row.default === 'false')) text += ` (default ${row.type === 'string' ? JSON.stringify(row.default) : row.default})`;
    if (row.windowsDefault !== undefined) text += ` (Windows default ${JSON.stringify(row.windowsDefault)})`;
    if (row.ignoredOnWindows) text += ' [no effect on Windows]';
    lines.push(`    \t${text}`);
  }
  return lines;
}

/** --help text in the shape of Go's flag.PrintDefaults, grouped by where the flag comes from. */
export function usageText(program = 'flannel-win'): string {
  const rows = describeFlags();
  return [
    `Usage: ${program} [OPTION]...`,
    'Flags use Go syntax: -flag, --flag, -flag=value, -flag value; booleans take -flag or -flag=false.',
    'Every flag except --help and --version can also be set as FLANNELD_<NAME> (upper case, "-" as "_"); the command line wins.',
    '',
    'flanneld flags:',
    ...usageLines(rows.filter((r) => r.origin === 'flanneld')),
    '',
    'klog flags (accepted for compatibility):',
    ...usageLines(rows.filter((r) => r.origin === 'klog')),
    '',
    'flannel-win flags:',
    ...usageLines(rows.filter((r) => r.origin === 'flannel-win')),
    '',
  ].join('\n');
}
