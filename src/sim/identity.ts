import { randomBytes, randomUUID } from 'node:crypto';
import { randomBytesFrom } from './seeded-random.js';

/**
 * Where the simulator gets fresh GUIDs and MAC addresses. Tests pass a deterministic source; the
 * default uses the OS random generator.
 */
export interface IdSource {
  /** A GUID in the text form HNS prints in v2 JSON: lowercase, dashed, no braces. */
  guid(): string;
  /** A MAC in HNS's dash form under Hyper-V's OUI, e.g. "00-15-5D-3A-07-C1". */
  hyperVMac(): string;
}

export function cryptoIdSource(): IdSource {
  return {
    guid: () => randomUUID(),
    hyperVMac: () => hyperVMacFromBytes(randomBytes(3)),
  };
}

/** Ids drawn from a (seeded) random source: the same seed gives the same GUIDs and MACs. */
export function idSourceFrom(random: () => number): IdSource {
  return {
    guid: () => {
      const b = randomBytesFrom(random, 16);
      b[6] = (b[6]! & 0x0f) | 0x40; // version 4
      b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
      const hex = Buffer.from(b).toString('hex');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
    hyperVMac: () => hyperVMacFromBytes(randomBytesFrom(random, 3)),
  };
}

/** Hyper-V hands out dynamic MACs from Microsoft's 00-15-5D OUI; HNS prints them upper case. */
export function hyperVMacFromBytes(tail: Uint8Array): string {
  const parts = ['00', '15', '5D'];
  for (let i = 0; i < 3; i++) parts.push((tail[i] ?? 0).toString(16).toUpperCase().padStart(2, '0'));
  return parts.join('-');
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * HNS parses GUIDs case-insensitively (and tolerates braces), so lookups normalise the caller's
 * text the same way; undefined when the text is not a GUID at all.
 */
export function normaliseGuid(text: string): string | undefined {
  const bare = text.startsWith('{') && text.endsWith('}') ? text.slice(1, -1) : text;
  return GUID_RE.test(bare) ? bare.toLowerCase() : undefined;
}

/**
 * A policy's identity for equality: its Type plus its Settings serialised with sorted keys, so
 * two documents that differ only in key order match (HNS compares values, not JSON text).
 */
export function policyIdentity(policy: { Type: string; Settings?: unknown }): string {
  // Joined, not a template: V8 keeps a concatenation as a pair of strings, and a set of 20,000
  // routes holds each identity as a key.
  return [policy.Type, canonicalJson(policy.Settings ?? {})].join('\u0000');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
