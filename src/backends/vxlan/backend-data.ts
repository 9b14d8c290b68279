import { FlannelWinError } from '../../errors.js';
import { normalizeMac } from '../../net/mac.js';

export interface VxlanBackendData {
  vni: number;
  /** Lowercase colon form, or "" while the node has not published its MAC yet. */
  vtepMac: string;
}

/** flannel's compact form with key order VNI, VtepMAC: `{"VNI":4096,"VtepMAC":"aa:bb:..."}`. */
export function encodeVxlanBackendData(data: VxlanBackendData): string {
  return JSON.stringify({ VNI: data.vni, VtepMAC: data.vtepMac });
}

export class BackendDataError extends FlannelWinError {
  constructor(message: string, context: Record<string, unknown>) {
    super('VXLAN_BACKEND_DATA', message, context);
  }
}

/**
 * Decodes a peer's vxlan BackendData as flannel's Windows backend does (VNI as uint16,
 * VtepMAC must be a string that parses as a MAC; keys case-insensitive as Go decodes them).
 */
export function decodeVxlanBackendData(text: string | undefined): VxlanBackendData {
  if (text === undefined || text === '' || text === 'null') {
    throw new BackendDataError('vxlan lease has no BackendData', { backendData: text ?? null });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BackendDataError(`vxlan BackendData is not JSON: ${(err as Error).message}`, { backendData: text });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BackendDataError('vxlan BackendData is not a JSON object', { backendData: text });
  }
  let vni: unknown = 0;
  let mac: unknown;
  for (const [key, value] of Object.entries(parsed)) {
    const k = key.toLowerCase();
    if (k === 'vni') vni = value;
    else if (k === 'vtepmac') mac = value;
  }
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 0 || vni > 0xffff) {
    throw new BackendDataError(`vxlan BackendData VNI ${JSON.stringify(vni)} is not a 16-bit unsigned integer`, { backendData: text });
  }
  if (typeof mac !== 'string') {
    throw new BackendDataError('vxlan BackendData VtepMAC is missing or not a string', { backendData: text });
  }
  if (mac === '') return { vni, vtepMac: '' };
  const normalized = normalizeMac(mac);
  if (!normalized) throw new BackendDataError(`vxlan BackendData VtepMAC "${mac}" is not a MAC address`, { backendData: text });
  return { vni, vtepMac: normalized };
}
