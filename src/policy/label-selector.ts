/**
 * Kubernetes label selectors (`metav1.LabelSelector`): `matchLabels` AND every
 * `matchExpressions` requirement. `{}` selects everything.
 */
import { FlannelWinError } from '../errors.js';
import type { Labels } from './model.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/** The selector `{}`: matches every object. */
export const EVERYTHING: LabelSelector = { matchLabels: {}, matchExpressions: [] };

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** True when `labels` satisfy `selector`. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const key in selector.matchLabels) {
    if (labels[key] !== selector.matchLabels[key]) return false;
  }
  for (const req of selector.matchExpressions) {
    const value = Object.hasOwn(labels, req.key) ? labels[req.key] : undefined;
    switch (req.operator) {
      case 'In':
        if (value === undefined || !req.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && req.values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}

/** True for `{}` (no requirement at all). */
export function selectsEverything(selector: LabelSelector): boolean {
  return selector.matchExpressions.length === 0 && Object.keys(selector.matchLabels).length === 0;
}

/** Thrown by `parseLabelSelector`; `field` names where in the object the problem is. */
export class SelectorParseError extends FlannelWinError {
  constructor(readonly field: string, reason: string) {
    super('POLICY_BAD_SELECTOR', `${field} ${reason}`, { field });
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Quotes a value for a message, cut to a sane length. */
export function quote(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/**
 * Reads a raw selector, checked as the API server checks it: string label values, a known
 * operator, `values` non-empty for In/NotIn and empty for Exists/DoesNotExist.
 * @throws SelectorParseError naming `field` and the offending value.
 */
export function parseLabelSelector(raw: unknown, field: string): LabelSelector {
  if (raw === undefined || raw === null) return EVERYTHING;
  if (!isRecord(raw)) throw new SelectorParseError(field, `is not an object: ${quote(raw)}`);
  const matchLabels: Record<string, string> = {};
  if (raw['matchLabels'] !== undefined && raw['matchLabels'] !== null) {
    if (!isRecord(raw['matchLabels'])) throw new SelectorParseError(`${field}.matchLabels`, 'is not an object');
    for (const [k, v] of Object.entries(raw['matchLabels'])) {
      if (typeof v !== 'string') throw new SelectorParseError(`${field}.matchLabels.${k}`, `is not a string: ${quote(v)}`);
      matchLabels[k] = v;
    }
  }
  const matchExpressions: SelectorRequirement[] = [];
  const exprs = raw['matchExpressions'];
  if (exprs !== undefined && exprs !== null) {
    if (!Array.isArray(exprs)) throw new SelectorParseError(`${field}.matchExpressions`, 'is not a list');
    exprs.forEach((e: unknown, i) => {
      const at = `${field}.matchExpressions[${i}]`;
      if (!isRecord(e)) throw new SelectorParseError(at, 'is not an object');
      const { key, operator } = e;
      const values = e['values'] ?? [];
      if (typeof key !== 'string' || key === '') throw new SelectorParseError(`${at}.key`, `is not a label key: ${quote(key)}`);
      if (typeof operator !== 'string' || !OPERATORS.has(operator)) {
        throw new SelectorParseError(`${at}.operator`, `must be In, NotIn, Exists or DoesNotExist, not ${quote(operator)}`);
      }
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new SelectorParseError(`${at}.values`, 'is not a list of strings');
      const op = operator as SelectorOperator;
      if ((op === 'In' || op === 'NotIn') && values.length === 0) throw new SelectorParseError(`${at}.values`, `must be non-empty for ${op}`);
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) throw new SelectorParseError(`${at}.values`, `must be empty for ${op}`);
      matchExpressions.push({ key, operator: op, values: [...(values as string[])].sort() });
    });
  }
  return { matchLabels, matchExpressions };
}
