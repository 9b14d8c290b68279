import { declareWindowsTypes } from '../hcn/bindings.js';
import { koffi, type KoffiFunction } from '../hcn/koffi.js';

/** vmcompute.dll!HNSCall, the HNS v1 REST-over-C entry point; the response is CoTaskMem UTF-16. */
export function bindHnsCall(path: string): KoffiFunction {
  declareWindowsTypes();
  return koffi().load(path).func('HRESULT __stdcall HNSCall(PCWSTR method, PCWSTR path, PCWSTR request, _Out_ void **response)');
}
