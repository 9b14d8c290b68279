/**
 * `flannel-win explain --from A --to B --port N`: whether one connection touching this node's
 * pods gets through the ACLs actually programmed on their HNS endpoints, which rule decides each
 * side and which NetworkPolicy rule that came from (read back from the rule's Id). Read-only:
 * the host is read through the view that refuses writes; the store and the API are not asked.
 * Exit codes: 0 allowed, 3 blocked, 1 an error, 2 a usage error.
 * @module
 */
import { parseFlags } from '../config/flags.js';
import { UsageError } from '../config/usage-error.js';
import { describeError, FlannelWinError } from '../errors.js';
import type { AclPolicySetting, HostComputeEndpoint } from '../hns/types.js';
import { createLogger } from '../log.js';
import { formatIp4, tryParseIp4 } from '../net/ip.js';
import { parseAclId } from '../policy/acl-id.js';
import { HnsAclEvaluator, type AclVerdict } from '../policy/hns-acl-evaluator.js';
import { asHnsReadsIt } from '../sim/flow-matrix.js';
import { openReadOnlyHost } from './read-only-dataplane.js';
import type { SimCommandIo } from './sim-command.js';
import { chooseDaemonNetwork } from './sim-host-network.js';
import { parsePort, parseProtocol } from './sim-flows-command.js';

export const EXPLAIN_USAGE = `Usage: flannel-win explain --from IP --to IP --port N [--protocol tcp|udp|sctp|NUMBER]
                          [--network NAME] [-o text|json] [--dataplane ...] [--sim-state FILE]

Evaluates the ACLs programmed on the HNS endpoints of this node's pods for one connection, as
HNS does: the source pod's egress (Out) rules and the destination pod's ingress (In) rules. Prints
allowed or blocked, the deciding rule of each side and the NetworkPolicy rule it came from.
At least one side must be a local pod. Exit codes: 0 allowed, 3 blocked, 1 error, 2 usage.
`;

/** The exit code of a blocked flow (0 allowed, 1 error, 2 usage). */
export const EXIT_BLOCKED = 3;

/** One side of the connection as the endpoint's ACLs decide it. */
export interface ExplainedSide {
  endpoint: string;
  ip: string;
  allowed: boolean;
  reason: AclVerdict['reason'];
  /** The deciding rule's Id (`reason: rule`). */
  ruleId?: string;
  /** What the deciding rule is, in an operator's words. */
  origin: string;
  /** The NetworkPolicy (`ns/name`) and rule index, when a policy's allow decided. */
  policy?: { ref: string; rule: number };
  ambiguous: boolean;
}

export interface FlowExplanation {
  from: string;
  to: string;
  protocol: number;
  port: number;
  network: string;
  allowed: boolean;
  /** The source pod's egress; absent when the source is not a local pod (not decided here). */
  egress?: ExplainedSide;
  /** The destination pod's ingress; absent when the destination is not a local pod. */
  ingress?: ExplainedSide;
}

function describe(verdict: AclVerdict): Pick<ExplainedSide, 'origin' | 'policy' | 'ruleId'> {
  if (verdict.reason === 'no-acl') return { origin: 'no ACL: not isolated' };
  if (verdict.reason === 'default-deny') return { origin: 'default block: ACLs present, none matched' };
  const ruleId = verdict.rule?.Id ?? '(no Id)';
  const id = parseAclId(verdict.rule?.Id);
  if (id === undefined) return { ruleId, origin: 'a rule not written by flannel-win' };
  const dir = id.direction === 'in' ? 'ingress' : 'egress';
  if (id.kind !== 'policy') {
    if (id.kind === 'node') return { ruleId, origin: 'node traffic (always allowed)' };
    if (id.kind === 'open') return { ruleId, origin: `${dir} not isolated by any policy` };
    return { ruleId, origin: `final block: ${dir} isolated and no policy rule allows this` };
  }
  return { ruleId, origin: `NetworkPolicy ${id.policyRef}, ${dir} rule ${id.rule}`, policy: { ref: id.policyRef, rule: id.rule } };
}

interface LocalEndpoint {
  id: string;
  ip: string;
  evaluator: HnsAclEvaluator;
}

function localEndpoints(endpoints: readonly HostComputeEndpoint[], networkName: string): Map<string, LocalEndpoint> {
  const byIp = new Map<string, LocalEndpoint>();
  for (const e of endpoints) {
    // Remote endpoints (flag 1) and the host's own endpoint carry no pod ACLs.
    if (((e.Flags ?? 0) & 1) !== 0 || e.Name === `${networkName}_ep`) continue;
    const ip = e.IpConfigurations?.find((c) => !c.IpAddress.includes(':'))?.IpAddress;
    if (ip === undefined) continue;
    const acls = (e.Policies ?? []).filter((p) => p.Type === 'ACL').map((p) => asHnsReadsIt(p.Settings as AclPolicySetting));
    byIp.set(ip, { id: e.ID ?? '', ip, evaluator: new HnsAclEvaluator(acls) });
  }
  return byIp;
}

function side(endpoint: LocalEndpoint, verdict: AclVerdict): ExplainedSide {
  return { endpoint: endpoint.id, ip: endpoint.ip, allowed: verdict.allowed, reason: verdict.reason, ...describe(verdict), ambiguous: verdict.ambiguous };
}

