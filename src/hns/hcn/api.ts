import type { Logger } from '../../log.js';
import { guidToBytes } from '../guid.js';
import type { HcnFunctions } from './bindings.js';
import { takeCoTaskString, type CoTaskMemory } from './co-task-string.js';
import { callFailed, hnsCallError } from './hresult.js';
import { callOnWorker, pointerOut, type NativePointer } from './koffi.js';

/** An open HCN_NETWORK / HCN_ENDPOINT handle (a native pointer). */
export type HcnHandle = bigint;

type OutputKind = 'handle' | 'string';
type Output = string | NativePointer | undefined;

/**
 * One method per computenetwork.dll function, with the C calling convention taken care of:
 * documents encoded as UTF-16, GUID text turned into its 16 bytes, every returned string decoded
 * and freed exactly once (also when the call failed), and a failure turned into an HnsError that
 * names the call, the object and the error record. No HNS semantics here; see HcnClient.
 */
export class HcnApi {
  constructor(
    private readonly fns: HcnFunctions,
    private readonly memory: CoTaskMemory,
    private readonly log: Logger,
  ) {}

  enumerateNetworks(query: string): Promise<string> {
    return this.returningString('HcnEnumerateNetworks', [query], {});
  }

  openNetwork(id: string): Promise<HcnHandle> {
    return this.returningHandle('HcnOpenNetwork', [guidArg(id)], { networkId: id });
  }

  createNetwork(id: string, settings: string): Promise<HcnHandle> {
    return this.returningHandle('HcnCreateNetwork', [guidArg(id), settings], { networkId: id });
  }

  async modifyNetwork(handle: HcnHandle, settings: string, context: Record<string, unknown>): Promise<void> {
    await this.run('HcnModifyNetwork', [handle, settings], [], context);
  }

  queryNetworkProperties(handle: HcnHandle, query: string, context: Record<string, unknown>): Promise<string> {
    return this.returningString('HcnQueryNetworkProperties', [handle, query], context);
  }

  async deleteNetwork(id: string): Promise<void> {
    await this.run('HcnDeleteNetwork', [guidArg(id)], [], { networkId: id });
  }

  closeNetwork(handle: HcnHandle, context: Record<string, unknown>): Promise<void> {
    return this.close('HcnCloseNetwork', handle, context);
  }

  enumerateEndpoints(query: string): Promise<string> {
    return this.returningString('HcnEnumerateEndpoints', [query], {});
  }

  openEndpoint(id: string): Promise<HcnHandle> {
    return this.returningHandle('HcnOpenEndpoint', [guidArg(id)], { endpointId: id });
  }

  createEndpoint(network: HcnHandle, id: string, settings: string, context: Record<string, unknown>): Promise<HcnHandle> {
    return this.returningHandle('HcnCreateEndpoint', [network, guidArg(id), settings], { ...context, endpointId: id });
  }

  async modifyEndpoint(handle: HcnHandle, settings: string, context: Record<string, unknown>): Promise<void> {
    await this.run('HcnModifyEndpoint', [handle, settings], [], context);
  }

  queryEndpointProperties(handle: HcnHandle, query: string, context: Record<string, unknown>): Promise<string> {
    return this.returningString('HcnQueryEndpointProperties', [handle, query], context);
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.run('HcnDeleteEndpoint', [guidArg(id)], [], { endpointId: id });
  }

  closeEndpoint(handle: HcnHandle, context: Record<string, unknown>): Promise<void> {
    return this.close('HcnCloseEndpoint', handle, context);
  }

  private async returningString(call: keyof HcnFunctions, inputs: unknown[], context: Record<string, unknown>): Promise<string> {
    const [text] = await this.run(call, inputs, ['string'], context);
    return typeof text === 'string' ? text : '';
  }

  private async returningHandle(call: keyof HcnFunctions, inputs: unknown[], context: Record<string, unknown>): Promise<HcnHandle> {
    const [handle] = await this.run(call, inputs, ['handle'], context);
    if (typeof handle !== 'bigint') throw hnsCallError(call, 0x80004003, 'no handle returned', context);
    return handle;
  }

  /** Closing never throws: it runs in `finally` blocks, where it must not hide the real error. */
  private async close(call: 'HcnCloseNetwork' | 'HcnCloseEndpoint', handle: HcnHandle, context: Record<string, unknown>): Promise<void> {
    try {
      const hr = await callOnWorker(this.fns[call], [handle]);
      if (callFailed(hr, undefined)) this.log.warn({ call, hresult: `0x${(hr >>> 0).toString(16)}`, ...context }, 'closing an HCN handle failed');
    } catch (err) {
      this.log.warn({ call, err, ...context }, 'closing an HCN handle failed');
    }
  }

  /**
   * Calls `call` with `inputs`, one out slot per entry of `outputs`, and the ErrorRecord slot
   * last (every HCN function but Close ends with it).
   */
  private async run(call: keyof HcnFunctions, inputs: unknown[], outputs: OutputKind[], context: Record<string, unknown>): Promise<Output[]> {
    const slots = outputs.map((): unknown[] => [null]);
    const recordSlot: unknown[] = [null];
    const started = Date.now();
    const hr = await callOnWorker(this.fns[call], [...inputs, ...slots, recordSlot]);
    const errorRecord = takeCoTaskString(this.memory, pointerOut(recordSlot));
    const values = slots.map((slot, i): Output => (outputs[i] === 'string' ? takeCoTaskString(this.memory, pointerOut(slot)) : pointerOut(slot)));
    this.log.debug({ call, hresult: `0x${(hr >>> 0).toString(16)}`, ms: Date.now() - started, ...context }, 'HCN call');
    if (callFailed(hr, errorRecord)) throw hnsCallError(call, hr, errorRecord, context);
    return values;
  }
}

function guidArg(id: string): Buffer {
  return Buffer.from(guidToBytes(id));
}
