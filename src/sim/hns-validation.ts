import { HCN_E, HnsError } from '../hns/client.js';
import type { EndpointPolicy, HostComputeEndpoint, HostComputeNetwork, NetworkPolicy } from '../hns/types.js';
import { tryParseIp4, tryParseIp6, parseIp4Net, parseIp6Net } from '../net/ip.js';

/**
 * The checks HNS (or hcsshim just before it) applies to documents, so that a malformed document
 * fails here as it would on Windows instead of being stored. Every failure names the call, the
 * field and the offending value.
 */

/** HCN_E_ADAPTER_NOT_FOUND, not in the shared HCN_E table (compat/hns.md §7). */
export const HCN_E_ADAPTER_NOT_FOUND = 0x803b0006;

/** HCN_E_ADDR_INVALID_OR_RESERVED (compat/hns.md §7): what the simulator answers for an IP already held by another endpoint. */
export const HCN_E_ADDR_INVALID_OR_RESERVED = 0x803b002f;

export const NETWORK_TYPES = new Set(['NAT', 'ICS', 'Transparent', 'L2Bridge', 'L2Tunnel', 'Overlay', 'Private', 'Internal', 'Mirrored', 'Infiniband', 'ConstrainedICS']);

const NETWORK_POLICY_TYPES = new Set([
  'SourceMacAddress', 'NetAdapterName', 'VSwitchExtension', 'DrMacAddress', 'AutomaticDNS', 'InterfaceConstraint',
  'ProviderAddress', 'RemoteSubnetRoute', 'VxlanPort', 'HostRoute', 'SetPolicy', 'L4Proxy', 'LayerConstraint', 'NetworkACL',
]);

const ENDPOINT_POLICY_TYPES = new Set([
  'PortMapping', 'ACL', 'QOS', 'L2Driver', 'OutBoundNAT', 'SDNRoute', 'L4Proxy', 'L4WFPPROXY', 'PortName', 'EncapOverhead',
  'Iov', 'ProviderAddress', 'InterfaceConstraint', 'TierAcl', 'Encryption', 'VLAN', 'InterfaceParameters',
]);

/** VXLAN on Windows only carries VNIs from 4096 up (compat/hns.md §2.1). */
export const MIN_WINDOWS_VSID = 4096;

const MAC_RE = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

function fail(call: string, hresult: number, message: string, context: Record<string, unknown>): never {
  throw new HnsError(call, hresult, message, context);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function isIpAddress(text: unknown): boolean {
  return typeof text === 'string' && (tryParseIp4(text) !== undefined || tryParseIp6(text) !== undefined);
}

export function isCidr(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    if (text.includes(':')) parseIp6Net(text);
    else parseIp4Net(text);
    return true;
  } catch {
    return false;
  }
}

export function isMac(text: unknown): boolean {
  return typeof text === 'string' && MAC_RE.test(text);
}

function checkSchemaVersion(call: string, doc: Record<string, unknown>): void {
  const sv = doc['SchemaVersion'];
  if (!isObject(sv) || typeof sv['Major'] !== 'number' || typeof sv['Minor'] !== 'number') {
    fail(call, HCN_E.INVALID_JSON, 'SchemaVersion {Major, Minor} is required', { field: 'SchemaVersion', value: sv });
  }
  if (sv['Major'] !== 2) fail(call, HCN_E.INVALID_JSON, 'only schema version 2 is supported', { field: 'SchemaVersion.Major', value: sv['Major'] });
}

function checkPolicyShape(call: string, policy: unknown, where: string): asserts policy is { Type: string; Settings: Record<string, unknown> } {
  if (!isObject(policy) || typeof policy['Type'] !== 'string') {
    fail(call, HCN_E.INVALID_JSON, 'a policy needs a string Type', { field: where, value: policy });
  }
  if (!isObject(policy['Settings'])) {
    fail(call, HCN_E.INVALID_JSON, 'a policy needs a Settings object', { field: `${where}.Settings`, policyType: policy['Type'], value: policy['Settings'] });
  }
}

