import { koffi, type KoffiFunction } from './koffi.js';

/**
 * koffi declarations of the computenetwork.dll functions the driver uses, with the parameter
 * order of computenetwork.h. Handles are `void *` (koffi 3 hands them out as BigInt), REFGUID is a
 * pointer to the 16-byte GUID struct, input documents are UTF-16 (`const char16_t *`), and every
 * string HNS returns is `_Out_ void **` so the driver can free it (see co-task-string.ts).
 */

export interface HcnFunctions {
  HcnEnumerateNetworks: KoffiFunction;
  HcnOpenNetwork: KoffiFunction;
  HcnCreateNetwork: KoffiFunction;
  HcnModifyNetwork: KoffiFunction;
  HcnQueryNetworkProperties: KoffiFunction;
  HcnDeleteNetwork: KoffiFunction;
  HcnCloseNetwork: KoffiFunction;
  HcnEnumerateEndpoints: KoffiFunction;
  HcnCreateEndpoint: KoffiFunction;
  HcnOpenEndpoint: KoffiFunction;
  HcnModifyEndpoint: KoffiFunction;
  HcnQueryEndpointProperties: KoffiFunction;
  HcnDeleteEndpoint: KoffiFunction;
  HcnCloseEndpoint: KoffiFunction;
}

const HCN_PROTOTYPES: Record<keyof HcnFunctions, string> = {
  HcnEnumerateNetworks: 'HRESULT __stdcall HcnEnumerateNetworks(PCWSTR query, _Out_ void **networks, _Out_ void **errorRecord)',
  HcnOpenNetwork: 'HRESULT __stdcall HcnOpenNetwork(const GUID *id, _Out_ void **network, _Out_ void **errorRecord)',
  HcnCreateNetwork:
    'HRESULT __stdcall HcnCreateNetwork(const GUID *id, PCWSTR settings, _Out_ void **network, _Out_ void **errorRecord)',
  HcnModifyNetwork: 'HRESULT __stdcall HcnModifyNetwork(void *network, PCWSTR settings, _Out_ void **errorRecord)',
  HcnQueryNetworkProperties:
    'HRESULT __stdcall HcnQueryNetworkProperties(void *network, PCWSTR query, _Out_ void **properties, _Out_ void **errorRecord)',
  HcnDeleteNetwork: 'HRESULT __stdcall HcnDeleteNetwork(const GUID *id, _Out_ void **errorRecord)',
  HcnCloseNetwork: 'HRESULT __stdcall HcnCloseNetwork(void *network)',
  HcnEnumerateEndpoints: 'HRESULT __stdcall HcnEnumerateEndpoints(PCWSTR query, _Out_ void **endpoints, _Out_ void **errorRecord)',
  HcnCreateEndpoint:
    'HRESULT __stdcall HcnCreateEndpoint(void *network, const GUID *id, PCWSTR settings, _Out_ void **endpoint, _Out_ void **errorRecord)',
  HcnOpenEndpoint: 'HRESULT __stdcall HcnOpenEndpoint(const GUID *id, _Out_ void **endpoint, _Out_ void **errorRecord)',
  HcnModifyEndpoint: 'HRESULT __stdcall HcnModifyEndpoint(void *endpoint, PCWSTR settings, _Out_ void **errorRecord)',
  HcnQueryEndpointProperties:
    'HRESULT __stdcall HcnQueryEndpointProperties(void *endpoint, PCWSTR query, _Out_ void **properties, _Out_ void **errorRecord)',
  HcnDeleteEndpoint: 'HRESULT __stdcall HcnDeleteEndpoint(const GUID *id, _Out_ void **errorRecord)',
  HcnCloseEndpoint: 'HRESULT __stdcall HcnCloseEndpoint(void *endpoint)',
};

/**
 * koffi type names are process-wide, and other Windows drivers (iphlpapi) may declare the same
 * Windows names: a name that already resolves is reused rather than declared twice (which throws).
 */
export function declareWindowsTypes(): void {
  const k = koffi();
  const declareOnce = (name: string, declare: () => void): void => {
    try {
      k.type(name);
    } catch {
      declare();
    }
  };
  declareOnce('HRESULT', () => k.alias('HRESULT', 'int32_t'));
  declareOnce('PCWSTR', () => k.alias('PCWSTR', 'const char16_t *'));
  // Only ever passed as a pointer to 16 bytes laid out by guid.ts; declared for the signature's sake.
  declareOnce('GUID', () => k.struct('GUID', { Data1: 'uint32_t', Data2: 'uint16_t', Data3: 'uint16_t', Data4: k.array('uint8_t', 8) }));
}

export function bindComputeNetwork(path: string): HcnFunctions {
  declareWindowsTypes();
  const lib = koffi().load(path);
  const entries = Object.entries(HCN_PROTOTYPES).map(([name, prototype]) => [name, lib.func(prototype)] as const);
  return Object.fromEntries(entries) as unknown as HcnFunctions;
}

export function bindCoTaskMemFree(path: string): KoffiFunction {
  declareWindowsTypes();
  return koffi().load(path).func('void __stdcall CoTaskMemFree(void *pv)');
}
