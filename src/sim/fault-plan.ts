import { HCN_E } from '../hns/client.js';

/** Every call the simulated host answers; the write calls are the ones counted per operation. */
export const SIM_WRITE_OPERATIONS = [
  'createNetwork', 'modifyNetwork', 'deleteNetwork', 'createEndpoint', 'modifyEndpoint', 'deleteEndpoint',
  'attachEndpoint', 'addRoute', 'deleteRoute', 'setForwarding',
] as const;
export const SIM_READ_OPERATIONS = ['listNetworks', 'getNetwork', 'getNetworkByName', 'listEndpoints', 'getEndpoint', 'listRoutes', 'listInterfaces', 'getForwarding'] as const;

export type SimWriteOperation = (typeof SIM_WRITE_OPERATIONS)[number];
export type SimOperation = SimWriteOperation | (typeof SIM_READ_OPERATIONS)[number];

const ALL_OPERATIONS: ReadonlySet<string> = new Set<string>([...SIM_WRITE_OPERATIONS, ...SIM_READ_OPERATIONS]);

/** True when `name` is an operation the simulated host answers (for checking user input). */
export function isSimOperation(name: string): name is SimOperation {
  return ALL_OPERATIONS.has(name);
}

export interface SimFaults {
  /** Fail the next `count` calls (only those of `operations` when given) with `hresult`. */
  failNext?: { count: number; hresult: number; operations?: readonly SimOperation[] };
  /**
   * Fail the next N calls of each named operation, counted per operation
   * (`{ createNetwork: 2, listInterfaces: 1 }`), with `failNextHresult` (HCN_E_MANAGER_STOPPED
   * by default). Consumed after `failNext`.
   */
  failNextByOperation?: Partial<Record<SimOperation, number>>;
  failNextHresult?: number;
  /**
   * Fail this percentage (0-100) of calls, drawn from the host's seeded random source. A bare
   * number fails any call with HCN_E_MANAGER_STOPPED (HNS restarting, a transient failure).
   */
  failPercent?: number | { percent: number; hresult?: number; operations?: readonly SimOperation[] };
}

/**
 * Decides, call by call, whether an injected fault fires. The "fail next" counters are consumed
 * first so a test that asks for "the next two creates fail" gets exactly that even with a
 * percentage set; a percentage draw happens only for a call no counter claimed, so the random
 * sequence (and so the pattern of failures for a seed) does not depend on the counters.
 */
export class FaultPlan {
  private failNext: { remaining: number; hresult: number; operations: ReadonlySet<string> | undefined } | undefined;
  private readonly perOperation = new Map<string, number>();
  private perOperationHresult: number = HCN_E.MANAGER_STOPPED;
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
    this.perOperation.clear();
    for (const [operation, count] of Object.entries(faults.failNextByOperation ?? {})) {
      if (count !== undefined && count > 0) this.perOperation.set(operation, count);
    }
    this.perOperationHresult = faults.failNextHresult ?? HCN_E.MANAGER_STOPPED;
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
    const left = this.perOperation.get(operation);
    if (left !== undefined) {
      if (left <= 1) this.perOperation.delete(operation);
      else this.perOperation.set(operation, left - 1);
      return this.perOperationHresult;
    }
    const p = this.percent;
    if (p && p.percent > 0 && (!p.operations || p.operations.has(operation)) && this.random() * 100 < p.percent) return p.hresult;
    return undefined;
  }
}