/**
 * The largest ACL Priority the simulator accepts. The setting is a uint16, but Calico's CNI
 * found 65500 to be the largest value that works (compat/hns.md §4.1); what HNS does with
 * 65501-65535 is not documented (§8), so the simulator refuses them: an assumption, chosen so
 * that a rule set accepted here is one a real host accepts too.
 */
export const MAX_ACL_PRIORITY = 65500;

function checkAddressList(call: string, field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string') fail(call, HCN_E.INVALID_POLICY, 'ACL address lists are strings', { field, value });
  // An empty list means "any" to HNS (compat/netpol.md §5): accepted, and evaluated as any.
  if (value === '') return;
  // HNS accepts only literal IPs and CIDRs; keywords such as "Any" fail with INVALID_POLICY
  // (hcsshim #1059). "Any" is expressed by leaving the field out.
  if (/\bany\b/i.test(value)) fail(call, HCN_E.INVALID_POLICY, 'ACL address lists must not contain "Any"; omit the field instead', { field, value });
  for (const item of value.split(',')) {
    const part = item.trim();
    if (!isIpAddress(part) && !isCidr(part)) fail(call, HCN_E.INVALID_POLICY, 'ACL address list item is not an IP or CIDR', { field, value, item: part });
  }
}

/**
 * Ports: a comma list of numbers 0-65535. Ranges ("8000-8080") are sent to HNS only through v1
 * (Calico, feature AclPortRanges); whether v2 accepts them is unconfirmed (Azure NPM expands them
 * into comma lists; compat/hns.md §4.1, §8). The simulator refuses them: an assumption, so that a
 * rule set accepted here does not depend on the unconfirmed form.
 */
function checkPortList(call: string, field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string') fail(call, HCN_E.INVALID_POLICY, 'ACL port lists are strings', { field, value });
  for (const item of value.split(',')) {
    const part = item.trim();
    if (/^\d{1,5}-\d{1,5}$/.test(part)) {
      fail(call, HCN_E.INVALID_POLICY, 'ACL port ranges are not accepted by the simulator in HCN v2 (unconfirmed on Windows); list the ports', { field, value, item: part });
    }
    if (!/^\d{1,5}$/.test(part) || Number(part) > 65535) fail(call, HCN_E.INVALID_POLICY, 'ACL port list item is not a port number (0-65535)', { field, value, item: part });
  }
}

export function validateAclSettings(call: string, settings: Record<string, unknown>, where: string): void {
  if ('ID' in settings) fail(call, HCN_E.INVALID_POLICY, 'ACL rule id key is "Id", not "ID"', { field: `${where}.ID`, value: settings['ID'] });
  if (settings['Id'] !== undefined && typeof settings['Id'] !== 'string') fail(call, HCN_E.INVALID_POLICY, 'ACL Id is a string', { field: `${where}.Id`, value: settings['Id'] });
  if (settings['Action'] !== 'Allow' && settings['Action'] !== 'Block' && settings['Action'] !== 'Pass') {
    fail(call, HCN_E.INVALID_POLICY, 'ACL Action must be Allow, Block or Pass', { field: `${where}.Action`, value: settings['Action'] });
  }
  if (settings['Direction'] !== 'In' && settings['Direction'] !== 'Out') {
    fail(call, HCN_E.INVALID_POLICY, 'ACL Direction must be In or Out', { field: `${where}.Direction`, value: settings['Direction'] });
  }
  const ruleType = settings['RuleType'];
  if (ruleType !== undefined && ruleType !== 'Host' && ruleType !== 'Switch') {
    fail(call, HCN_E.INVALID_POLICY, 'ACL RuleType must be Host or Switch', { field: `${where}.RuleType`, value: ruleType });
  }
  const priority = settings['Priority'];
  if (priority !== undefined && (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > MAX_ACL_PRIORITY)) {
    fail(call, HCN_E.INVALID_POLICY, `ACL Priority must be an integer from 0 to ${MAX_ACL_PRIORITY}`, { field: `${where}.Priority`, value: priority });
  }
  // One protocol number a rule ("6", "17"; "256" = any). Every public sender sends one; a comma
  // list is unconfirmed (compat/hns.md §8), so the simulator refuses it (an assumption).
  const protocols = settings['Protocols'];
  if (protocols !== undefined && (typeof protocols !== 'string' || !/^\d{1,3}$/.test(protocols) || Number(protocols) > 256)) {
    fail(call, HCN_E.INVALID_POLICY, 'ACL Protocols is one protocol number as a string (0-255, or 256 for any)', { field: `${where}.Protocols`, value: protocols });
  }
  for (const field of ['LocalAddresses', 'RemoteAddresses'] as const) checkAddressList(call, `${where}.${field}`, settings[field]);
  for (const field of ['LocalPorts', 'RemotePorts'] as const) checkPortList(call, `${where}.${field}`, settings[field]);
}

