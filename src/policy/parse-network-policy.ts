/**
 * Reads a raw `networking.k8s.io/v1` NetworkPolicy (watch event JSON, or a typed object from a
 * `@kubernetes/client-node` list, which renames a rule's `from` to `_from`) into a `PolicyView`,
 * checked as the API server checks it. A bad rule is kept, marked `invalid`, and allows nothing;
 * a bad pod selector makes the policy select its whole namespace: fail closed, never open.
 */
import { FlannelWinError } from '../errors.js';
import { ip4NetContainsNet, ip4NetEqual, ip6NetContainsNet, ip6NetEqual, maskIp4Net, maskIp6Net, parseIp6Net, tryParseIp4Net, type Ip4Net, type Ip6Net } from '../net/ip.js';
import { parseLabelSelector, quote, SelectorParseError, type LabelSelector } from './label-selector.js';
import type { PolicyPeer, PolicyPort, PolicyProtocol, PolicyRule, PolicyTypes, PolicyView } from './model.js';

/** The object is not a NetworkPolicy at all (no metadata name or namespace): it cannot be compiled. */
export class PolicyParseError extends FlannelWinError {
  constructor(reason: string) {
    super('POLICY_UNREADABLE', `NetworkPolicy unreadable: ${reason}`);
  }
}

/** A rule problem: collected, then turned into `invalid` on the rule. */
class RuleProblem extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A list field: absent or null is `undefined`, anything else but an array is a problem. */
function list(v: unknown, field: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new RuleProblem(`${field} is not a list`);
  return v;
}

const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);
/** IANA_SVC_NAME, as the API server checks a named port: 1-15 lowercase alphanumerics or '-', a letter, no '--', no '-' at the ends. */
const PORT_NAME = /^(?=.*[a-z])(?!-)(?!.*--)[a-z0-9-]{1,15}(?<!-)$/;

function tryParseIp6Net(text: string): Ip6Net | undefined {
  try {
    return parseIp6Net(text);
  } catch {
    return undefined;
  }
}

function selector(raw: unknown, field: string): LabelSelector {
  try {
    return parseLabelSelector(raw, field);
  } catch (err) {
    if (err instanceof SelectorParseError) throw new RuleProblem(err.message);
    throw err;
  }
}

function parsePort(raw: unknown, field: string): PolicyPort {
  if (!isRecord(raw)) throw new RuleProblem(`${field} is not an object`);
  const protocol = raw['protocol'] ?? 'TCP';
  if (typeof protocol !== 'string' || !PROTOCOLS.has(protocol)) throw new RuleProblem(`${field}.protocol must be TCP, UDP or SCTP, not ${quote(protocol)}`);
  const proto = protocol as PolicyProtocol;
  const port = raw['port'];
  const endPort = raw['endPort'];
  if (port === undefined || port === null) {
    if (endPort !== undefined && endPort !== null) throw new RuleProblem(`${field}.endPort needs a numeric port`);
    return { protocol: proto };
  }
  if (typeof port === 'string') {
    if (!PORT_NAME.test(port)) throw new RuleProblem(`${field}.port is not a valid port name: ${quote(port)}`);
    if (endPort !== undefined && endPort !== null) throw new RuleProblem(`${field}.endPort needs a numeric port, not the named port ${quote(port)}`);
    return { protocol: proto, port };
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new RuleProblem(`${field}.port must be 1-65535, not ${quote(port)}`);
  if (endPort === undefined || endPort === null) return { protocol: proto, port };
  if (typeof endPort !== 'number' || !Number.isInteger(endPort) || endPort > 65535) throw new RuleProblem(`${field}.endPort must be at most 65535, not ${quote(endPort)}`);
  if (endPort < port) throw new RuleProblem(`${field}.endPort ${endPort} is below port ${port}`);
  return { protocol: proto, port, endPort };
}

/** An ipBlock: IPv4 kept (masked), IPv6 checked then dropped with a note (`undefined`). */
function parseIpBlock(raw: unknown, field: string, notes: string[]): PolicyPeer | undefined {
  if (!isRecord(raw)) throw new RuleProblem(`${field} is not an object`);
  const cidr = raw['cidr'];
  const except = list(raw['except'], `${field}.except`) ?? [];
  if (typeof cidr !== 'string') throw new RuleProblem(`${field}.cidr is not a CIDR: ${quote(cidr)}`);
  const v4 = tryParseIp4Net(cidr);
  if (v4) {
    const block = maskIp4Net(v4);
    const parsed: Ip4Net[] = except.map((e, i) => {
      const net = typeof e === 'string' ? tryParseIp4Net(e) : undefined;
      if (!net) throw new RuleProblem(`${field}.except[${i}] is not an IPv4 CIDR: ${quote(e)}`);
      const masked = maskIp4Net(net);
      if (!ip4NetContainsNet(block, masked) || ip4NetEqual(block, masked)) throw new RuleProblem(`${field}.except[${i}] ${quote(e)} is not a strict subset of cidr ${quote(cidr)}`);
      return masked;
    });
    return { kind: 'ipBlock', cidr: block, except: parsed };
  }
  const v6 = cidr.includes(':') ? tryParseIp6Net(cidr) : undefined;
  if (!v6) throw new RuleProblem(`${field}.cidr is not a CIDR: ${quote(cidr)}`);
  const block6 = maskIp6Net(v6);
  except.forEach((e, i) => {
    const net = typeof e === 'string' && e.includes(':') ? tryParseIp6Net(e) : undefined;
    if (!net || !ip6NetContainsNet(block6, maskIp6Net(net)) || ip6NetEqual(block6, maskIp6Net(net))) {
      throw new RuleProblem(`${field}.except[${i}] is not an IPv6 CIDR strictly inside cidr ${quote(cidr)}: ${quote(e)}`);
    }
  });
  notes.push(`${field}: IPv6 ipBlock ${quote(cidr)} ignored (IPv4 only)`);
  return undefined;
}

function parsePeer(raw: unknown, field: string, notes: string[]): PolicyPeer | undefined {
  if (!isRecord(raw)) throw new RuleProblem(`${field} is not an object`);
  const has = (k: string): boolean => raw[k] !== undefined && raw[k] !== null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) throw new RuleProblem(`${field}: ipBlock cannot be combined with podSelector or namespaceSelector`);
    return parseIpBlock(raw['ipBlock'], `${field}.ipBlock`, notes);
  }
  if (!has('podSelector') && !has('namespaceSelector')) throw new RuleProblem(`${field} names no peer (podSelector, namespaceSelector or ipBlock)`);
  return {
    kind: 'pods',
    ...(has('podSelector') ? { podSelector: selector(raw['podSelector'], `${field}.podSelector`) } : {}),
    ...(has('namespaceSelector') ? { namespaceSelector: selector(raw['namespaceSelector'], `${field}.namespaceSelector`) } : {}),
  };
}

