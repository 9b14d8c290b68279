import { HCN_E, HnsError } from '../client.js';
import { normalizeGuid } from '../guid.js';
import type { HnsV1Api } from './hns-call.js';

/** The host's network compartment; host-gw's bridge endpoint is attached there. */
export const HOST_COMPARTMENT_ID = 1;

/** hcsshim's HostAttach body: EndpointAttachDetachRequest with empty fields omitted. */
export function hostAttachRequest(): string {
  return JSON.stringify({ SystemType: 'Host', CompartmentId: HOST_COMPARTMENT_ID });
}

/**
 * HNS says "This endpoint is already attached to the switch." through the v1 envelope (no code),
 * or HCN_E_ENDPOINT_ALREADY_ATTACHED; flannel treats both as done, so a restart is idempotent.
 */
export function isAlreadyAttached(err: unknown): boolean {
  if (!(err instanceof HnsError)) return false;
  if (err.hresult === HCN_E.ENDPOINT_ALREADY_ATTACHED) return true;
  return /already attached/i.test(`${err.message} ${err.errorRecord ?? ''}`);
}

export async function attachEndpointToHost(api: HnsV1Api, endpointId: string): Promise<void> {
  const id = normalizeGuid(endpointId);
  try {
    await api.request('POST', `/endpoints/${id}/attach`, hostAttachRequest(), { endpointId: id });
  } catch (err) {
    if (!isAlreadyAttached(err)) throw err;
  }
}
