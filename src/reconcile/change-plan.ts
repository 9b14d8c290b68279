/**
 * The pure middle of the reconciler: which change one key needs, given what is desired and what
 * the host holds, and in which order a batch goes out.
 * @module
 */
import type { Change, ResourceKind } from './resource-kind.js';

/**
 * The change that makes `actual` what `desired` asks for, or undefined when none is needed or
 * allowed. An actual entry with no desired one is deleted only when `deletionsAllowed` (the
 * desired state is known to be complete): before that it may simply not have been read yet.
 */
export function planChange<D, A>(
  kind: Pick<ResourceKind<D, A>, 'matches'>,
  key: string,
  desired: D | undefined,
  actual: A | undefined,
  deletionsAllowed: boolean,
): Change<D, A> | undefined {
  if (desired !== undefined) {
    if (actual === undefined) return { op: 'create', key, desired };
    return kind.matches(desired, actual) ? undefined : { op: 'replace', key, desired, actual };
  }
  if (actual !== undefined && deletionsAllowed) return { op: 'delete', key, actual };
  return undefined;
}

const ORDER: Record<Change<unknown, unknown>['op'], number> = { delete: 0, replace: 1, create: 2 };

/**
 * Removals first, then replacements, then additions: a removal frees what an addition may need
 * (an address, a prefix moving from one peer key to another), and the sort is stable, so keys
 * keep their queue order within each group.
 */
export function orderChanges<D, A>(changes: readonly Change<D, A>[]): Change<D, A>[] {
  return [...changes].sort((a, b) => ORDER[a.op] - ORDER[b.op]);
}

/** What the host holds after `change` was applied, as the reconciler caches it. */
export function actualAfter<D, A>(kind: Pick<ResourceKind<D, A>, 'toActual'>, change: Change<D, A>): A | undefined {
  return change.op === 'delete' ? undefined : kind.toActual(change.desired);
}
