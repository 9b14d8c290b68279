/**
 * `flannel-win explain --from A --to B --port N` (A, B: `namespace/pod` or an IPv4 address):
 * whether one connection touching this node's pods gets through the ACLs actually programmed on
 * their HNS endpoints, which rule decides each side and which NetworkPolicy rule that came from
 * (read back from the rule's Id); and whether that is what Kubernetes semantics give for the
 * current policies, as the running daemon sees them (its health server's `/policy/flow`). A
 * disagreement is drift on the host or a bug, and is reported as a MISMATCH.
 *
 * Read-only: the host is read through the view that refuses writes; the daemon is only asked.
 * Without an answer from the daemon, addresses are still explained from the programmed ACLs
 * (the report says why nothing was compared); `namespace/pod` needs the daemon.
 *
 * Exit codes: 0 allowed, 3 blocked (by the programmed ACLs, and Kubernetes semantics agree or
 * were not asked), 4 the two disagree, 1 an error, 2 a usage error.
 * @module
 */
import { parseFlags } from '../config/flags.js';
import { UsageError } from '../config/usage-error.js';
import { describeError, FlannelWinError } from '../errors.js';
import { createLogger } from '../log.js';
import { formatIp4, tryParseIp4 } from '../net/ip.js';
import type { FlowAnswer } from '../policy/flow-question.js';
import { askDaemonAboutFlow, type DaemonFlowReply } from './daemon-flow-question.js';
import { compareFlow, renderComparison, type FlowComparison } from './flow-comparison.js';
import { explainFlow, renderExplanation, type FlowExplanation } from './programmed-flow.js';
import { openReadOnlyHost } from './read-only-dataplane.js';
import type { SimCommandIo } from './sim-command.js';
import { chooseDaemonNetwork } from './sim-host-network.js';
import { parsePort, parseProtocol } from './sim-flows-command.js';

export const EXPLAIN_USAGE = `Usage: flannel-win explain --from A --to B --port N [--protocol tcp|udp|sctp|NUMBER]
                          [--healthz-ip IP] [--healthz-port N | --server URL]
                          [--network NAME] [-o text|json] [--dataplane ...] [--sim-state FILE]

A and B are namespace/pod or an IPv4 address; at least one must be a pod of this node.
Evaluates the ACLs programmed on the HNS endpoints of this node's pods for one connection, as
HNS does: the source pod's egress (Out) rules and the destination pod's ingress (In) rules. Prints
allowed or blocked, the deciding rule of each side and the NetworkPolicy rule it came from.
Then asks the running daemon (its health server, as started with --healthz-ip/--healthz-port,
or FLANNELD_HEALTHZ_IP/PORT, or --server URL) what Kubernetes semantics give for the current
policies, and prints MATCH, or MISMATCH when the programmed ACLs disagree (drift or a bug).
Without the daemon, addresses are still explained (not compared); namespace/pod needs it.
Exit codes: 0 allowed, 3 blocked, 4 mismatch with Kubernetes semantics, 1 error, 2 usage.
`;

/** The exit code of a blocked flow (0 allowed, 1 error, 2 usage). */
export const EXIT_BLOCKED = 3;
/** The exit code when the programmed ACLs and Kubernetes semantics disagree. */
export const EXIT_MISMATCH = 4;

interface ExplainOptions {
  from?: string;
  to?: string;
  port?: string;
  protocol: string;
  network?: string;
  server?: string;
  output: string;
  rest: string[];
}

function splitOptions(argv: readonly string[]): ExplainOptions {
  const o: ExplainOptions = { protocol: 'tcp', output: 'text', rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^(-o|--?output|--?from|--?to|--?port|--?protocol|--?network|--?server)(?:=(.*))?$/.exec(arg);
    if (!m) {
      o.rest.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`${arg} needs a value`, {});
    const name = m[1]!.replace(/^-+/, '');
    if (name === 'o' || name === 'output') o.output = value;
    else if (name === 'from' || name === 'to' || name === 'port' || name === 'protocol' || name === 'network' || name === 'server') o[name] = value;
  }
  return o;
}

/** An end as given: an IPv4 address (normalised) or `namespace/pod`. */
type EndArg = { readonly ip: string } | { readonly pod: string };

const POD_ARG_RE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9](?:[-.a-z0-9]{0,251}[a-z0-9])?$/;

function endArg(flag: string, text: string | undefined): EndArg {
  if (text === undefined) throw new UsageError(`--${flag} is required`, {});
  const ip = tryParseIp4(text);
  if (ip !== undefined) return { ip: formatIp4(ip) };
  if (POD_ARG_RE.test(text)) return { pod: text };
  throw new UsageError(`--${flag} ${JSON.stringify(text.slice(0, 64))} is neither namespace/pod nor an IPv4 address`, { [flag]: text.slice(0, 64) });
}

