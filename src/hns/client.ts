import { FlannelWinError } from '../errors.js';
import type {
  HostComputeEndpoint,
  HostComputeNetwork,
  ModifyEndpointSettingRequest,
  ModifyNetworkSettingRequest,
} from './types.js';

/**
 * The Host Networking Service as the daemon sees it. Two implementations: `hcn` (koffi bindings
 * to computenetwork.dll, Windows only) and the simulated host. Nothing above this seam knows
 * which one it talks to.
 */
export interface HnsClient {
  listNetworks(filter?: { name?: string }): Promise<HostComputeNetwork[]>;
  /** Throws HnsError with code NETWORK_NOT_FOUND when absent. */
  getNetwork(id: string): Promise<HostComputeNetwork>;
  /** undefined when no network has that name. */
  getNetworkByName(name: string): Promise<HostComputeNetwork | undefined>;
  /** HNS assigns the ID; the returned document is what HNS reports after creation. */
  createNetwork(network: HostComputeNetwork): Promise<HostComputeNetwork>;
  modifyNetwork(id: string, request: ModifyNetworkSettingRequest): Promise<void>;
  deleteNetwork(id: string): Promise<void>;

  listEndpoints(filter?: { networkId?: string; name?: string }): Promise<HostComputeEndpoint[]>;
  getEndpoint(id: string): Promise<HostComputeEndpoint>;
  createEndpoint(networkId: string, endpoint: HostComputeEndpoint): Promise<HostComputeEndpoint>;
  modifyEndpoint(id: string, request: ModifyEndpointSettingRequest): Promise<void>;
  deleteEndpoint(id: string): Promise<void>;
  /**
   * Attaches an endpoint to the host (compartment 1), as host-gw's bridge endpoint needs. HCN v2
   * has no call for this; the real driver uses HNS v1 `POST /endpoints/<id>/attach`. An endpoint
   * that is already attached resolves successfully.
   */
  attachEndpointToHost(id: string): Promise<void>;
}

/** HCN HRESULTs we act on (compat/hns.md §7). */
export const HCN_E = {
  NETWORK_NOT_FOUND: 0x803b0001,
  ENDPOINT_NOT_FOUND: 0x803b0002,
  POLICY_NOT_FOUND: 0x803b0008,
  INVALID_NETWORK: 0x803b000a,
  INVALID_NETWORK_TYPE: 0x803b000b,
  INVALID_ENDPOINT: 0x803b000c,
  INVALID_POLICY: 0x803b000d,
  INVALID_POLICY_TYPE: 0x803b000e,
  NETWORK_ALREADY_EXISTS: 0x803b0010,
  POLICY_ALREADY_EXISTS: 0x803b0012,
  PORT_ALREADY_EXISTS: 0x803b0013,
  ENDPOINT_ALREADY_ATTACHED: 0x803b0014,
  REQUEST_UNSUPPORTED: 0x803b0015,
  INVALID_JSON: 0x803b001b,
  INVALID_IP: 0x803b001e,
  MANAGER_STOPPED: 0x803b0020,
  INVALID_PREFIX: 0x803b0030,
  INVALID_SUBNET: 0x803b0032,
} as const;

/** Win32 ERROR_NOT_FOUND, as HNS reports it through HRESULT 0x80070490 (reduced to 1168). */
export const WIN32_ERROR_NOT_FOUND = 1168;

export type HnsErrorKind = 'not-found' | 'already-exists' | 'invalid' | 'unavailable' | 'other';

/** Classifies an HRESULT (or a Win32 code reduced from a FACILITY_WIN32 HRESULT). */
export function classifyHresult(code: number): HnsErrorKind {
  switch (code >>> 0) {
    case HCN_E.NETWORK_NOT_FOUND:
    case HCN_E.ENDPOINT_NOT_FOUND:
    case HCN_E.POLICY_NOT_FOUND:
    case WIN32_ERROR_NOT_FOUND:
      return 'not-found';
    case HCN_E.NETWORK_ALREADY_EXISTS:
    case HCN_E.POLICY_ALREADY_EXISTS:
    case HCN_E.PORT_ALREADY_EXISTS:
    case HCN_E.ENDPOINT_ALREADY_ATTACHED:
      return 'already-exists';
    case HCN_E.INVALID_NETWORK:
    case HCN_E.INVALID_NETWORK_TYPE:
    case HCN_E.INVALID_ENDPOINT:
    case HCN_E.INVALID_POLICY:
    case HCN_E.INVALID_POLICY_TYPE:
    case HCN_E.INVALID_JSON:
    case HCN_E.INVALID_IP:
    case HCN_E.INVALID_PREFIX:
    case HCN_E.INVALID_SUBNET:
    case HCN_E.REQUEST_UNSUPPORTED:
      return 'invalid';
    case HCN_E.MANAGER_STOPPED:
      return 'unavailable';
    default:
      return 'other';
  }
}

/** An HNS call failed. `hresult` is the raw code; `kind` says what the caller can do about it. */
export class HnsError extends FlannelWinError {
  readonly hresult: number;
  readonly kind: HnsErrorKind;
  readonly call: string;
  readonly errorRecord: string | undefined;

  constructor(call: string, hresult: number, message: string, context: Record<string, unknown> = {}, errorRecord?: string) {
    const kind = classifyHresult(hresult);
    super(`HNS_${kind.toUpperCase().replace('-', '_')}`, `${call}: ${message} (0x${(hresult >>> 0).toString(16).padStart(8, '0')})`, {
      call,
      hresult: `0x${(hresult >>> 0).toString(16)}`,
      ...context,
    });
    this.hresult = hresult >>> 0;
    this.kind = kind;
    this.call = call;
    this.errorRecord = errorRecord;
  }
}

export function isHnsNotFound(err: unknown): boolean {
  return err instanceof HnsError && err.kind === 'not-found';
}

export function isHnsAlreadyExists(err: unknown): boolean {
  return err instanceof HnsError && err.kind === 'already-exists';
}
