/**
 * Anchors for indexing selectors: a label `key=value` that every object a selector matches must
 * carry, so an event about an object only has to look at the selectors anchored on one of its
 * labels (plus the few that have no anchor). This keeps the work per event proportional to the
 * selectors that can match, not to every selector in the cluster.
 */
import type { LabelSelector } from './label-selector.js';
import type { Labels } from './model.js';

/** The anchor keys of a selector, or `undefined` when it has none (it can match any labels). */
export function selectorAnchors(selector: LabelSelector | undefined): readonly string[] | undefined {
  if (selector === undefined) return undefined;
  const keys = Object.keys(selector.matchLabels).sort();
  const first = keys[0];
  if (first !== undefined) return [anchorKey(first, selector.matchLabels[first]!)];
  const inExpr = selector.matchExpressions.find((e) => e.operator === 'In');
  if (inExpr) return inExpr.values.map((v) => anchorKey(inExpr.key, v));
  return undefined;
}

/** Every anchor key an object with `labels` could be found under. */
export function labelAnchors(labels: Labels): string[] {
  return Object.entries(labels).map(([k, v]) => anchorKey(k, v));
}

function anchorKey(key: string, value: string): string {
  return `${key}=${value}`;
}

/** A multimap from anchor keys to entries, with a separate bucket for entries without an anchor. */
export class AnchorIndex<T> {
  private readonly byAnchor = new Map<string, Set<T>>();
  private readonly unanchored = new Set<T>();

  add(anchors: readonly string[] | undefined, entry: T): void {
    if (anchors === undefined) {
      this.unanchored.add(entry);
      return;
    }
    for (const a of anchors) {
      const set = this.byAnchor.get(a) ?? new Set<T>();
      this.byAnchor.set(a, set);
      set.add(entry);
    }
  }

  remove(anchors: readonly string[] | undefined, entry: T): void {
    if (anchors === undefined) {
      this.unanchored.delete(entry);
      return;
    }
    for (const a of anchors) {
      const set = this.byAnchor.get(a);
      set?.delete(entry);
      if (set?.size === 0) this.byAnchor.delete(a);
    }
  }

  isEmpty(): boolean {
    return this.unanchored.size === 0 && this.byAnchor.size === 0;
  }

  /** Adds to `into` the entries that could match an object carrying any of `labelSets`. */
  collect(labelSets: readonly Labels[], into: Set<T>): void {
    for (const e of this.unanchored) into.add(e);
    for (const labels of labelSets) {
      for (const a of labelAnchors(labels)) for (const e of this.byAnchor.get(a) ?? []) into.add(e);
    }
  }
}