function parseRule(raw: unknown, field: string, peerKey: 'from' | 'to', problems: string[], notes: string[]): PolicyRule {
  try {
    if (!isRecord(raw)) throw new RuleProblem(`${field} is not an object`);
    // A typed object from a client-node list call carries `_from`; watch events carry `from`.
    const rawPeers = peerKey === 'from' ? (raw['from'] ?? raw['_from']) : raw['to'];
    const peerList = list(rawPeers, `${field}.${peerKey}`);
    const portList = list(raw['ports'], `${field}.ports`);
    const ruleNotes: string[] = [];
    const peers: 'any' | PolicyPeer[] =
      peerList === undefined || peerList.length === 0
        ? 'any'
        : peerList.flatMap((p, i) => parsePeer(p, `${field}.${peerKey}[${i}]`, ruleNotes) ?? []);
    const ports: 'any' | PolicyPort[] = portList === undefined || portList.length === 0 ? 'any' : portList.map((p, i) => parsePort(p, `${field}.ports[${i}]`));
    notes.push(...ruleNotes);
    return { peers, ports };
  } catch (err) {
    if (!(err instanceof RuleProblem)) throw err;
    problems.push(err.message);
    return { peers: [], ports: [], invalid: err.message };
  }
}

function parseRules(raw: unknown, field: string, peerKey: 'from' | 'to', problems: string[], notes: string[]): PolicyRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    const reason = `${field} is not a list`;
    problems.push(reason);
    return [{ peers: [], ports: [], invalid: reason }];
  }
  return raw.map((r, i) => parseRule(r, `${field}[${i}]`, peerKey, problems, notes));
}

/**
 * `policyTypes` as the API server defaults it (by length): absent or empty means Ingress, plus
 * Egress when the egress list is non-empty. An unknown type is a problem: the policy then
 * isolates both directions (fail closed).
 */
function parsePolicyTypes(raw: unknown, egressRules: number, problems: string[]): PolicyTypes {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) return { ingress: true, egress: egressRules > 0 };
  if (!Array.isArray(raw) || raw.some((t) => t !== 'Ingress' && t !== 'Egress')) {
    problems.push(`spec.policyTypes must list Ingress and/or Egress, not ${quote(raw)}`);
    return { ingress: true, egress: true };
  }
  return { ingress: raw.includes('Ingress'), egress: raw.includes('Egress') };
}

/**
 * Parses a raw NetworkPolicy object. Problems the API server would reject become
 * `problems` on the view (each naming its field and value) and fail closed; the view always
 * compiles.
 * @throws PolicyParseError when `raw` has no `metadata.namespace` and `metadata.name`.
 */
export function parseNetworkPolicy(raw: unknown): PolicyView {
  if (!isRecord(raw) || !isRecord(raw['metadata'])) throw new PolicyParseError('no metadata');
  const { namespace, name } = raw['metadata'];
  if (typeof namespace !== 'string' || namespace === '' || typeof name !== 'string' || name === '') {
    throw new PolicyParseError(`metadata.namespace and metadata.name are required (got ${quote(namespace)}, ${quote(name)})`);
  }
  const problems: string[] = [];
  const notes: string[] = [];
  const spec = isRecord(raw['spec']) ? raw['spec'] : {};
  if (!isRecord(raw['spec'])) problems.push('spec is missing or not an object');
  let podSelector: LabelSelector | undefined;
  try {
    podSelector = parseLabelSelector(spec['podSelector'], 'spec.podSelector');
  } catch (err) {
    if (!(err instanceof SelectorParseError)) throw err;
    problems.push(`${err.message} (the policy selects every pod of its namespace until fixed)`);
  }
  const ingress = parseRules(spec['ingress'], 'spec.ingress', 'from', problems, notes);
  const egress = parseRules(spec['egress'], 'spec.egress', 'to', problems, notes);
  const rawEgress = spec['egress'];
  const policyTypes = parsePolicyTypes(spec['policyTypes'], Array.isArray(rawEgress) ? rawEgress.length : rawEgress ? 1 : 0, problems);
  return { namespace, name, podSelector, policyTypes, ingress, egress, problems, notes };
}
