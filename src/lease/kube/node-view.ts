/**
 * The few fields of a Kubernetes Node this package reads. Both the client's `V1Node` class and
 * the raw JSON objects a watch delivers fit this shape, so the pure code never depends on the
 * client library.
 */
export interface NodeView {
  readonly metadata?: {
    readonly name?: string;
    readonly resourceVersion?: string;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly podCIDR?: string;
    readonly podCIDRs?: readonly string[];
  };
  readonly status?: {
    readonly conditions?: readonly { readonly type?: string; readonly status?: string; readonly reason?: string }[];
  };
}

export function nodeNameOf(node: NodeView): string {
  return node.metadata?.name ?? '';
}

export function annotationsOf(node: NodeView): Readonly<Record<string, string>> {
  return node.metadata?.annotations ?? {};
}