/** Pure: the verdict for one flow over the endpoints of the daemon's network. */
export function explainFlow(endpoints: readonly HostComputeEndpoint[], network: string, flow: { from: string; to: string; protocol: number; port: number }): FlowExplanation {
  const local = localEndpoints(endpoints, network);
  const src = local.get(flow.from);
  const dst = local.get(flow.to);
  if (!src && !dst) {
    throw new FlannelWinError('EXPLAIN_NOT_LOCAL', `neither ${flow.from} nor ${flow.to} is a pod endpoint on network "${network.slice(0, 64)}" of this node; run explain on the node of either pod`, { from: flow.from, to: flow.to, network: network.slice(0, 64) });
  }
  const egress = src && side(src, src.evaluator.evaluate({ direction: 'Out', remoteIp: flow.to, localIp: src.ip, remotePort: flow.port, protocol: flow.protocol }));
  const ingress = dst && side(dst, dst.evaluator.evaluate({ direction: 'In', remoteIp: flow.from, localIp: dst.ip, localPort: flow.port, protocol: flow.protocol }));
  return { ...flow, network, allowed: (egress?.allowed ?? true) && (ingress?.allowed ?? true), ...(egress ? { egress } : {}), ...(ingress ? { ingress } : {}) };
}

function renderSide(label: string, s: ExplainedSide | undefined, otherIp: string): string {
  if (!s) return `  ${label}: ${otherIp} is not a pod of this node; not decided here`;
  const rule = s.ruleId !== undefined ? ` by ${s.ruleId}` : '';
  const warn = s.ambiguous ? ' (AMBIGUOUS: another rule with the same Priority and the other Action also matches)' : '';
  return `  ${label} (endpoint ${s.endpoint}): ${s.allowed ? 'allowed' : 'blocked'}${rule}: ${s.origin}${warn}`;
}

/** The text report of an explanation. */
export function renderExplanation(e: FlowExplanation, protocolText: string): string {
  return [
    `${e.from} -> ${e.to} ${protocolText}/${e.port}: ${e.allowed ? 'ALLOWED' : 'BLOCKED'}`,
    renderSide(`egress at ${e.from}`, e.egress, e.from),
    renderSide(`ingress at ${e.to}`, e.ingress, e.to),
    '',
  ].join('\n');
}

interface ExplainOptions {
  from?: string;
  to?: string;
  port?: string;
  protocol: string;
  network?: string;
  output: string;
  rest: string[];
}

function splitOptions(argv: readonly string[]): ExplainOptions {
  const o: ExplainOptions = { protocol: 'tcp', output: 'text', rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^(-o|--?output|--?from|--?to|--?port|--?protocol|--?network)(?:=(.*))?$/.exec(arg);
    if (!m) {
      o.rest.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`, {});
    const name = m[1]!.replace(/^-+/, '');
    if (name === 'o' || name === 'output') o.output = value;
    else if (name === 'from' || name === 'to' || name === 'port' || name === 'protocol' || name === 'network') o[name] = value;
  }
  return o;
}

function ipOf(flag: string, text: string | undefined): string {
  if (text === undefined) throw new UsageError(`--${flag} is required`, {});
  const ip = tryParseIp4(text);
  if (ip !== undefined) return formatIp4(ip);
  if (/^[^/\s]+\/[^/\s]+$/.test(text)) throw new UsageError(`--${flag} ${JSON.stringify(text.slice(0, 64))}: namespace/pod is not resolved yet; give the pod's IPv4 address`, { [flag]: text.slice(0, 64) });
  throw new UsageError(`--${flag} ${JSON.stringify(text.slice(0, 64))} is not an IPv4 address`, { [flag]: text.slice(0, 64) });
}

/** Runs `explain`; `argv` is what follows the word. Returns the exit code. */
export async function runExplainCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, io: SimCommandIo): Promise<number> {
  let options: ExplainOptions;
  let flow: { from: string; to: string; protocol: number; port: number };
  let flags: ReturnType<typeof parseFlags>;
  try {
    options = splitOptions(argv);
    if (options.rest.includes('--help') || options.rest.includes('-h')) {
      io.stdout(EXPLAIN_USAGE);
      return 0;
    }
    if (options.output !== 'text' && options.output !== 'json') throw new UsageError(`-o ${JSON.stringify(options.output.slice(0, 32))} is not text or json`, {});
    if (options.port === undefined) throw new UsageError('--port is required', {});
    flow = { from: ipOf('from', options.from), to: ipOf('to', options.to), protocol: parseProtocol(options.protocol), port: parsePort(options.port) };
    flags = parseFlags(options.rest, { ...env }, platform);
  } catch (err) {
    io.stderr(`flannel-win explain: ${describeError(err)}\n${EXPLAIN_USAGE}`);
    return 2;
  }
  try {
    const host = await openReadOnlyHost({ dataplane: flags.dataplane, simState: flags.simState, platform, log: createLogger({ level: 'warn' }) });
    let explanation: FlowExplanation;
    try {
      const network = chooseDaemonNetwork(await host.hns.listNetworks(), options.network, flags.simState);
      explanation = explainFlow(await host.hns.listEndpoints({ networkId: network.ID! }), network.Name, flow);
    } finally {
      await host.close();
    }
    io.stdout(options.output === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanation(explanation, options.protocol.toLowerCase()));
    return explanation.allowed ? 0 : EXIT_BLOCKED;
  } catch (err) {
    io.stderr(`flannel-win explain: ${describeError(err)}\n`);
    return 1;
  }
}
