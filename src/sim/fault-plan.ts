import { HCN_E } from '../hns/client.js';

/** Every call the simulated host answers; the write calls are the ones counted per operation. */
export const SIM_WRITE_OPERATIONS = [
  'createNetwork', 'modifyNetwork', 'deleteNetwork', 'createEndpoint', 'modifyEndpoint', 'deleteEndpoint',
  'attachEndpoint', 'addRoute', 'deleteRoute', 'setForwarding',
] as const;
export const SIM_READ_OPERATIONS = ['listNetworks', 'getNetwork', 'getNetworkByName', 'listEndpoints', 'getEndpoint', 'listRoutes', 'listInterfaces', 'getForwarding'] as const;

export type SimWriteOperation = (typeof SIM_WRITE_OPERATIONS)[number];
export type SimOperation = SimWriteOperation | (typeof SIM_READ_OPERATIONS)[number];

export interface SimFaults {
  /** Fail the next `count` calls (only those of `operations` when given) with `hresult`. */
  failNext?: { count: number; hresult: number; operations?: readonly SimOperation[] };
  /**
   * Fail this percentage (0-100) of calls, drawn from the host's seeded random source. A bare
   * number fails any call with HCN_E_MANAGER_STOPPED (HNS restarting, a transient failure).
   */
  failPercent?: number | { percent: number; hresult?: number; operations?: readonly SimOperation[] };
}

/**
 * Decides, call by call, whether an injected fault fires. `failNext` is consumed first so a
 * test that asks for "the next two creates fail" gets exactly that even with a percentage set.
 */
export class FaultPlan {
  private failNext: { remaining: number; hresult: number; operations: ReadonlySet<string> | undefined } | undefined;
  private percent: { percent: number; hresult: number; operations: ReadonlySet<string> | undefined } | undefined;

  constructor(private readonly random: () => number, faults: SimFaults = {}) {
    this.set(faults);
  }

  /** Replaces the current faults; `{}` clears them. */
  set(faults: SimFaults): void {
    const next = faults.failNext;
    this.failNext = next && next.count > 0
      ? { remaining: next.count, hresult: next.hresult, operations: next.operations ? new Set(next.operations) : undefined }
      : undefined;
    const p = faults.failPercent;
    if (p === undefined) this.percent = undefined;
    else if (typeof p === 'number') this.percent = { percent: p, hresult: HCN_E.MANAGER_STOPPED, operations: undefined };
    else this.percent = { percent: p.percent, hresult: p.hresult ?? HCN_E.MANAGER_STOPPED, operations: p.operations ? new Set(p.operations) : undefined };
  }

  /** The HRESULT this call fails with, or undefined when it goes through. */
  draw(operation: SimOperation): number | undefined {
    const next = this.failNext;
    if (next && (!next.operations || next.operations.has(operation))) {
      next.remaining--;
      if (next.remaining <= 0) this.failNext = undefined;
      return next.hresult;
    }
    const p = this.percent;
    if (p && p.percent > 0 && (!p.operations || p.operations.has(operation)) && this.random() * 100 < p.percent) return p.hresult;
    return undefined;
  }
}
