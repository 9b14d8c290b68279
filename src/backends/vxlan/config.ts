import { FlannelWinError } from '../../errors.js';

/** The `Backend` section of net-conf.json for vxlan, as flannel's Windows backend reads it. */
export interface VxlanConfig {
  /** HNS network name; flannel's default is `flannel.<VNI>` (deployments often set "vxlan0"). */
  name: string;
  /** VXLAN network identifier; ≥ 4096 on Windows (flannel's Linux default of 1 is rejected). */
  vni: number;
  /** UDP port; Windows supports only 4789. */
  port: number;
  /** Validated for compatibility; unused since flannel moved to RemoteSubnetRoute policies. */
  macPrefix: string;
  /** Keys that have no effect on Windows (Linux-only or unknown), as written, for a warning. */
  ignored: string[];
}

export const WINDOWS_MIN_VNI = 4096;
export const WINDOWS_VXLAN_PORT = 4789;
/** Lease BackendData carries the VNI as a Go uint16 on both OSes. */
const MAX_LEASE_VNI = 65535;

export class VxlanConfigError extends FlannelWinError {
  constructor(message: string, field: string, value: unknown) {
    super('VXLAN_CONFIG', message, { field, value });
  }
}

type Field = 'type' | 'name' | 'macprefix' | 'vni' | 'port' | 'gbp' | 'directrouting';
const FIELDS = new Set<string>(['type', 'name', 'macprefix', 'vni', 'port', 'gbp', 'directrouting']);

/** Go's encoding/json into an int: a JSON number without fraction, within int64. */
function goInt(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new VxlanConfigError(`error decoding VXLAN backend config: ${key} must be an integer, got ${JSON.stringify(value)}`, key, value);
  }
  return value;
}

function goBool(key: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new VxlanConfigError(`error decoding VXLAN backend config: ${key} must be true or false, got ${JSON.stringify(value)}`, key, value);
  }
  return value;
}

function goString(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new VxlanConfigError(`error decoding VXLAN backend config: ${key} must be a string, got ${JSON.stringify(value)}`, key, value);
  }
  return value;
}

/**
 * Decodes and validates the vxlan Backend object like flannel's vxlan_windows.go: keys match
 * case-insensitively (Go encoding/json; the last of several spellings wins), null leaves the
 * default, and the Windows rules apply (VNI ≥ 4096, Port 4789, no GBP/DirectRouting, MacPrefix
 * "xx-xx"). Differences: a VNI above 65535 is rejected, because flannel silently truncates it to
 * 16 bits in the lease while HNS uses the full value; unknown keys are reported in `ignored`.
 */
export function parseVxlanConfig(backend: Readonly<Record<string, unknown>> | undefined): VxlanConfig {
  let name = '';
  let vni = WINDOWS_MIN_VNI;
  let port = WINDOWS_VXLAN_PORT;
  let macPrefix = '0E-2A';
  let gbp = false;
  let directRouting = false;
  const ignored: string[] = [];

  for (const [key, value] of Object.entries(backend ?? {})) {
    const folded = key.toLowerCase();
    if (!FIELDS.has(folded)) {
      // MTU and Learning are Linux vxlan options; anything else is unknown to flannel too.
      ignored.push(key);
      continue;
    }
    if (value === null) continue;
    switch (folded as Field) {
      case 'type':
        break;
      case 'name':
        name = goString(key, value);
        break;
      case 'macprefix':
        macPrefix = goString(key, value);
        break;
      case 'vni':
        vni = goInt(key, value);
        break;
      case 'port':
        port = goInt(key, value);
        break;
      case 'gbp':
        gbp = goBool(key, value);
        if (!gbp) ignored.push(key);
        break;
      case 'directrouting':
        directRouting = goBool(key, value);
        if (!directRouting) ignored.push(key);
        break;
    }
  }

  if (vni < WINDOWS_MIN_VNI) {
    throw new VxlanConfigError(`invalid VXLAN backend config. VNI [${vni}] must be greater than or equal to ${WINDOWS_MIN_VNI} on Windows`, 'VNI', vni);
  }
  if (vni > MAX_LEASE_VNI) {
    throw new VxlanConfigError(
      `invalid VXLAN backend config. VNI [${vni}] must be at most ${MAX_LEASE_VNI}: the lease carries the VNI as 16 bits, so peers would see ${vni % 65536}`,
      'VNI',
      vni,
    );
  }
  if (port !== WINDOWS_VXLAN_PORT) {
    throw new VxlanConfigError(`invalid VXLAN backend config. Port [${port}] is not supported on Windows. Omit the setting to default to port ${WINDOWS_VXLAN_PORT}`, 'Port', port);
  }
  if (directRouting) throw new VxlanConfigError('invalid VXLAN backend config. DirectRouting is not supported on Windows', 'DirectRouting', true);
  if (gbp) throw new VxlanConfigError('invalid VXLAN backend config. GBP is not supported on Windows', 'GBP', true);
  if (macPrefix.length !== 5 || macPrefix[2] !== '-') {
    throw new VxlanConfigError(`invalid VXLAN backend config. MacPrefix [${macPrefix}] is invalid, prefix must be of the format xx-xx e.g. 0E-2A`, 'MacPrefix', macPrefix);
  }
  return { name: name === '' ? `flannel.${vni}` : name, vni, port, macPrefix, ignored };
}