/** Checks one network policy; `where` names its position for the error context. */
export function validateNetworkPolicy(call: string, policy: unknown, where: string): asserts policy is NetworkPolicy {
  checkPolicyShape(call, policy, where);
  const { Type: type, Settings: s } = policy;
  if (!NETWORK_POLICY_TYPES.has(type)) fail(call, HCN_E.INVALID_POLICY_TYPE, 'unknown network policy type', { field: `${where}.Type`, value: type });
  const bad = (field: string, message: string): never =>
    fail(call, HCN_E.INVALID_POLICY, message, { field: `${where}.Settings.${field}`, policyType: type, value: s[field] });
  switch (type) {
    case 'RemoteSubnetRoute':
      if (!isCidr(s['DestinationPrefix'])) bad('DestinationPrefix', 'DestinationPrefix must be a CIDR');
      if (!Number.isInteger(s['IsolationId']) || (s['IsolationId'] as number) < MIN_WINDOWS_VSID) bad('IsolationId', `IsolationId must be an integer >= ${MIN_WINDOWS_VSID}`);
      if (!isIpAddress(s['ProviderAddress'])) bad('ProviderAddress', 'ProviderAddress must be an IP address');
      if (!isMac(s['DistributedRouterMacAddress'])) bad('DistributedRouterMacAddress', 'DistributedRouterMacAddress must be a MAC address');
      break;
    case 'ProviderAddress':
      if (!isIpAddress(s['ProviderAddress'])) bad('ProviderAddress', 'ProviderAddress must be an IP address');
      break;
    case 'DrMacAddress':
      if (!isMac(s['Address'])) bad('Address', 'Address must be a MAC address');
      break;
    case 'SourceMacAddress':
      if (!isMac(s['SourceMacAddress'])) bad('SourceMacAddress', 'SourceMacAddress must be a MAC address');
      break;
    case 'NetAdapterName':
      if (typeof s['NetworkAdapterName'] !== 'string' || s['NetworkAdapterName'] === '') bad('NetworkAdapterName', 'NetworkAdapterName must be a non-empty string');
      break;
    case 'VxlanPort':
      if (!Number.isInteger(s['Port']) || (s['Port'] as number) < 1 || (s['Port'] as number) > 65535) bad('Port', 'Port must be a uint16');
      break;
    case 'HostRoute':
      if (Object.keys(s).length !== 0) bad(Object.keys(s)[0] ?? '', 'HostRoute settings are the empty object');
      break;
    case 'NetworkACL':
      validateAclSettings(call, s, `${where}.Settings`);
      break;
    default:
      break;
  }
}

export function validateEndpointPolicy(call: string, policy: unknown, where: string): asserts policy is EndpointPolicy {
  checkPolicyShape(call, policy, where);
  const { Type: type, Settings: s } = policy;
  if (!ENDPOINT_POLICY_TYPES.has(type)) fail(call, HCN_E.INVALID_POLICY_TYPE, 'unknown endpoint policy type', { field: `${where}.Type`, value: type });
  if (type === 'ACL') validateAclSettings(call, s, `${where}.Settings`);
  if (type === 'ProviderAddress' && !isIpAddress(s['ProviderAddress'])) {
    fail(call, HCN_E.INVALID_POLICY, 'ProviderAddress must be an IP address', { field: `${where}.Settings.ProviderAddress`, value: s['ProviderAddress'] });
  }
  if (type === 'SDNRoute' && !isCidr(s['DestinationPrefix'])) {
    fail(call, HCN_E.INVALID_POLICY, 'SDNRoute DestinationPrefix must be a CIDR', { field: `${where}.Settings.DestinationPrefix`, value: s['DestinationPrefix'] });
  }
}

