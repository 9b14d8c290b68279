/**
 * What a reconciler would write, computed without one: every key of the desired and the actual
 * state through the reconciler's own `planChange`, with the fields that differ. `flannel-win
 * plan` uses it, so the dry run and the daemon can never disagree about what needs a write.
 * @module
 */
import { orderChanges, planChange } from './change-plan.js';
import type { Change, ResourceKind } from './resource-kind.js';

/** One write of a dry run, with what differs. */
export interface PlannedChange {
  kind: string;
  key: string;
  op: 'create' | 'replace' | 'delete';
  /** "path: actual -> desired" for a replace, "path: value" for a create or delete. */
  fields: string[];
}

const MAX_VALUE_CHARS = 120;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

/** Leaves of a JSON-like value by dotted path ("settings.0.ProviderAddress"). */
function leaves(value: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) out.set(path, value);
    for (const [k, v] of entries) leaves(v, path === '' ? k : `${path}.${k}`, out);
  } else {
    out.set(path, value);
  }
  return out;
}

/** The leaves that differ between `before` and `after`, as "path: before -> after". */
export function fieldDiff(before: unknown, after: unknown): string[] {
  const a = leaves(before, '', new Map());
  const b = leaves(after, '', new Map());
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.filter((p) => show(a.get(p)) !== show(b.get(p))).map((p) => `${p || '(value)'}: ${show(a.get(p))} -> ${show(b.get(p))}`);
}

/** Every leaf of a value as "path: value" (what a create would hold). */
export function fieldList(value: unknown): string[] {
  return [...leaves(value, '', new Map())].map(([p, v]) => `${p || '(value)'}: ${show(v)}`);
}

/**
 * The writes the reconciler of `kind` would make to turn `actual` into `desired`, with the
 * desired state complete (deletions allowed, as after the first lease snapshot), in the order
 * a batch goes out (removals, replacements, additions), keys sorted within each. `fields`
 * words a change where the leaf-by-leaf difference would not read well (whole ACL lists).
 */
export function planWrites<D, A>(
  kind: Pick<ResourceKind<D, A>, 'name' | 'matches' | 'toActual'>,
  desired: ReadonlyMap<string, D>,
  actual: ReadonlyMap<string, A>,
  fields?: (change: Change<D, A>) => string[],
): PlannedChange[] {
  const keys = [...new Set([...desired.keys(), ...actual.keys()])].sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
  const changes = keys.flatMap((key) => planChange(kind, key, desired.get(key), actual.get(key), true) ?? []);
  return orderChanges(changes).map((change) => ({
    kind: kind.name,
    key: change.key,
    op: change.op,
    fields: fields
      ? fields(change)
      : change.op === 'replace'
        ? fieldDiff(change.actual, kind.toActual(change.desired))
        : change.op === 'create'
          ? fieldList(kind.toActual(change.desired))
          : fieldList(change.actual),
  }));
}
