import type { AclPolicySetting } from '../hns/types.js';
import { ip4NetContainsIp, tryParseIp4, tryParseIp4Net, type Ip4Net } from '../net/ip.js';

/**
 * One connection as an endpoint's ACLs see it. `In`: `remoteIp` is the source and `localPort`
 * the destination port. `Out`: `remoteIp` is the destination and `remotePort` the destination
 * port. Source ports are ephemeral, so a flow usually names only the destination port.
 * `protocol` is the IANA number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP).
 */
export interface AclFlow {
  readonly direction: 'In' | 'Out';
  readonly remoteIp: string;
  /** The endpoint's own address; a rule with `LocalAddresses` matches only when it is given and listed. */
  readonly localIp?: string;
  readonly localPort?: number;
  readonly remotePort?: number;
  readonly protocol: number;
}

/**
 * Why a flow was allowed or dropped: `no-acl` (the endpoint holds no ACL: HNS passes
 * everything), `rule` (the first matching rule by Priority decided), `default-deny` (ACLs
 * exist, none matched).
 */
export interface AclVerdict {
  readonly allowed: boolean;
  readonly reason: 'no-acl' | 'rule' | 'default-deny';
  /** The deciding rule, when `reason` is `rule`. */
  readonly rule?: AclPolicySetting;
  /**
   * True when another rule with the same Priority and a different Action also matches: HNS's
   * tie-break is then not first-match, so the real outcome is unknown. A correct rule set never
   * produces this.
   */
  readonly ambiguous: boolean;
}

/** The protocol number HNS reads as "any protocol". */
const ANY_PROTOCOL = 256;

interface PortRange {
  readonly from: number;
  readonly to: number;
}

type IpTest = (ip: number) => boolean;

interface ParsedRule {
  readonly rule: AclPolicySetting;
  readonly priority: number;
  readonly order: number;
  readonly protocols: ReadonlySet<number> | undefined;
  readonly local: IpTest | undefined;
  readonly remote: IpTest | undefined;
  readonly localPorts: readonly PortRange[] | undefined;
  readonly remotePorts: readonly PortRange[] | undefined;
}

const NOTHING: IpTest = () => false;

/** A comma list of IPs and CIDRs; an entry that does not parse matches nothing (HNS would reject it). */
function parseAddresses(text: string | undefined): IpTest | undefined {
  if (text === undefined) return undefined;
  const nets: Ip4Net[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const net = entry.includes('/') ? tryParseIp4Net(entry) : mapIp(tryParseIp4(entry));
    if (net) nets.push(net);
  }
  if (nets.length === 0) return NOTHING;
  return (ip) => nets.some((net) => ip4NetContainsIp(net, ip));
}

function mapIp(ip: number | undefined): Ip4Net | undefined {
  return ip === undefined ? undefined : { ip, prefixLen: 32 };
}

/** A comma list of ports and `a-b` ranges; an entry that does not parse matches nothing. */
function parsePorts(text: string | undefined): readonly PortRange[] | undefined {
  if (text === undefined) return undefined;
  const ranges: PortRange[] = [];
  for (const raw of text.split(',')) {
    const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(raw);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from <= to && to <= 65535) ranges.push({ from, to });
  }
  return ranges;
}

function parseProtocols(text: string | undefined): ReadonlySet<number> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const set = new Set<number>();
  for (const raw of text.split(',')) {
    const n = Number(raw.trim());
    if (n === ANY_PROTOCOL) return undefined;
    if (Number.isInteger(n)) set.add(n);
  }
  return set;
}

function portMatches(ranges: readonly PortRange[] | undefined, port: number | undefined): boolean {
  if (ranges === undefined) return true;
  if (port === undefined) return false;
  return ranges.some((r) => port >= r.from && port <= r.to);
}

function ipMatches(test: IpTest | undefined, ip: string | undefined): boolean {
  if (test === undefined) return true;
  const n = ip === undefined ? undefined : tryParseIp4(ip);
  return n !== undefined && test(n);
}

function matches(rule: ParsedRule, flow: AclFlow): boolean {
  return (
    rule.rule.Direction === flow.direction &&
    (rule.protocols === undefined || rule.protocols.has(flow.protocol)) &&
    ipMatches(rule.remote, flow.remoteIp) &&
    ipMatches(rule.local, flow.localIp) &&
    portMatches(rule.localPorts, flow.localPort) &&
    portMatches(rule.remotePorts, flow.remotePort)
  );
}

/**
 * What an endpoint's HNS ACL list does to a flow, modelled on the documented behaviour: the
 * vSwitch (`Switch`) rules are evaluated by ascending Priority and the first match decides; an
 * endpoint with any ACL drops what no rule matches; an endpoint with none passes everything.
 * `Host` rules (the Windows firewall) are outside the vSwitch and are not evaluated here; a rule
 * without `RuleType` counts as `Switch`. Rules are parsed once, so one evaluator serves many
 * flows.
 */
export class HnsAclEvaluator {
  private readonly rules: readonly ParsedRule[];
  private readonly empty: boolean;

  constructor(acls: readonly AclPolicySetting[]) {
    this.empty = acls.length === 0;
    this.rules = acls
      .map((rule, order) => ({
        rule,
        order,
        priority: rule.Priority ?? 0,
        protocols: parseProtocols(rule.Protocols),
        local: parseAddresses(rule.LocalAddresses),
        remote: parseAddresses(rule.RemoteAddresses),
        localPorts: parsePorts(rule.LocalPorts),
        remotePorts: parsePorts(rule.RemotePorts),
      }))
      .filter((r) => (r.rule.RuleType ?? 'Switch') === 'Switch')
      .sort((a, b) => a.priority - b.priority || a.order - b.order);
  }

  /** The verdict for one flow. */
  evaluate(flow: AclFlow): AclVerdict {
    if (this.empty) return { allowed: true, reason: 'no-acl', ambiguous: false };
    for (let i = 0; i < this.rules.length; i++) {
      const first = this.rules[i]!;
      if (!matches(first, flow)) continue;
      let ambiguous = false;
      for (let j = i + 1; j < this.rules.length && this.rules[j]!.priority === first.priority; j++) {
        const other = this.rules[j]!;
        if (other.rule.Action !== first.rule.Action && matches(other, flow)) ambiguous = true;
      }
      return { allowed: first.rule.Action === 'Allow', reason: 'rule', rule: first.rule, ambiguous };
    }
    return { allowed: false, reason: 'default-deny', ambiguous: false };
  }
}

/** One-shot form of {@link HnsAclEvaluator}: parses `acls` and evaluates one flow. */
export function evaluateAcls(acls: readonly AclPolicySetting[], flow: AclFlow): AclVerdict {
  return new HnsAclEvaluator(acls).evaluate(flow);
}