function checkPolicies(call: string, policies: unknown, where: string, check: (call: string, p: unknown, where: string) => void): void {
  if (policies === undefined) return;
  if (!Array.isArray(policies)) fail(call, HCN_E.INVALID_JSON, 'Policies must be an array', { field: where, value: policies });
  policies.forEach((p, i) => check(call, p, `${where}[${i}]`));
}

/** Validates a network document as HcnCreateNetwork receives it. */
export function validateNetworkDocument(call: string, doc: unknown): asserts doc is HostComputeNetwork {
  if (!isObject(doc)) fail(call, HCN_E.INVALID_JSON, 'network document must be a JSON object', { value: doc });
  checkSchemaVersion(call, doc);
  if (typeof doc['Name'] !== 'string' || doc['Name'] === '') fail(call, HCN_E.INVALID_JSON, 'network Name is required', { field: 'Name', value: doc['Name'] });
  const type = doc['Type'] ?? 'NAT';
  if (typeof type !== 'string' || !NETWORK_TYPES.has(type)) fail(call, HCN_E.INVALID_NETWORK_TYPE, 'unknown network Type', { field: 'Type', value: type, network: doc['Name'] });
  if (doc['Flags'] !== undefined && !Number.isInteger(doc['Flags'])) fail(call, HCN_E.INVALID_JSON, 'Flags is an integer', { field: 'Flags', value: doc['Flags'] });
  checkPolicies(call, doc['Policies'], 'Policies', validateNetworkPolicy);
  const ipams = doc['Ipams'];
  if (ipams === undefined) return;
  if (!Array.isArray(ipams)) fail(call, HCN_E.INVALID_JSON, 'Ipams must be an array', { field: 'Ipams', value: ipams });
  ipams.forEach((ipam, i) => {
    if (!isObject(ipam) || (ipam['Type'] !== 'Static' && ipam['Type'] !== 'Dhcp') || !Array.isArray(ipam['Subnets'] ?? [])) {
      fail(call, HCN_E.INVALID_JSON, 'an Ipam is {Type: Static|Dhcp, Subnets: []}', { field: `Ipams[${i}]`, value: ipam });
    }
    ((ipam['Subnets'] ?? []) as unknown[]).forEach((subnet, j) => validateSubnet(call, type, subnet, `Ipams[${i}].Subnets[${j}]`));
  });
}

function validateSubnet(call: string, networkType: string, subnet: unknown, where: string): void {
  if (!isObject(subnet)) fail(call, HCN_E.INVALID_JSON, 'a subnet must be an object', { field: where, value: subnet });
  const prefix = subnet['IpAddressPrefix'];
  if (prefix !== undefined && !isCidr(prefix)) fail(call, HCN_E.INVALID_SUBNET, 'IpAddressPrefix must be a CIDR', { field: `${where}.IpAddressPrefix`, value: prefix });
  const routes = subnet['Routes'] ?? [];
  if (!Array.isArray(routes)) fail(call, HCN_E.INVALID_JSON, 'Routes must be an array', { field: `${where}.Routes`, value: routes });
  routes.forEach((r, k) => {
    if (!isObject(r) || !isCidr(r['DestinationPrefix']) || (r['NextHop'] !== undefined && !isIpAddress(r['NextHop']))) {
      fail(call, HCN_E.INVALID_SUBNET, 'a subnet route is {NextHop: IP, DestinationPrefix: CIDR}', { field: `${where}.Routes[${k}]`, value: r });
    }
  });
  // hcsshim refuses a prefixed subnet without a default route carrying a NextHop before it
  // reaches HNS; the overlay driver needs that gateway, so we enforce it for Overlay networks.
  if (networkType === 'Overlay' && prefix !== undefined) {
    const hasDefault = routes.some((r) => isObject(r) && (r['DestinationPrefix'] === '0.0.0.0/0' || r['DestinationPrefix'] === '::/0') && isIpAddress(r['NextHop']));
    if (!hasDefault) fail(call, HCN_E.INVALID_SUBNET, 'an Overlay subnet needs a default route (0.0.0.0/0) with a NextHop', { field: `${where}.Routes`, value: routes, subnet: prefix });
  }
  const policies = subnet['Policies'] ?? [];
  if (!Array.isArray(policies)) fail(call, HCN_E.INVALID_JSON, 'subnet Policies must be an array', { field: `${where}.Policies`, value: policies });
  policies.forEach((p, k) => {
    const field = `${where}.Policies[${k}]`;
    if (!isObject(p) || (p['Type'] !== 'VSID' && p['Type'] !== 'VLAN') || !isObject(p['Settings']) || !Number.isInteger(p['Settings']['IsolationId'])) {
      fail(call, HCN_E.INVALID_POLICY, 'a subnet policy is {Type: VSID|VLAN, Settings: {IsolationId: integer}}', { field, value: p });
    }
    if (p['Type'] === 'VSID' && (p['Settings'] as Record<string, number>)['IsolationId']! < MIN_WINDOWS_VSID) {
      fail(call, HCN_E.INVALID_POLICY, `VSID IsolationId must be >= ${MIN_WINDOWS_VSID}`, { field: `${field}.Settings.IsolationId`, value: (p['Settings'] as Record<string, unknown>)['IsolationId'] });
    }
  });
}

