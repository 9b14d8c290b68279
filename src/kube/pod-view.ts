import type { NamedPort, PodView, PolicyProtocol } from '../policy/model.js';
import { LabelPool, NamePool, WeakPool } from './label-pool.js';

export interface ViewPools {
  readonly labels: LabelPool;
  readonly names: NamePool;
  /** Named-port lists, shared between the pods of one template. */
  readonly ports: WeakPool<readonly NamedPort[]>;
}

/** Fresh pools for one watch. */
export function newViewPools(): ViewPools {
  return { labels: new LabelPool(), names: new NamePool(), ports: new WeakPool() };
}

const NONE: readonly never[] = Object.freeze([]);
const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];

interface RawPod {
  metadata?: { name?: unknown; namespace?: unknown; labels?: unknown };
  spec?: { nodeName?: unknown; hostNetwork?: unknown; containers?: unknown; initContainers?: unknown };
  status?: { phase?: unknown; podIP?: unknown; podIPs?: unknown };
}

/**
 * Reads a Pod from raw API JSON (a listed item and a watch event's object alike) into the
 * compiler's compact view: label maps and port lists shared, namespace and node names pooled,
 * `nodeName` "" while unscheduled, `phase` "" when absent, protocol TCP when omitted.
 * @returns undefined when it has no namespace or name.
 */
export function readPod(raw: unknown, pools: ViewPools): PodView | undefined {
  const pod = (raw ?? {}) as RawPod;
  const name = pod.metadata?.name;
  const namespace = pod.metadata?.namespace;
  if (typeof name !== 'string' || name === '' || typeof namespace !== 'string' || namespace === '') return undefined;
  const nodeName = typeof pod.spec?.nodeName === 'string' ? pools.names.intern(pod.spec.nodeName) : '';
  return {
    namespace: pools.names.intern(namespace),
    name,
    labels: pools.labels.intern(pod.metadata?.labels),
    ips: podIps(pod.status),
    nodeName,
    hostNetwork: pod.spec?.hostNetwork === true,
    phase: PHASES.find((phase) => phase === pod.status?.phase) ?? '',
    namedPorts: namedPorts([...asArray(pod.spec?.containers), ...asArray(pod.spec?.initContainers).filter(isSidecar)], pools),
  };
}

function podIps(status: RawPod['status']): readonly string[] {
  const ips: string[] = [];
  if (Array.isArray(status?.podIPs)) {
    for (const entry of status.podIPs as { ip?: unknown }[]) if (typeof entry?.ip === 'string' && entry.ip !== '') ips.push(entry.ip);
  }
  if (ips.length === 0 && typeof status?.podIP === 'string' && status.podIP !== '') ips.push(status.podIP);
  return ips.length === 0 ? NONE : ips;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A native sidecar (an init container that keeps running) serves traffic; others do not. */
function isSidecar(container: unknown): boolean {
  return (container as { restartPolicy?: unknown } | null)?.restartPolicy === 'Always';
}

function namedPorts(containers: readonly unknown[], pools: ViewPools): readonly NamedPort[] {
  const ports: NamedPort[] = [];
  for (const container of containers as { ports?: unknown }[]) {
    if (!Array.isArray(container?.ports)) continue;
    for (const port of container.ports as { name?: unknown; containerPort?: unknown; protocol?: unknown }[]) {
      if (typeof port?.name !== 'string' || port.name === '' || typeof port.containerPort !== 'number') continue;
      const protocol: PolicyProtocol | undefined = port.protocol === undefined ? 'TCP' : PROTOCOLS.find((p) => p === port.protocol);
      if (protocol === undefined) continue;
      ports.push({ name: port.name, port: port.containerPort, protocol });
    }
  }
  if (ports.length === 0) return NONE;
  return pools.ports.intern(JSON.stringify(ports), () => ports.map((port) => Object.freeze(port)));
}

/** Field-by-field equality; label maps and port lists are shared, so they compare by reference. */
export function samePod(a: PodView, b: PodView): boolean {
  return (
    a.labels === b.labels &&
    a.namedPorts === b.namedPorts &&
    a.nodeName === b.nodeName &&
    a.hostNetwork === b.hostNetwork &&
    a.phase === b.phase &&
    a.namespace === b.namespace &&
    a.name === b.name &&
    sameList(a.ips, b.ips, (x, y) => x === y)
  );
}

/** Same length and pairwise `same`. */
export function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => same(x, b[i] as T));
}
