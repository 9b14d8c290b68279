import type { NamespaceView } from '../policy/model.js';
import type { ViewPools } from './pod-view.js';

/**
 * Reads a Namespace from raw API JSON (listed or watched alike).
 * @returns undefined when it has no name.
 */
export function readNamespace(raw: unknown, pools: ViewPools): NamespaceView | undefined {
  const metadata = (raw as { metadata?: { name?: unknown; labels?: unknown } } | null)?.metadata;
  if (typeof metadata?.name !== 'string' || metadata.name === '') return undefined;
  return { name: pools.names.intern(metadata.name), labels: pools.labels.intern(metadata.labels) };
}

export function sameNamespace(a: NamespaceView, b: NamespaceView): boolean {
  return a.name === b.name && a.labels === b.labels;
}
