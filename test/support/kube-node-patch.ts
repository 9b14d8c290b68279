/** The Node fields the server stores and serves (plain JSON, as the API sends it). */
export interface TestNode {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; uid: string; resourceVersion: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { podCIDR?: string; podCIDRs?: string[] };
  status: { conditions?: Record<string, unknown>[] };
}

export interface NodeStatusPatch {
  metadata?: { annotations?: Record<string, string | null>; labels?: Record<string, string | null> };
  status?: { conditions?: Record<string, unknown>[] };
}

/**
 * The part of the API server's strategic merge the tests rely on: string maps merged key by key
 * (`null` deletes), `status.conditions` merged by `type` (the patch strategy Kubernetes declares
 * for NodeStatus.Conditions). Returns a new node; the input is not changed.
 */
export function applyStatusPatch(node: TestNode, patch: NodeStatusPatch): TestNode {
  const copy = structuredClone(node);
  copy.metadata.annotations = mergeMap(copy.metadata.annotations, patch.metadata?.annotations);
  copy.metadata.labels = mergeMap(copy.metadata.labels, patch.metadata?.labels);
  if (patch.status?.conditions) {
    const conditions = copy.status.conditions ?? [];
    for (const condition of patch.status.conditions) {
      const index = conditions.findIndex((c) => c['type'] === condition['type']);
      if (index >= 0) conditions[index] = { ...conditions[index], ...condition };
      else conditions.push({ ...condition });
    }
    copy.status.conditions = conditions;
  }
  return copy;
}

function mergeMap(
  current: Record<string, string> | undefined,
  patch: Record<string, string | null> | undefined,
): Record<string, string> | undefined {
  if (!patch) return current;
  const merged: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
