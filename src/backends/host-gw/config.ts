import { FlannelWinError } from '../../errors.js';

/** The `Backend` section of net-conf.json for host-gw on Windows. */
export interface HostGwConfig {
  /** HNS L2Bridge network name; "cbr0" when absent or empty. */
  name: string;
  /** Comma-separated DNS servers flannel copies into the HNS network; "" when unset. */
  dnsServerList: string;
  /** Keys with no effect on Windows (including wrong-case spellings), as written, for a warning. */
  ignored: string[];
}

export class HostGwConfigError extends FlannelWinError {
  constructor(message: string, field: string, value: unknown) {
    super('HOSTGW_CONFIG', message, { field, value });
  }
}

function goString(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new HostGwConfigError(`error decoding windows host-gw backend config: ${key} must be a string, got ${JSON.stringify(value)}`, key, value);
  }
  return value;
}

/**
 * Decodes the host-gw Backend object like flannel's hostgw_windows.go. Unlike the vxlan backend,
 * flannel decodes it with k8s.io/apimachinery's json.Unmarshal, which matches keys
 * case-sensitively: "name" is not "Name" and leaves the default, so it is reported in `ignored`.
 */
export function parseHostGwConfig(backend: Readonly<Record<string, unknown>> | undefined): HostGwConfig {
  let name = '';
  let dnsServerList = '';
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(backend ?? {})) {
    if (key === 'Type' || key.toLowerCase() === 'type') continue;
    if (key !== 'Name' && key !== 'DNSServerList') {
      ignored.push(key);
      continue;
    }
    if (value === null) continue;
    if (key === 'Name') name = goString(key, value);
    else dnsServerList = goString(key, value);
  }
  return { name: name === '' ? 'cbr0' : name, dnsServerList, ignored };
}
