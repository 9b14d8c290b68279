/**
 * The simulator's fault-injection flags as text (what an operator types) turned into the
 * SimFaults the simulated host runs with, so a fault scenario found in a test can be replayed by
 * anyone from the command line:
 *
 *   flannel-win --dataplane sim --sim-seed 7 --sim-fault-rate 0.1 --sim-fail-next createNetwork=2,listInterfaces=1
 *
 * Pure; every error names the flag and the offending value.
 * @module
 */
import { FlannelWinError } from '../errors.js';
import { isSimOperation, type SimFaults, type SimOperation } from './fault-plan.js';

export class SimFaultFlagError extends FlannelWinError {
  constructor(flag: string, value: string, why: string) {
    super('SIM_FAULT_FLAG_INVALID', `invalid value ${JSON.stringify(value.slice(0, 200))} for --${flag}: ${why}`, { flag, value: value.slice(0, 200) });
  }
}

export interface SimFaultFlagText {
  /** --sim-fault-rate: the share (0 to 1) of calls that fail. */
  faultRate: string;
  /** --sim-fault-ops: comma-separated operations the rate applies to; empty = every call. */
  faultOperations: string;
  /** --sim-fail-next: `operation=count` pairs, comma-separated. */
  failNext: string;
  /** --sim-fault-hresult: the HRESULT injected failures carry (hex `0x…` or decimal). */
  faultHresult: string;
}

function operationList(flag: string, text: string): SimOperation[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((name) => {
    if (!isSimOperation(name)) throw new SimFaultFlagError(flag, text, `unknown operation "${name}"`);
    return name;
  });
}

/** `0x803b0020`, `0x80070005` or a decimal; negative 32-bit values are taken as their unsigned form. */
export function parseHresult(flag: string, text: string): number {
  const trimmed = text.trim();
  const value = /^0x[0-9a-f]{1,8}$/i.test(trimmed) ? Number.parseInt(trimmed.slice(2), 16) : /^-?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < -0x80000000 || value > 0xffffffff) throw new SimFaultFlagError(flag, text, 'expected an HRESULT such as 0x803b0020');
  if (value >>> 0 < 0x80000000) throw new SimFaultFlagError(flag, text, 'an HRESULT that reports a failure has its top bit set (0x8…)');
  return value >>> 0;
}

/** Parses the flags; `{}` when none asks for a fault. */
export function simFaultsFromFlags(text: SimFaultFlagText): SimFaults {
  const hresult = parseHresult('sim-fault-hresult', text.faultHresult);
  const faults: SimFaults = {};
  const rateText = text.faultRate.trim();
  const rate = rateText === '' ? 0 : Number(rateText);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new SimFaultFlagError('sim-fault-rate', text.faultRate, 'expected a share between 0 and 1 (0.1 = 10 % of calls)');
  const operations = operationList('sim-fault-ops', text.faultOperations);
  if (rate > 0) faults.failPercent = { percent: rate * 100, hresult, ...(operations.length > 0 ? { operations } : {}) };
  const counts: Partial<Record<SimOperation, number>> = {};
  for (const pair of text.failNext.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^([A-Za-z]+)=(\d{1,9})$/.exec(pair);
    if (!match) throw new SimFaultFlagError('sim-fail-next', text.failNext, `"${pair}" is not operation=count`);
    const [, name, count] = match as unknown as [string, string, string];
    if (!isSimOperation(name)) throw new SimFaultFlagError('sim-fail-next', text.failNext, `unknown operation "${name}"`);
    counts[name] = (counts[name] ?? 0) + Number(count);
  }
  if (Object.keys(counts).length > 0) {
    faults.failNextByOperation = counts;
    faults.failNextHresult = hresult;
  }
  return faults;
}

/** What the dataplane choice hands the simulated host: the faults and, when asked for, a seed. */
export interface SimFaultSettings {
  faults: SimFaults;
  seed: number | undefined;
}

/** From the parsed daemon flags; `seedGiven` says whether --sim-seed was set (0 is a valid seed). */
export function simFaultSettings(text: SimFaultFlagText, seed: number, seedGiven: boolean): SimFaultSettings {
  return { faults: simFaultsFromFlags(text), seed: seedGiven ? seed : undefined };
}
