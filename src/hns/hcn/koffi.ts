import { createRequire } from 'node:module';
import type koffiModule from 'koffi';

/**
 * koffi, loaded on first use rather than at import: modules that only name the HCN driver (the
 * driver chooser, tests of pure code) must import cleanly anywhere, and the native addon is only
 * needed once a library is actually opened.
 */
export type Koffi = typeof koffiModule;
export type KoffiLibrary = ReturnType<Koffi['load']>;
export type KoffiFunction = ReturnType<KoffiLibrary['func']>;

let loaded: Koffi | undefined;

export function koffi(): Koffi {
  loaded ??= createRequire(import.meta.url)('koffi') as Koffi;
  return loaded;
}

/** Runs a native function on koffi's worker threads (HNS calls can take seconds) and yields its return value. */
export function callOnWorker(fn: KoffiFunction, args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: number) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result);
    });
  });
}

/** A native pointer as koffi 3 returns it (BigInt), or null. */
export type NativePointer = bigint | null;

export function pointerOut(slot: unknown[]): NativePointer {
  const value = slot[0];
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value === 0n ? null : value;
  if (typeof value === 'number') return value === 0 ? null : BigInt(value);
  throw new TypeError(`expected a pointer from koffi, got ${typeof value}`);
}
