import { randomBytes } from 'node:crypto';
import { FlannelWinError } from '../errors.js';

/**
 * GUIDs as HNS speaks them: text in JSON documents, 16 bytes behind a `REFGUID` pointer in the C
 * API. The byte form follows the Windows GUID struct: Data1 (u32), Data2 (u16) and Data3 (u16)
 * little-endian, Data4 (8 bytes) in the order written. So the first three dash groups of the
 * text come out byte-swapped: `01020304-0506-0708-...` → `04 03 02 01 06 05 08 07 ...`.
 */

export class GuidFormatError extends FlannelWinError {
  constructor(value: string) {
    super('GUID_INVALID', `not a GUID: ${JSON.stringify(value)}`, { value });
  }
}

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

// HNS prints GUIDs in upper case and sometimes in braces; accept both, emit lower case bare.
const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

export function isGuid(text: string): boolean {
  return GUID_TEXT.test(text);
}

/** Canonical form: lower case, no braces. Throws GuidFormatError. */
export function normalizeGuid(text: string): string {
  return guidFromBytes(guidToBytes(text));
}

export function guidToBytes(text: string): Uint8Array {
  const m = GUID_TEXT.exec(text);
  if (!m) throw new GuidFormatError(text);
  const hex = (m[1] ?? '') + (m[2] ?? '') + (m[3] ?? '') + (m[4] ?? '') + (m[5] ?? '');
  const written = Buffer.from(hex, 'hex');
  const bytes = new Uint8Array(16);
  // Data1, Data2, Data3 are stored little-endian; Data4 as written.
  bytes.set([written[3]!, written[2]!, written[1]!, written[0]!], 0);
  bytes.set([written[5]!, written[4]!], 4);
  bytes.set([written[7]!, written[6]!], 6);
  bytes.set(written.subarray(8, 16), 8);
  return bytes;
}

export function guidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new FlannelWinError('GUID_INVALID', `a GUID is 16 bytes, got ${bytes.length}`, { length: bytes.length });
  }
  const h = (i: number): string => bytes[i]!.toString(16).padStart(2, '0');
  const data1 = h(3) + h(2) + h(1) + h(0);
  const data2 = h(5) + h(4);
  const data3 = h(7) + h(6);
  const data4a = h(8) + h(9);
  const data4b = [10, 11, 12, 13, 14, 15].map(h).join('');
  return `${data1}-${data2}-${data3}-${data4a}-${data4b}`;
}

export function isZeroGuid(text: string): boolean {
  return guidToBytes(text).every((b) => b === 0);
}

/** A random (version 4, RFC 4122 variant) GUID; `random` is injectable for tests. */
export function randomGuid(random: (size: number) => Uint8Array = randomBytes): string {
  const r = random(16);
  if (r.length !== 16) throw new FlannelWinError('GUID_INVALID', 'random source returned the wrong length', { length: r.length });
  const hex = Buffer.from(r).toString('hex').split('');
  // Version nibble is the first of the third group; variant bits lead the fourth group.
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
