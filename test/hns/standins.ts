import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { koffi } from '../../src/hns/hcn/koffi.js';

/**
 * The C stand-ins for computenetwork.dll, vmcompute.dll and ole32.dll (test/standins, built by
 * scripts/build-standins.sh into build/standins) and their test-only inspection exports. koffi
 * opens the same paths the driver opens, so both see one instance of each library.
 */

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'scripts', 'build-standins.sh'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (scripts/build-standins.sh)');
    dir = parent;
  }
  return dir;
}

export interface StandinPaths {
  computenetworkPath: string;
  vmcomputePath: string;
  ole32Path: string;
}

export function standinPaths(): StandinPaths {
  const dir = path.join(projectRoot(), 'build', 'standins');
  const paths = {
    computenetworkPath: path.join(dir, 'libcomputenetwork.so'),
    vmcomputePath: path.join(dir, 'libvmcompute.so'),
    ole32Path: path.join(dir, 'libole32.so'),
  };
  for (const p of Object.values(paths)) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run \`bash scripts/build-standins.sh\` first`);
  }
  return paths;
}

export interface RecordedHcnCall {
  fn: string;
  document: string | null;
  guid: Buffer | null;
}

export interface RecordedV1Call {
  method: string;
  path: string;
  request: string;
}

export interface Standins {
  paths: StandinPaths;
  /** An empty host: no networks, endpoints, attachments, recorded calls or counted memory. */
  reset(): void;
  /** Keeps the objects but forgets recorded calls and counters, to look at one operation alone. */
  forgetCalls(): void;
  hcnCalls(): RecordedHcnCall[];
  handles(name: 'opened' | 'closed' | 'live' | 'bad_closes'): number;
  memory(name: 'allocs' | 'frees' | 'live' | 'null_frees' | 'double_frees' | 'unknown_frees'): number;
  /** The next call of `fn` ('' = any) returns `hresult` with `record` as its ErrorRecord. */
  hcnFailNext(fn: string, hresult: number, record: string | null): void;
  emptyErrorRecordOnSuccess(on: boolean): void;
  v1Calls(): RecordedV1Call[];
  v1FailNext(hresult: number, response: string | null): void;
  isAttached(endpointId: string): boolean;
}

export function openStandins(): Standins {
  const paths = standinPaths();
  const k = koffi();
  const ole = k.load(paths.ole32Path);
  const hcn = k.load(paths.computenetworkPath);
  const v1 = k.load(paths.vmcomputePath);
  const memCounter = ole.func('int64_t Standin_MemCounter(const char *name)');
  const memReset = ole.func('void Standin_MemReset(void)');
  const callCount = hcn.func('int32_t Standin_HcnCallCount(void)');
  const callFunction = hcn.func('const char *Standin_HcnCallFunction(int32_t i)');
  const callDocument = hcn.func('const char *Standin_HcnCallDocument(int32_t i)');
  const callGuid = hcn.func('int32_t Standin_HcnCallGuid(int32_t i, _Out_ uint8_t *out)');
  const handleCounter = hcn.func('int64_t Standin_HcnHandleCounter(const char *name)');
  const failNext = hcn.func('void Standin_HcnFailNext(const char *fn, int32_t hr, const char *record)');
  const emptyRecord = hcn.func('void Standin_HcnEmptyErrorRecordOnSuccess(int32_t on)');
  const hcnReset = hcn.func('void Standin_HcnReset(void)');
  const hcnForget = hcn.func('void Standin_HcnForgetCalls(void)');
  const v1Count = v1.func('int32_t Standin_HnsCallCount(void)');
  const v1Call = v1.func('const char *Standin_HnsCall(int32_t i, const char *field)');
  const v1Attached = v1.func('int32_t Standin_HnsIsAttached(const char *id)');
  const v1Fail = v1.func('void Standin_HnsFailNext(int32_t hr, const char *response)');
  const v1Reset = v1.func('void Standin_HnsReset(void)');
  return {
    paths,
    reset() {
      hcnReset();
      v1Reset();
      memReset();
    },
    forgetCalls() {
      hcnForget();
      memReset();
    },
    hcnCalls() {
      const n = callCount() as number;
      return Array.from({ length: n }, (_, i) => {
        const guid = Buffer.alloc(16);
        const has = (callGuid(i, guid) as number) !== 0;
        return { fn: callFunction(i) as string, document: callDocument(i) as string | null, guid: has ? guid : null };
      });
    },
    handles: (name) => Number(handleCounter(name)),
    memory: (name) => Number(memCounter(name)),
    hcnFailNext: (fn, hresult, record) => void failNext(fn, hresult | 0, record),
    emptyErrorRecordOnSuccess: (on) => void emptyRecord(on ? 1 : 0),
    v1Calls() {
      const n = v1Count() as number;
      return Array.from({ length: n }, (_, i) => ({
        method: v1Call(i, 'method') as string,
        path: v1Call(i, 'path') as string,
        request: v1Call(i, 'request') as string,
      }));
    },
    v1FailNext: (hresult, response) => void v1Fail(hresult | 0, response),
    isAttached: (id) => (v1Attached(id) as number) !== 0,
  };
}
