/**
 * The HNS v1 response envelope `{"Success":bool,"Error":"<text>","ErrorCode":n,"Output":<json>}`.
 * HNSCall may return S_OK with Success:false, so the envelope, not the HRESULT, says whether the
 * request worked.
 */
export interface V1Response {
  success: boolean;
  error?: string;
  errorCode?: number;
  output?: unknown;
}

/** undefined when the text is not an envelope at all (the caller then reports the raw text). */
export function parseV1Response(text: string): V1Response | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const fields = parsed as Record<string, unknown>;
  if (typeof fields['Success'] !== 'boolean') return undefined;
  const response: V1Response = { success: fields['Success'] };
  if (typeof fields['Error'] === 'string' && fields['Error'] !== '') response.error = fields['Error'];
  if (typeof fields['ErrorCode'] === 'number') response.errorCode = fields['ErrorCode'] >>> 0;
  if (fields['Output'] !== undefined) response.output = fields['Output'];
  return response;
}