const argText = (end: EndArg): string => ('ip' in end ? end.ip : end.pod);

/** The JSON report: the programmed explanation, the daemon's answer, the comparison. */
interface ExplainReport extends FlowExplanation {
  kubernetes?: FlowAnswer;
  comparison: FlowComparison;
}

/** Runs `explain`; `argv` is what follows the word. Returns the exit code. */
export async function runExplainCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform, io: SimCommandIo): Promise<number> {
  let options: ExplainOptions;
  let from: EndArg;
  let to: EndArg;
  let protocol: number;
  let port: number;
  let flags: ReturnType<typeof parseFlags>;
  try {
    options = splitOptions(argv);
    if (options.rest.includes('--help') || options.rest.includes('-h')) {
      io.stdout(EXPLAIN_USAGE);
      return 0;
    }
    if (options.output !== 'text' && options.output !== 'json') throw new UsageError(`-o ${JSON.stringify(options.output.slice(0, 32))} is not text or json`, {});
    if (options.port === undefined) throw new UsageError('--port is required', {});
    from = endArg('from', options.from);
    to = endArg('to', options.to);
    protocol = parseProtocol(options.protocol);
    port = parsePort(options.port);
    flags = parseFlags(options.rest, { ...env }, platform);
  } catch (err) {
    io.stderr(`flannel-win explain: ${describeError(err)}\n${EXPLAIN_USAGE}`);
    return 2;
  }
  try {
    // The daemon's flags (or FLANNELD_HEALTHZ_*, which parseFlags has read) say where it listens.
    const daemon: DaemonFlowReply = await askDaemonAboutFlow(
      { server: options.server, healthzIp: flags.healthzIp, healthzPort: flags.healthzPort > 0 ? String(flags.healthzPort) : '', env: {} },
      { from: argText(from), to: argText(to), port, protocol },
    );
    const kube = daemon.kind === 'answer' ? daemon.answer : undefined;
    const named = [from, to].filter((e): e is { pod: string } => 'pod' in e).map((e) => e.pod);
    if (!kube && named.length > 0) {
      const why = daemon.kind === 'answer' ? '' : daemon.reason;
      const message = daemon.kind === 'refused' ? why : `${named.join(' and ')}: namespace/pod is resolved by the running daemon, which gave no answer: ${why}; give the pod's IPv4 address to explain the programmed ACLs alone`;
      throw new FlannelWinError('EXPLAIN_NEEDS_DAEMON', message, { pods: named });
    }
    const flow = { from: kube?.from.ip ?? argText(from), to: kube?.to.ip ?? argText(to), protocol, port };

    const host = await openReadOnlyHost({ dataplane: flags.dataplane, simState: flags.simState, platform, log: createLogger({ level: 'warn' }) });
    let explanation: FlowExplanation;
    try {
      const network = chooseDaemonNetwork(await host.hns.listNetworks(), options.network, flags.simState);
      explanation = explainFlow(await host.hns.listEndpoints({ networkId: network.ID! }), network.Name, flow);
    } catch (err) {
      if (err instanceof FlannelWinError && err.code === 'EXPLAIN_NOT_LOCAL' && kube) {
        const where = [kube.from, kube.to].map((e) => `${e.pod ?? e.ip} ${e.node !== undefined ? `runs on node ${e.node}` : 'is no pod the daemon knows'}`).join('; ');
        throw new FlannelWinError(err.code, `${err.message} (the daemon: ${where})`, err.context);
      }
      throw err;
    } finally {
      await host.close();
    }

    const comparison: FlowComparison = kube ? compareFlow(explanation, kube) : { made: false, reason: daemon.kind === 'answer' ? '' : daemon.reason };
    if (options.output === 'json') {
      const report: ExplainReport = { ...explanation, ...(kube ? { kubernetes: kube } : {}), comparison };
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const lines = renderExplanation(explanation, options.protocol.toLowerCase(), { from: kube?.from.pod, to: kube?.to.pod });
      if (kube && comparison.made) lines.push(...renderComparison(kube, comparison));
      else if (!comparison.made) lines.push(`Kubernetes semantics: not compared: ${comparison.reason}`);
      io.stdout(`${lines.join('\n')}\n`);
    }
    if (comparison.made && !comparison.match) return EXIT_MISMATCH;
    return explanation.allowed ? 0 : EXIT_BLOCKED;
  } catch (err) {
    io.stderr(`flannel-win explain: ${describeError(err)}\n`);
    return 1;
  }
}
