import { koffi, type KoffiFunction, type NativePointer } from './koffi.js';

/**
 * Strings HNS hands out (properties, ID lists, error records) are allocated with CoTaskMemAlloc
 * and belong to the caller. They are declared `_Out_ void **` (not `char16_t **`) so the pointer
 * survives to be freed: koffi would otherwise decode and drop it, leaking every result.
 */
export interface CoTaskMemory {
  free(pointer: bigint): void;
}

export function coTaskMemory(coTaskMemFree: KoffiFunction): CoTaskMemory {
  return { free: (pointer) => void coTaskMemFree(pointer) };
}

/** Decodes a NUL-terminated UTF-16 string and frees it, exactly once, even if decoding throws. */
export function takeCoTaskString(memory: CoTaskMemory, pointer: NativePointer): string | undefined {
  if (pointer === null) return undefined;
  try {
    return koffi().decode(pointer, 'char16_t', -1) as string;
  } finally {
    memory.free(pointer);
  }
}
