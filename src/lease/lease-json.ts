import { boundText, quoteValue, QUOTED_VALUE_MAX } from '../bounded-text.js';
import { FlannelWinError } from '../errors.js';
import { formatIp4, formatIp6, tryParseIp4, tryParseIp6 } from '../net/ip.js';
import type { LeaseAttrs } from './types.js';

/** A lease value that flannel could not decode either (or that we cannot encode). */
export class LeaseJsonError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>) {
    super('LEASE_JSON_INVALID', message, context);
  }
}

// Go's encoder escapes these even inside otherwise valid JSON (its default HTML-safe mode).
const GO_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** A JSON string literal exactly as Go's encoding/json writes it. */
function goQuote(text: string): string {
  return JSON.stringify(text)
    .replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c)
    .replace(/\\b/g, '\\u0008')
    .replace(/\\f/g, '\\u000c');
}

/**
 * Compacts raw JSON text as Go's encoder does for a json.RawMessage: drops insignificant
 * whitespace, keeps number and string text otherwise untouched, escapes HTML-sensitive runes.
 * Re-serialising with JSON.stringify would not do: it rewrites numbers such as 1.0 or 1e3.
 */
export function compactJson(text: string, context: Record<string, unknown> = {}): string {
  try {
    JSON.parse(text);
  } catch (err) {
    throw new LeaseJsonError(`invalid JSON in backend data: ${(err as Error).message}`, { ...context, text: boundText(text, QUOTED_VALUE_MAX) });
  }
  return compactValidJson(text);
}

/**
 * compactJson for text already known to be valid JSON (a member of a parsed document). The text
 * is copied in spans between the characters dropped or escaped, and the result is a string of
 * its own: the text is usually a slice of the whole lease value, which V8 would keep alive for
 * as long as the lease is held, and appending a character at a time leaves a tree of ~40 string
 * pieces (V8 keeps concatenations as trees): ~1 KB a lease at 20,000 leases, not ~70 bytes.
 */
function compactValidJson(text: string): string {
  const parts: string[] = [];
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      if (c === '\\') {
        i++; // an escape sequence is kept as written
      } else if (c === '"') {
        inString = false;
      } else if (GO_ESCAPES[c] !== undefined) {
        parts.push(text.slice(from, i), GO_ESCAPES[c]);
        from = i + 1;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return structuredClone(parts.join(''));
}

/**
 * The lease value flannel writes (`json.Marshal(lease.LeaseAttrs)`), byte for byte: field order
 * PublicIP, PublicIPv6 (null when absent), BackendType (omitted when ""), BackendData and
 * BackendV6Data (compacted, omitted when empty).
 */
export function encodeLeaseAttrs(attrs: LeaseAttrs): string {
  const publicIp = tryParseIp4(attrs.publicIp);
  if (publicIp === undefined) throw new LeaseJsonError(`PublicIP ${quoteValue(attrs.publicIp)} is not an IPv4 address`, { publicIp: boundText(attrs.publicIp, QUOTED_VALUE_MAX) });
  let out = `{"PublicIP":${goQuote(formatIp4(publicIp))}`;
  if (attrs.publicIpv6 === null) {
    out += ',"PublicIPv6":null';
  } else {
    const ipv6 = tryParseIp6(attrs.publicIpv6);
    if (ipv6 === undefined) throw new LeaseJsonError(`PublicIPv6 ${quoteValue(attrs.publicIpv6)} is not an IPv6 address`, { publicIpv6: boundText(attrs.publicIpv6, QUOTED_VALUE_MAX) });
    out += `,"PublicIPv6":${goQuote(formatIp6(ipv6))}`;
  }
  if (attrs.backendType !== '') out += `,"BackendType":${goQuote(attrs.backendType)}`;
  if (attrs.backendData !== undefined && attrs.backendData !== '') {
    out += `,"BackendData":${compactJson(attrs.backendData, { field: 'BackendData' })}`;
  }
  if (attrs.backendV6Data !== undefined && attrs.backendV6Data !== '') {
    out += `,"BackendV6Data":${compactJson(attrs.backendV6Data, { field: 'BackendV6Data' })}`;
  }
  return out + '}';
}

/** Index just past the JSON string starting at `i` (which is a `"`). */
function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

/** Index just past the JSON value starting at `i`; the text is known to be valid JSON. */
function skipValue(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"') {
      j = skipString(text, j) - 1;
      if (depth === 0) return j + 1;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return j + 1;
      if (depth < 0) return j;
    } else if (depth === 0 && (c === ',' || c === ' ' || c === '\t' || c === '\n' || c === '\r')) {
      return j;
    }
  }
  return text.length;
}

