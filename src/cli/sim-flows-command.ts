/**
 * `flannel-win sim flows`: the allow/deny matrix the ACLs programmed on a simulated host's local
 * pod endpoints give, with the deciding rule's Id, as text or JSON. Reads the state file only
 * (no HNS call is counted); a daemon's changes of the last few milliseconds may not be in it yet.
 * @module
 */
import { FlannelWinError } from '../errors.js';
import { flowMatrix, type Flow, type FlowMatrix, type FlowSide } from '../sim/flow-matrix.js';
import { readHostFile } from '../sim/state-view.js';
import { chooseDaemonNetwork } from './sim-host-network.js';

const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1 };

export interface SimFlowsOptions {
  stateFile: string;
  network: string | undefined;
  output: 'text' | 'json';
  protocol?: string | undefined;
  port?: string | undefined;
}

export function parseProtocol(text: string): number {
  const n = PROTOCOLS[text.toLowerCase()] ?? (/^\d{1,3}$/.test(text) ? Number(text) : Number.NaN);
  if (!(n >= 0 && n <= 255)) throw new FlannelWinError('SIM_FLOWS_INVALID', `--protocol ${JSON.stringify(text.slice(0, 32))} is not tcp, udp, sctp, icmp or a protocol number`, { protocol: text.slice(0, 32) });
  return n;
}

export function parsePort(text: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new FlannelWinError('SIM_FLOWS_INVALID', `--port ${JSON.stringify(text.slice(0, 32))} is not a port number (1-65535)`, { port: text.slice(0, 32) });
  return n;
}

export async function simFlows(options: SimFlowsOptions): Promise<string> {
  const protocol = parseProtocol(options.protocol ?? 'tcp');
  const port = parsePort(options.port ?? '80');
  const state = await readHostFile(options.stateFile);
  const network = chooseDaemonNetwork(state.networks, options.network, options.stateFile);
  const matrix = flowMatrix(state, network, protocol, port);
  return options.output === 'json' ? `${JSON.stringify(matrix, null, 2)}\n` : renderText(matrix);
}

function describeSide(s: FlowSide | undefined): string {
  if (s === undefined) return 'node (no ACL)';
  const what = s.reason === 'rule' ? s.ruleId! : s.reason;
  return `${s.allowed ? 'allow' : 'deny'} ${what}${s.ambiguous ? ' (AMBIGUOUS: same Priority, other Action)' : ''}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

function renderText(m: FlowMatrix): string {
  const label = new Map<string, string>(m.endpoints.map((e) => [e.id, e.ip]));
  label.set('node', `node ${m.nodeIp ?? ''}`.trim());
  const protocolName = Object.entries(PROTOCOLS).find(([, n]) => n === m.protocol)?.[0] ?? String(m.protocol);
  const lines = [`Flows ${protocolName}/${m.port} between the local pod endpoints of network "${m.network}"`, ''];
  if (m.endpoints.length === 0) return `${lines.join('\n')}no local pod endpoints\n`;
  const verdict = new Map<string, Flow>(m.flows.map((f) => [`${f.from}>${f.to}`, f]));
  const sources = [...(m.nodeIp !== undefined ? ['node'] : []), ...m.endpoints.map((e) => e.id)];
  lines.push(...table([
    ['from \\ to', ...m.endpoints.map((e) => e.ip)],
    ...sources.map((from) => [label.get(from)!, ...m.endpoints.map((to) => {
      const f = verdict.get(`${from}>${to.id}`);
      return f === undefined ? '-' : f.allowed ? 'allow' : 'deny';
    })]),
  ]));
  lines.push('', ...table([
    ['endpoint', 'ip', 'acls', 'name'],
    ...m.endpoints.map((e) => [e.id, e.ip, String(e.acls), e.name ?? '']),
  ]));
  lines.push('', ...table([
    ['from', 'to', 'verdict', 'egress at source', 'ingress at destination'],
    ...m.flows.map((f) => [label.get(f.from)!, label.get(f.to)!, f.allowed ? 'allow' : 'deny', describeSide(f.egress), describeSide(f.ingress)]),
  ]));
  return `${lines.join('\n')}\n`;
}