/** Validates an endpoint document as HcnCreateEndpoint receives it. */
export function validateEndpointDocument(call: string, doc: unknown): asserts doc is HostComputeEndpoint {
  if (!isObject(doc)) fail(call, HCN_E.INVALID_JSON, 'endpoint document must be a JSON object', { value: doc });
  checkSchemaVersion(call, doc);
  if (doc['HostComputeNamespace'] !== undefined) {
    fail(call, HCN_E.INVALID_JSON, 'HostComputeNamespace is read-only and must not be set on create', { field: 'HostComputeNamespace', value: doc['HostComputeNamespace'] });
  }
  if (doc['Name'] !== undefined && typeof doc['Name'] !== 'string') fail(call, HCN_E.INVALID_JSON, 'Name must be a string', { field: 'Name', value: doc['Name'] });
  if (doc['MacAddress'] !== undefined && !isMac(doc['MacAddress'])) fail(call, HCN_E.INVALID_JSON, 'MacAddress must be a MAC address', { field: 'MacAddress', value: doc['MacAddress'] });
  if (doc['Flags'] !== undefined && !Number.isInteger(doc['Flags'])) fail(call, HCN_E.INVALID_JSON, 'Flags is an integer', { field: 'Flags', value: doc['Flags'] });
  const ipConfigs = doc['IpConfigurations'] ?? [];
  if (!Array.isArray(ipConfigs)) fail(call, HCN_E.INVALID_JSON, 'IpConfigurations must be an array', { field: 'IpConfigurations', value: ipConfigs });
  ipConfigs.forEach((c, i) => {
    if (!isObject(c) || !isIpAddress(c['IpAddress'])) fail(call, HCN_E.INVALID_IP, 'IpAddress must be an IP address', { field: `IpConfigurations[${i}].IpAddress`, value: isObject(c) ? c['IpAddress'] : c });
  });
  checkPolicies(call, doc['Policies'], 'Policies', validateEndpointPolicy);
}

/** A modify request's outer shape; the policies inside are checked by the caller's validator. */
export function validateModifyRequest(call: string, request: unknown): asserts request is { ResourceType: string; RequestType: string; Settings: { Policies: unknown[] } } {
  if (!isObject(request)) fail(call, HCN_E.INVALID_JSON, 'modify request must be a JSON object', { value: request });
  if (typeof request['ResourceType'] !== 'string' || typeof request['RequestType'] !== 'string') {
    fail(call, HCN_E.INVALID_JSON, 'modify request needs ResourceType and RequestType', { value: request });
  }
  const settings = request['Settings'];
  if (!isObject(settings) || !Array.isArray(settings['Policies'])) {
    fail(call, HCN_E.INVALID_JSON, 'modify request Settings.Policies must be an array', { field: 'Settings.Policies', value: settings });
  }
}
