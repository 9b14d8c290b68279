import { createRequire } from 'node:module';
import type { LibraryHandle, TypeObject } from 'koffi';
import { FlannelWinError, describeError } from '../../errors.js';
import { win32Layout, type KoffiModule, type Win32Layout } from './win32-layout.js';

/**
 * The iphlpapi.dll functions the route driver calls, bound through koffi. Calls that enter the
 * kernel run through koffi's async pool so a slow GetAdaptersAddresses (hosts with many HNS
 * vNICs) never blocks the event loop; the Initialize* helpers only fill memory and stay sync.
 * Row arguments are Buffers holding the exact Windows bytes (see win32-layout.ts).
 */
export interface IphlpapiLibrary {
  readonly koffi: KoffiModule;
  readonly layout: Win32Layout;
  InitializeIpForwardEntry(row: Buffer): void;
  CreateIpForwardEntry2(row: Buffer): Promise<number>;
  DeleteIpForwardEntry2(row: Buffer): Promise<number>;
  /** Resolves with the status and, on success, the table pointer that must go to FreeMibTable. */
  GetIpForwardTable2(family: number): Promise<{ status: number; table: bigint | null }>;
  FreeMibTable(memory: bigint): void;
  /** `size` is in/out: the buffer size given, and on ERROR_BUFFER_OVERFLOW the size needed. */
  GetAdaptersAddresses(family: number, flags: number, buffer: Buffer | null, size: number): Promise<{ status: number; size: number }>;
  InitializeIpInterfaceEntry(row: Buffer): void;
  GetIpInterfaceEntry(row: Buffer): Promise<number>;
  SetIpInterfaceEntry(row: Buffer): Promise<number>;
}

export class IphlpapiLoadError extends FlannelWinError {
  constructor(path: string, cause: unknown) {
    super('IPHLPAPI_LOAD', `cannot load ${path}: ${describeError(cause)}`, { path }, { cause });
  }
}

/** koffi is required here, not imported at the top, so loading this module never touches native code. */
export function requireKoffi(): KoffiModule {
  const require = createRequire(import.meta.url);
  return require('koffi') as KoffiModule;
}

type KoffiFunction = ReturnType<LibraryHandle['func']>;

function callAsync<T>(fn: KoffiFunction, args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn.async(...args, (err: unknown, result: T) => (err ? reject(err) : resolve(result)));
  });
}

export function bindIphlpapi(path: string): IphlpapiLibrary {
  let koffi: KoffiModule;
  let lib: LibraryHandle;
  try {
    koffi = requireKoffi();
    lib = koffi.load(path);
  } catch (err) {
    throw new IphlpapiLoadError(path, err);
  }
  const layout = win32Layout(koffi);
  // The x64 ABI has a single calling convention, so no __stdcall marker is needed.
  const bind = (name: string, result: string, params: Array<string | TypeObject | ReturnType<KoffiModule['out']>>): KoffiFunction => {
    try {
      return lib.func(name, result, params);
    } catch (err) {
      throw new IphlpapiLoadError(`${path}!${name}`, err);
    }
  };
  const initRoute = bind('InitializeIpForwardEntry', 'void', ['void *']);
  const createRoute = bind('CreateIpForwardEntry2', 'uint32_t', ['void *']);
  const deleteRoute = bind('DeleteIpForwardEntry2', 'uint32_t', ['void *']);
  const getTable = bind('GetIpForwardTable2', 'uint32_t', ['uint16_t', koffi.out(koffi.pointer('void *'))]);
  const freeTable = bind('FreeMibTable', 'void', ['void *']);
  const getAdapters = bind('GetAdaptersAddresses', 'uint32_t', [
    'uint32_t',
    'uint32_t',
    'void *',
    'void *',
    koffi.inout(koffi.pointer('uint32_t')),
  ]);
  const initInterface = bind('InitializeIpInterfaceEntry', 'void', ['void *']);
  const getInterface = bind('GetIpInterfaceEntry', 'uint32_t', ['void *']);
  const setInterface = bind('SetIpInterfaceEntry', 'uint32_t', ['void *']);

  return {
    koffi,
    layout,
    InitializeIpForwardEntry: (row) => void initRoute(row),
    CreateIpForwardEntry2: (row) => callAsync<number>(createRoute, [row]),
    DeleteIpForwardEntry2: (row) => callAsync<number>(deleteRoute, [row]),
    async GetIpForwardTable2(family) {
      const out: [bigint | null] = [null];
      const status = await callAsync<number>(getTable, [family, out]);
      return { status, table: status === 0 ? out[0] : null };
    },
    FreeMibTable: (memory) => void freeTable(memory),
    async GetAdaptersAddresses(family, flags, buffer, size) {
      const inout: [number] = [size];
      const status = await callAsync<number>(getAdapters, [family, flags, null, buffer, inout]);
      return { status, size: inout[0] };
    },
    InitializeIpInterfaceEntry: (row) => void initInterface(row),
    GetIpInterfaceEntry: (row) => callAsync<number>(getInterface, [row]),
    SetIpInterfaceEntry: (row) => callAsync<number>(setInterface, [row]),
  };
}
