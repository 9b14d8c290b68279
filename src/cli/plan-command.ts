/**
 * `flannel-win plan`: a dry run with the daemon's flags. Reads the lease store, the host and
 * (with --network-policy) the cluster, computes what the daemon would write (its own lease, the
 * backend's network, subnet.env, every peer object through the reconciler's own planning code,
 * the local pod endpoints' ACLs through the policy controller's, and the CNI config through the
 * CNI setup's), prints each write and makes none: no lease is acquired (the own lease is read from subnet.env and the store), no network
 * is created (a missing one is a planned create), and the host is reached only through a view
 * that refuses writes. Exit codes: 0 the host matches, 2 there are changes, 1 an error.
 * @module
 */
import { access } from 'node:fs/promises';
import type { BackendContext, PlannedWrite } from '../backends/backend.js';
import { createBackend } from '../backends/create-backend.js';
import { cniSetupFromFlags } from '../cni/cni-setup-from-flags.js';
import { networkPolicyEnabled, parseFlags, type DaemonFlags } from '../config/flags.js';
import { subnetEnvText } from '../daemon/subnet-env-text.js';
import { UsageError } from '../config/usage-error.js';
import { selectExternalInterface } from '../daemon/interface-selection.js';
import { describeError, FlannelWinError } from '../errors.js';
import { leaseIdentity } from '../lease/lease-identity.js';
import { LeaseWatcher } from '../lease/lease-watcher.js';
import { readSubnetEnv } from '../lease/subnet-env.js';
import type { Lease, LeaseWatchResult, SubnetManager } from '../lease/types.js';
import { createLogger, type Logger } from '../log.js';
import { formatIp4Net, type Ip4Net } from '../net/ip.js';
import { fieldDiff, planWrites, type PlannedChange } from '../reconcile/plan-writes.js';
import { cniConfigWrite, planSubnetEnv, sourceVipWrites } from './plan-node-files.js';
import type { PolicyPlanSummary } from './plan-policy.js';
import { openReadOnlyHost } from './read-only-dataplane.js';
import type { SimCommandIo } from './sim-command.js';
import { openSubnetManager } from './subnet-manager-choice.js';

export const PLAN_USAGE = `Usage: flannel-win plan [-o text|json] [daemon flags...]

A dry run with the daemon's own flags (and FLANNELD_* variables): reads the lease store and the
host, and prints every write the daemon would make (kind, key, create/replace/delete, the fields
that differ) without making any: the own lease, the network, subnet.env, each peer's object,
with --network-policy each local pod endpoint whose ACLs would change (the cluster is read
with one list per kind, no watch), and the CNI config. No lease is acquired and no network is
created.
Exit codes: 0 the host already matches, 2 there are changes, 1 an error.
`;

/** A store that never answers must not hang the dry run. */
const PLAN_TIMEOUT_MS = 30_000;

export interface PlanResult {
  node: { subnet: string | undefined; publicIp: string; backend: string };
  /** In the order the daemon makes them: lease, network, subnet.env, peers, endpoint ACLs, CNI config. */
  writes: PlannedWrite[];
  /** Peers the backend cannot use: nothing is written for them (the daemon warns). */
  unusablePeers: Array<{ subnet: string; reason: string }>;
  peers: number;
  /** With --network-policy in effect and the network present: what the policy controller would find. */
  policy?: PolicyPlanSummary | undefined;
  /** What the plan could not look at, and why (e.g. no endpoints on a network still to be created). */
  notes: string[];
}

/** Pulls `-o`/`--output` out of the daemon's flags (which do not know it). */
function splitOutput(argv: readonly string[]): { output: string; rest: string[] } {
  const rest: string[] = [];
  let output = 'text';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^(?:-o|--?output)(?:=(.*))?$/.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    output = m[1] ?? argv[++i] ?? '';
  }
  return { output, rest };
}

/** Runs `plan`; `argv` is what follows the word. Returns the exit code. */
export async function runPlanCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, io: SimCommandIo): Promise<number> {
  const { output, rest } = splitOutput(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(PLAN_USAGE);
    return 0;
  }
  let flags: DaemonFlags;
  try {
    if (output !== 'text' && output !== 'json') throw new UsageError(`-o must be text or json, not "${output.slice(0, 32)}"`, {});
    flags = parseFlags(rest, { ...env }, platform);
  } catch (err) {
    io.stderr(`flannel-win plan: ${describeError(err)}\n${PLAN_USAGE}`);
    return 1;
  }
  // The dry run's own log stays quiet unless asked for: its answer is on stdout.
  const log = createLogger({ level: flags.setFrom['log-level'] ? flags.logLevel : 'warn', format: flags.logFormat });
  try {
    const result = await computePlan(flags, env, platform, log, AbortSignal.timeout(PLAN_TIMEOUT_MS));
    io.stdout(output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderPlan(result));
    return result.writes.length > 0 ? 2 : 0;
  } catch (err) {
    const context = err instanceof FlannelWinError ? ` ${JSON.stringify({ code: err.code, ...err.context })}` : '';
    io.stderr(`flannel-win plan: ${describeError(err)}${context}\n`);
    return 1;
  } finally {
    log.flush?.();
  }
}


