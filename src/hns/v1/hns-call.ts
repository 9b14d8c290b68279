import type { Logger } from '../../log.js';
import { HnsError } from '../client.js';
import { takeCoTaskString, type CoTaskMemory } from '../hcn/co-task-string.js';
import { isFailedHresult, reduceHresult } from '../hcn/hresult.js';
import { callOnWorker, pointerOut, type KoffiFunction } from '../hcn/koffi.js';
import { parseV1Response } from './response.js';

export type V1Method = 'GET' | 'POST' | 'DELETE';

/**
 * HNS v1 requests through vmcompute.dll!HNSCall. Only what HCN v2 cannot do goes this way (host
 * attach). The response text is freed exactly once; an HRESULT failure, an unreadable response
 * or `Success:false` become an HnsError naming the method and path.
 */
export class HnsV1Api {
  constructor(
    private readonly hnsCall: KoffiFunction,
    private readonly memory: CoTaskMemory,
    private readonly log: Logger,
  ) {}

  /** Resolves to the envelope's Output. `request` is '' for no body, as hcsshim sends it; `about` joins the error context. */
  async request(method: V1Method, path: string, request = '', about: Record<string, unknown> = {}): Promise<unknown> {
    const responseSlot: unknown[] = [null];
    const context = { method, path, ...about };
    const started = Date.now();
    const hr = await callOnWorker(this.hnsCall, [method, path, request, responseSlot]);
    const text = takeCoTaskString(this.memory, pointerOut(responseSlot));
    this.log.debug({ call: 'HNSCall', hresult: `0x${(hr >>> 0).toString(16)}`, ms: Date.now() - started, ...context }, 'HNS v1 call');
    const response = text === undefined ? undefined : parseV1Response(text);
    if (isFailedHresult(hr)) {
      throw new HnsError('HNSCall', reduceHresult(hr), response?.error ?? text ?? 'call failed', { ...context, rawHresult: `0x${(hr >>> 0).toString(16)}` }, text);
    }
    if (response === undefined) {
      throw new HnsError('HNSCall', 0, `unreadable response: ${JSON.stringify(text ?? null)}`, context, text);
    }
    if (!response.success) {
      const code = response.errorCode ?? 0;
      throw new HnsError('HNSCall', reduceHresult(code), response.error ?? 'request failed', { ...context, rawHresult: `0x${code.toString(16)}` }, text);
    }
    return response.output;
  }
}
