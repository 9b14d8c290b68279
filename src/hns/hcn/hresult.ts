import { HnsError } from '../client.js';

/**
 * HRESULT rules of the HCN/HNS C APIs, as hcsshim applies them: a call failed when the HRESULT
 * is negative or when it handed back a non-empty error record (HNS sometimes reports S_OK with a
 * record); FACILITY_WIN32 codes are reduced to their Win32 code (0x80070490 → 1168).
 */

export function isFailedHresult(hr: number): boolean {
  return (hr | 0) < 0;
}

export function reduceHresult(hr: number): number {
  const code = hr >>> 0;
  return (code & 0x1fff0000) === 0x00070000 ? code & 0xffff : code;
}

export function callFailed(hr: number, errorRecord: string | undefined): boolean {
  return isFailedHresult(hr) || (errorRecord !== undefined && errorRecord.trim() !== '');
}

export interface ErrorRecordSummary {
  message?: string;
  code?: number;
}

/**
 * HCN error records are opaque text by contract (hcsshim never parses them); when one is JSON of
 * the HNS `Response`/HCS result shape we lift its message and code for a readable error.
 */
export function summarizeErrorRecord(record: string | undefined): ErrorRecordSummary {
  if (record === undefined || record.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(record);
  } catch {
    return { message: record.trim() };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { message: record.trim() };
  const fields = parsed as Record<string, unknown>;
  const summary: ErrorRecordSummary = {};
  const message = [fields['ErrorMessage'], fields['Error'], fields['Message']].find((v) => typeof v === 'string' && v !== '');
  if (typeof message === 'string') summary.message = message;
  const code = [fields['ErrorCode'], fields['Error']].find((v) => typeof v === 'number' && v !== 0);
  if (typeof code === 'number') summary.code = code >>> 0;
  return summary;
}

/**
 * The HnsError for a failed call. With S_OK and a record, the record's own code (if any) stands
 * in, so a not-found reported that way is still classified as not-found.
 */
export function hnsCallError(call: string, hr: number, errorRecord: string | undefined, context: Record<string, unknown>): HnsError {
  const summary = summarizeErrorRecord(errorRecord);
  const raw = isFailedHresult(hr) ? hr >>> 0 : (summary.code ?? hr >>> 0);
  const message = summary.message ?? 'call failed';
  return new HnsError(call, reduceHresult(raw), message, { ...context, rawHresult: `0x${raw.toString(16)}` }, errorRecord);
}