/**
 * The raw text of each top-level member of a JSON object, as Go's json.RawMessage keeps it, so
 * BackendData written by a peer is stored byte for byte (JSON.parse would turn 1.0 into 1).
 * Later duplicates win, as in Go. Only call on text JSON.parse accepted as an object.
 */
function rawMembers(text: string): Map<string, string> {
  const members = new Map<string, string>();
  let i = text.indexOf('{') + 1;
  for (;;) {
    while (i < text.length && text[i] !== '"' && text[i] !== '}') i++;
    if (i >= text.length || text[i] === '}') return members;
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = text.indexOf(':', keyEnd) + 1;
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
    const valueEnd = skipValue(text, i);
    members.set(key, text.slice(i, valueEnd));
    i = valueEnd;
  }
}

type LeaseField = 'PublicIP' | 'PublicIPv6' | 'BackendType' | 'BackendData' | 'BackendV6Data';
const LEASE_FIELDS = new Map<string, LeaseField>(
  (['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data'] as const).map((f) => [f.toLowerCase(), f]),
);

/**
 * Decodes a lease value with flannel's rules: keys case-insensitive, PublicIP must be an IPv4
 * address (a missing one stays 0.0.0.0, a null one is an error), PublicIPv6 may be null or
 * absent but not "", BackendData is kept as compact JSON text. `context` names the etcd key or
 * node the value came from, for the error. The text is parsed once: BackendData is cut out of
 * it as written, not parsed again. Values quoted in errors are bounded (a peer controls them).
 */
export function decodeLeaseAttrs(text: string, context: Record<string, unknown> = {}): LeaseAttrs {
  const fail = (problem: string, extra: Record<string, unknown> = {}): never => {
    const where = typeof context.key === 'string' ? ` at ${boundText(context.key, QUOTED_VALUE_MAX)}` : '';
    throw new LeaseJsonError(`invalid lease value${where}: ${problem}`, { ...context, ...extra });
  };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    // V8's message quotes at most a few dozen characters of the text.
    return fail(`malformed JSON: ${(err as Error).message}`, { value: boundText(text, QUOTED_VALUE_MAX) });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return fail('expected a JSON object', { value: boundText(text, QUOTED_VALUE_MAX) });
  }
  const attrs: LeaseAttrs = { publicIp: '0.0.0.0', publicIpv6: null, backendType: '', backendData: undefined, backendV6Data: undefined };
  const raw = rawMembers(text);
  for (const [key, value] of Object.entries(document)) {
    const field = LEASE_FIELDS.get(key.toLowerCase());
    if (field === undefined) continue;
    switch (field) {
      case 'PublicIP': {
        const ip = typeof value === 'string' ? tryParseIp4(value) : undefined;
        if (ip === undefined) fail(`PublicIP ${quoteValue(value)} is not an IPv4 address`, { field });
        attrs.publicIp = formatIp4(ip as number);
        break;
      }
      case 'PublicIPv6': {
        if (value === null) {
          attrs.publicIpv6 = null;
          break;
        }
        const ip = typeof value === 'string' ? tryParseIp6(value) : undefined;
        if (ip === undefined) fail(`PublicIPv6 ${quoteValue(value)} is not an IPv6 address`, { field });
        attrs.publicIpv6 = formatIp6(ip as bigint);
        break;
      }
      case 'BackendType':
        if (value === null) break;
        if (typeof value !== 'string') fail(`BackendType ${quoteValue(value)} is not a string`, { field });
        attrs.backendType = value as string;
        break;
      case 'BackendData':
        attrs.backendData = compactValidJson(raw.get(key) ?? JSON.stringify(value));
        break;
      case 'BackendV6Data':
        attrs.backendV6Data = compactValidJson(raw.get(key) ?? JSON.stringify(value));
        break;
    }
  }
  return attrs;
}
