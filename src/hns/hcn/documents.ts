import { forEachInSlices } from '../../async/in-slices.js';
import { FlannelWinError } from '../../errors.js';
import { jsonObjectParts } from '../../json/json-object-parts.js';
import { isGuid, normalizeGuid } from '../guid.js';
import type { HostComputeEndpoint, HostComputeNetwork } from '../types.js';

/**
 * The JSON texts the driver sends to HCN and the parsing of what comes back. Pure: the exact bytes
 * of a document are decided here, so tests can hold them to what hcsshim sends.
 */

export class HcnDocumentError extends FlannelWinError {
  constructor(call: string, detail: string, text: string) {
    super('HNS_BAD_DOCUMENT', `${call}: ${detail}`, { call, text: text.length > 512 ? `${text.slice(0, 512)}…` : text });
  }
}

/** A network as sent to HcnCreateNetwork: everything but the read-only Health. */
export function networkCreateDocument(network: HostComputeNetwork): string {
  const { Health: _health, ...sent } = network;
  return JSON.stringify(sent);
}

/**
 * An endpoint as sent to HcnCreateEndpoint: bound to its network by `HostComputeNetwork` (as
 * hcsshim's network.CreateEndpoint does), without the read-only HostComputeNamespace and Health,
 * which HNS rejects on create.
 */
export function endpointCreateDocument(networkId: string, endpoint: HostComputeEndpoint): string {
  const { HostComputeNamespace: _namespace, Health: _health, HostComputeNetwork: _network, ...rest } = endpoint;
  return JSON.stringify({ ...rest, HostComputeNetwork: networkId });
}

function parseObject(call: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HcnDocumentError(call, 'properties are not JSON', text);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HcnDocumentError(call, 'properties are not a JSON object', text);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Above this many characters a document is parsed policy by policy, giving the event loop back
 * between slices: an overlay network carries one RemoteSubnetRoute per peer (~180 characters
 * each, ~3.6 MB at 20,000 peers, tens of milliseconds for one JSON.parse), an endpoint up to
 * thousands of ACLs.
 */
export const SLICED_PARSE_CHARS = 64 * 1024;

/**
 * Parses a properties document as JSON.parse would, but the elements of its `Policies` array
 * one at a time, in slices (`sliceItems` caps a slice's element count, for tests).
 */
async function parseObjectInSlices(call: string, text: string, sliceItems?: number): Promise<Record<string, unknown>> {
  if (text.length < SLICED_PARSE_CHARS && sliceItems === undefined) return parseObject(call, text);
  const fields: Record<string, unknown> = {};
  let policies: unknown[] = [];
  try {
    await forEachInSlices(jsonObjectParts(text, 'Policies'), (part) => {
      if (part.kind === 'member') fields[part.name] = part.value;
      else if (part.kind === 'array') fields[part.name] = policies = [];
      else policies.push(JSON.parse(part.text));
    }, sliceItems === undefined ? {} : { maxItems: sliceItems });
  } catch (err) {
    if (err instanceof SyntaxError) throw new HcnDocumentError(call, 'properties are not a JSON object', text);
    throw err;
  }
  return fields;
}

/** HNS leaves `Type` out for NAT networks (mode 0); hcsshim fills in NAT, and so do we. */
export async function parseNetwork(call: string, text: string, sliceItems?: number): Promise<HostComputeNetwork> {
  const fields = await parseObjectInSlices(call, text, sliceItems);
  if (fields['Type'] === undefined) fields['Type'] = 'NAT';
  return fields as unknown as HostComputeNetwork;
}

export async function parseEndpoint(call: string, text: string, sliceItems?: number): Promise<HostComputeEndpoint> {
  return (await parseObjectInSlices(call, text, sliceItems)) as unknown as HostComputeEndpoint;
}

/** HcnEnumerate* output: a JSON array of GUID strings (an empty result may come back as no text). */
export function parseIdList(call: string, text: string): string[] {
  if (text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HcnDocumentError(call, 'ID list is not JSON', text);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every((id): id is string => typeof id === 'string' && isGuid(id))) {
    throw new HcnDocumentError(call, 'ID list is not an array of GUIDs', text);
  }
  return parsed.map(normalizeGuid);
}