/** The store's first complete listing of leases (then the watch is closed). */
async function leaseSnapshot(subnetManager: SubnetManager, signal: AbortSignal): Promise<readonly Lease[]> {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  try {
    for await (const result of subnetManager.watchLeases(both) as AsyncIterable<LeaseWatchResult>) {
      if (result.kind === 'snapshot') return result.leases;
    }
  } finally {
    stop.abort();
  }
  throw new FlannelWinError('PLAN_NO_SNAPSHOT', 'the lease store ended its stream before listing the leases', {});
}

/** Everything the daemon would write, read from the store and the host. */
export async function computePlan(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, log: Logger, signal: AbortSignal): Promise<PlanResult> {
  const host = await openReadOnlyHost({ dataplane: flags.dataplane, simState: flags.simState, platform, log });
  try {
    const subnetManager = await openSubnetManager(flags, env, log);
    try {
      const netConfig = await subnetManager.getNetworkConfig(signal);
      const override = await subnetManager.publicIpOverride?.(signal);
      const publicIp = override ?? (flags.publicIp || undefined);
      const external = selectExternalInterface(await host.routes.listInterfaces(), {
        routes: await host.routes.listRoutes('ipv4'),
        iface: flags.iface,
        ifaceRegex: flags.ifaceRegex,
        ...(flags.ifaceCanReach ? { ifaceCanReach: flags.ifaceCanReach } : {}),
        ...(publicIp ? { publicIp } : {}),
      });
      const subnetEnv = await readSubnetEnv(flags.subnetFile);
      const leases = await leaseSnapshot(subnetManager, signal);
      const previous = subnetEnv.previousSubnet;
      const own = previous ? leases.find((l) => l.subnet && formatIp4Net(l.subnet) === formatIp4Net(previous)) : undefined;

      const writes: PlannedWrite[] = [];
      const ctx: BackendContext = { hns: host.hns, routes: host.routes, subnetManager, netConfig, external, previous: {}, log };
      const backend = createBackend(netConfig.backendType, ctx);
      // Without a subnet (no subnet.env), the store allocates one: the network is then new too.
      const subnet: Ip4Net | undefined = own?.subnet ?? previous;
      const preview = await backend.preview(subnet ?? (netConfig.network as Ip4Net), signal);
      if (!own) {
        writes.push({ kind: 'lease', key: subnet ? formatIp4Net(subnet) : '(a subnet the store allocates)', op: 'create', fields: [`PublicIP: ${external.extAddr}`, `BackendType: ${backend.type}`] });
      } else {
        const now = { PublicIP: own.attrs.publicIp, BackendType: own.attrs.backendType, BackendData: own.attrs.backendData };
        const wanted = { ...now, PublicIP: preview.leaseAttrs.publicIp ?? now.PublicIP, BackendType: preview.leaseAttrs.backendType ?? now.BackendType, BackendData: preview.leaseAttrs.backendData ?? now.BackendData };
        const fields = fieldDiff(now, wanted);
        if (fields.length > 0) writes.push({ kind: 'lease', key: leaseIdentity(own), op: 'replace', fields });
      }
      if (!subnet) writes.push({ kind: 'network', key: netConfig.backendType, op: 'create', fields: ['on the subnet the store allocates'] });
      else writes.push(...preview.networkWrites);
      // Once the network is up (kube: the node's NetworkUnavailable condition).
      const networkUp = (await subnetManager.networkUpChanges?.(signal)) ?? [];
      if (networkUp.length > 0) writes.push({ kind: 'node-condition', key: 'NetworkUnavailable', op: 'replace', fields: networkUp });
      const notes: string[] = [];
      if (subnet) {
        const lease = own ?? { enableIpv4: true, enableIpv6: false, subnet, ipv6Subnet: undefined };
        const subnetEnvWrite = await planSubnetEnv(flags.subnetFile, subnetEnvText(netConfig, lease, preview.mtu, flags.ipMasq));
        if (subnetEnvWrite) writes.push(subnetEnvWrite);
      } else {
        writes.push({ kind: 'file', key: flags.subnetFile, op: (await exists(flags.subnetFile)) ? 'replace' : 'create', fields: ['for the subnet the store allocates'] });
      }
      const cni = cniSetupFromFlags(flags, log);
      const facts = preview.describe();
      const readyInfo = subnet === undefined ? undefined : { backendType: backend.type, networkName: typeof facts['network'] === 'string' ? facts['network'] : '', clusterCidr: netConfig.network, subnet, nodeIp: external.ifaceAddr };
      if (cni && flags.sourceVipFile !== '' && backend.type === 'vxlan') {
        // Reserved as soon as the network exists, before any controller runs.
        const planned = readyInfo ? await cni.plannedSourceVip(readyInfo) : undefined;
        if (planned) writes.push(...sourceVipWrites(planned));
        else writes.push({ kind: 'source-vip', key: flags.cniIpamDataDir, op: 'create', fields: ['a reservation in the subnet the store allocates'] });
      }

      const watcher = new LeaseWatcher(own ?? { subnet, ipv6Subnet: undefined });
      watcher.apply({ kind: 'snapshot', leases });
      const desired = new Map<string, unknown>();
      const unusablePeers: PlanResult['unusablePeers'] = [];
      for (const peer of watcher.peers()) {
        const decision = preview.decide(peer);
        if (decision.kind === 'route') desired.set(decision.key, decision.spec);
        else if (decision.kind === 'unusable') unusablePeers.push({ subnet: leaseIdentity(peer), reason: decision.reason });
      }
      const networkExists = subnet !== undefined && preview.networkExists;
      const actual = networkExists ? await preview.kind.listActual(signal) : new Map<string, unknown>();
      const peerWrites: PlannedChange[] = planWrites(preview.kind, desired, actual);
      writes.push(...peerWrites);

      let policy: PolicyPlanSummary | undefined;
      if (networkPolicyEnabled(flags)) {
        if (networkExists) {
          const { planPolicyWrites } = await import('./plan-policy.js');
          const planned = await planPolicyWrites({ flags, env, hns: host.hns, facts: preview.describe(), publicIp: preview.leaseAttrs.publicIp ?? external.extAddr, log, signal });
          writes.push(...planned.writes);
          policy = planned.summary;
        } else {
          notes.push('NetworkPolicy: the network is still to be created, so no pod endpoint exists yet to write ACLs on');
        }
      }

      // Written last by the daemon, once every controller converged.
      if (cni && flags.cniConfFile !== '') {
        if (readyInfo) {
          const planned = await cni.plannedConfig(readyInfo);
          if (planned) writes.push(cniConfigWrite(planned.path, planned.text, planned.change));
        } else {
          writes.push({ kind: 'cni-config', key: flags.cniConfFile, op: (await exists(flags.cniConfFile)) ? 'replace' : 'create', fields: ['for the subnet the store allocates'] });
        }
      }
      return {
        node: { subnet: subnet ? formatIp4Net(subnet) : undefined, publicIp: external.extAddr, backend: backend.type },
        writes,
        unusablePeers,
        peers: watcher.size,
        ...(policy ? { policy } : {}),
        notes,
      };
    } finally {
      await subnetManager.close().catch(() => undefined);
    }
  } finally {
    await host.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The plan as text: one line per write, its fields indented below. */
export function renderPlan(plan: PlanResult): string {
  const lines = [`Plan for ${plan.node.subnet ?? '(no lease yet)'} (${plan.node.publicIp}), backend ${plan.node.backend}, ${plan.peers} peer(s):`];
  if (plan.writes.length === 0) lines.push('  no changes: the host and the store already match what the daemon would write');
  const kindWidth = Math.max(0, ...plan.writes.map((w) => w.kind.length));
  for (const w of plan.writes) {
    lines.push(`  ${w.op.padEnd(7)} ${w.kind.padEnd(kindWidth)}  ${w.key}`);
    for (const field of w.fields) lines.push(`            ${field}`);
  }
  for (const p of plan.unusablePeers) lines.push(`  skipped ${p.subnet}: ${p.reason}`);
  if (plan.policy) {
    const p = plan.policy;
    lines.push(`  NetworkPolicy on node ${p.node}: ${p.localPods} local pod(s), ${p.endpoints} endpoint(s) managed, ${p.policies} policy(ies) in the cluster`);
    if (p.podsWithoutEndpoint.length > 0) lines.push(`  no endpoint yet (nothing planned until the CNI creates it): ${p.podsWithoutEndpoint.slice(0, 10).join(', ')}${p.podsWithoutEndpoint.length > 10 ? ', …' : ''}`);
    for (const a of p.ambiguous.slice(0, 10)) lines.push(`  left alone, endpoint not unique: ${a}`);
  }
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  const count = (op: string) => plan.writes.filter((w) => w.op === op).length;
  lines.push(`${plan.writes.length} write(s): ${count('create')} create, ${count('replace')} replace, ${count('delete')} delete.`, '');
  return lines.join('\n');
}
